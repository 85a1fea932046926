"""The audit log as auditors use it: the viewer, chain verification, PDF and CSV reports, and the chain's
daily jobs (head in the log, retention pruning). The chain itself is flowtrack/audit."""
