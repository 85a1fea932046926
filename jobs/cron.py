"""The cron schedule (RQ's CronScheduler), in the time zone the schedule is written in.

RQ matches cron expressions in the scheduler process's local time, so the
process pins TZ before registering: "0 4 * * *" means 04:00 in Los Angeles,
summer and winter alike.
"""
from __future__ import annotations

import os
import time

from flask import Flask
from redis import Redis
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

from flowtrack.audit_log.tasks import log_chain_heads, prune_audit_logs
from flowtrack.core.queue import queue_name, resend_queued_jobs
from flowtrack.exports.tasks import delete_expired_exports
from flowtrack.imports.tasks import forget_stale_imports
from flowtrack.invoices.tasks import retry_declined_autopay
from flowtrack.lifecycle.tasks import anonymization_sweep
from flowtrack.notifications.tasks import release_throttled_emails, requeue_stale_emails
from flowtrack.ops.tasks import take_daily_backup
from flowtrack.reminders.tasks import requeue_stale_texts, send_due_reminders

CRON_TIMEZONE = "America/Los_Angeles"

# A backup of a large company's files takes longer than RQ's default three minutes.
BACKUP_TIMEOUT = 6 * 3600

SCHEDULE = (
    # (function, cron expression in CRON_TIMEZONE[, options for RQ's register])
    (log_chain_heads, "15 0 * * *"),
    (take_daily_backup, "0 2 * * *", {"job_timeout": BACKUP_TIMEOUT}),  # docs/backup-policy.md: daily, 7 kept
    (prune_audit_logs, "30 3 * * *"),
    (delete_expired_exports, "45 3 * * *"),
    (forget_stale_imports, "50 3 * * *"),
    (anonymization_sweep, "0 4 * * *"),  # companies.state.SWEEP_HOUR, promised on the data page
    (send_due_reminders, "0 6 * * *"),  # each company's "today" is its own (reminders.services)
    (retry_declined_autopay, "0 9 * * *"),  # invoices.autopay.RETRY_GAPS, on the company's own today
    (requeue_stale_emails, "*/10 * * * *"),
    (release_throttled_emails, "*/10 * * * *"),  # mail held over a company's hourly cap goes out in a later hour
    (requeue_stale_texts, "5-59/10 * * * *"),
    (resend_queued_jobs, "*/2 * * * *"),  # flowtrack.core.queue.RESEND_AFTER
)


def pin_timezone() -> None:
    os.environ["TZ"] = CRON_TIMEZONE
    time.tzset()


def build_scheduler(connection: Redis, queue: str) -> CronScheduler:
    scheduler = CronScheduler(connection=connection, name=f"flowtrack-cron-{os.getpid()}")
    for func, expression, *options in SCHEDULE:
        scheduler.register(func, queue, cron=expression, **(options[0] if options else {}))
    return scheduler


def run(app: Flask) -> None:
    pin_timezone()
    with app.app_context():
        try:
            build_scheduler(app.extensions["flowtrack.redis"], queue_name(app)).start()
        except StopRequested:
            pass  # a normal shutdown (SIGINT/SIGTERM)
