"""The read-only guard during grace and the daily anonymization sweep."""
