"""The cron schedule (RQ's CronScheduler), in the time zone the schedule is written in.

RQ matches cron expressions in the scheduler process's local time, so the
process pins TZ before registering: "0 4 * * *" means 04:00 in Los Angeles,
summer and winter alike.

More than one cron process may run (one per host, for availability): each
firing is claimed in Redis under the job's name and the time it was due
(`OneFiringScheduler`), so whichever process comes first enqueues it and the
others let it pass. Every scheduler computes the same due times from the same
expressions, so they claim the same keys.
"""
from __future__ import annotations

import datetime as dt
import os
import time

from flask import Flask
from redis import Redis
from rq.cron import CronJob, CronScheduler
from rq.exceptions import StopRequested
from rq.utils import now

from flowtrack.audit_log.tasks import log_chain_heads, prune_audit_logs
from flowtrack.core.queue import queue_name, resend_queued_jobs
from flowtrack.core.regions import home_region, in_region
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


# How long a claimed firing is remembered: longer than any gap between two schedulers' clocks.
CLAIM_SECONDS = 6 * 3600


class OneFiringScheduler(CronScheduler):
    """RQ's scheduler, enqueueing a due job only if no other scheduler has claimed that firing."""

    def enqueue_jobs(self) -> list[CronJob]:
        for job in self._cron_jobs:
            if job.should_run() and not self._claim(job):
                job.set_enqueue_time(now())  # another scheduler enqueued it: on to the next firing
        return super().enqueue_jobs()

    def _claim(self, job: CronJob) -> bool:
        due = job.next_enqueue_time
        key = f"flowtrack:cron:{job.name or job.func_name}:{due.astimezone(dt.timezone.utc):%Y%m%dT%H%M}"
        return bool(self.connection.set(key, self.name, nx=True, ex=CLAIM_SECONDS))


def build_scheduler(connection: Redis, queue: str) -> CronScheduler:
    scheduler = OneFiringScheduler(connection=connection, name=f"flowtrack-cron-{os.getpid()}")
    for func, expression, *options in SCHEDULE:
        scheduler.register(func, queue, cron=expression, **(options[0] if options else {}))
    return scheduler


def run(app: Flask, region: str | None = None) -> None:
    """The schedule of one region (the home region unless named): its jobs go on the region's queue, its claims
    are kept in the region's Redis, and the region's workers run them on the region's database."""
    pin_timezone()
    with app.app_context(), in_region(region or home_region(app).name) as where:
        try:
            build_scheduler(where.redis, queue_name(app)).start()
        except StopRequested:
            pass  # a normal shutdown (SIGINT/SIGTERM)
