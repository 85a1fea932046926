"""The full data export and the auditors' reports, built by a job and downloaded for a week."""
