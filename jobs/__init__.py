"""RQ entry points: the worker and the cron schedule."""
