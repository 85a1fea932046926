"""Background jobs: enqueue (after commit), look up a company's job, and report its progress.

A job that acts for one company runs in `flowtrack.companies.jobs.company_session`, under row-level security.

Jobs that must not be lost (a test's report, an invoice's PDF and email, an export, an import) are written to the
`queued_jobs` table in the transaction that made their rows, and handed to Redis once it commits. The worker
takes the row when it starts the job and drops it when the job has run. Whatever no worker started (Redis was
down, or lost its queue), a cron job hands over again (`resend_queued_jobs`); a job handed over twice runs once,
since only one copy can take the row.

A job that raises (PostgreSQL restarted under it, a Redis blip, a file store that did not answer) is run again by
RQ after 10 seconds, a minute and five minutes (`RETRY_AFTER_FAILURE`; the worker runs RQ's scheduler for these).
Every job here can run twice: it checks whether its work is done before doing it, and writes it in one
transaction.
"""
from __future__ import annotations

import datetime as dt
import importlib
import logging
import re
import uuid
from typing import Any, Callable

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from rq import Queue, Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB

from flowtrack.core.db import Base, Database, TenantScoped, bind_company, new_id, utcnow
from flowtrack.core.regions import current_region

log = logging.getLogger("flowtrack.core.queue")
_PENDING = "flowtrack.jobs_after_commit"
# A job the queue has not started this long after it was handed over is handed over again.
RESEND_AFTER = dt.timedelta(minutes=2)
# Only a company's task functions may be named by a row (`flowtrack.<feature>.tasks:<function>`).
_TASK = re.compile(r"flowtrack\.[a-z_]+\.tasks:[a-z_]+")
RETRY_AFTER_FAILURE = Retry(max=3, interval=[10, 60, 300])


class QueuedJob(TenantScoped, Base):
    """A job waiting to be started by a worker (migration 0028): the kernel's own table, not a domain record."""

    __tablename__ = "queued_jobs"
    __table_args__ = (sa.Index("queued_jobs_created_idx", "created_at"),)
    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    function: so.Mapped[str] = so.mapped_column(sa.String(200))
    arguments: so.Mapped[list] = so.mapped_column(JSONB)
    description: so.Mapped[str] = so.mapped_column(sa.String(200), default="")
    retry: so.Mapped[dict | None] = so.mapped_column(JSONB)  # RQ's retries: {"max": n, "intervals": [seconds]}
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    sent_at: so.Mapped[dt.datetime | None]
    sends: so.Mapped[int] = so.mapped_column(default=0)
    started_job: so.Mapped[str | None] = so.mapped_column(sa.String(64))  # the RQ job that took it


def queue_name(app=None) -> str:
    return (app or current_app).config["QUEUE_NAME"]


def get_queue() -> Queue:
    """The queue of the running code's region, on that region's Redis: its workers run what it holds."""
    return Queue(queue_name(), connection=current_region().redis)


def enqueue_for_company(func: Callable, company_id: uuid.UUID, *args: Any, description: str = "",
                        **kwargs: Any) -> Job:
    """Queue work for one company. Commit what the job needs before calling this."""
    return get_queue().enqueue(
        func, str(company_id), *args, **kwargs,
        meta={"company_id": str(company_id), "progress": 0, "description": description},
        result_ttl=24 * 3600, failure_ttl=24 * 3600, job_timeout=3600,
    )


def enqueue_after_commit(session: so.Session, func: Callable, company_id: uuid.UUID, *args: str,
                         description: str = "", retry: Retry = RETRY_AFTER_FAILURE) -> None:
    """Queue a job for the company once the session's transaction commits, never for rolled-back work: the job
    finds the rows it needs, and a failed request queues nothing. The job is kept in `queued_jobs` with the work,
    so that it is not lost if Redis cannot take it."""
    function = f"{func.__module__}:{func.__name__}"
    if not _TASK.fullmatch(function):
        raise ValueError(f"{function} is not a task function")
    row = QueuedJob(id=new_id(), company_id=company_id, function=function, arguments=list(args),
                    description=description,
                    retry={"max": retry.max, "intervals": retry.intervals})
    session.add(row)
    pending = session.info.setdefault(_PENDING, [])
    if not session.info.get(_PENDING + ".hooked"):
        event.listen(session, "after_commit", _enqueue_pending)
        event.listen(session, "after_rollback", _forget_pending)
        session.info[_PENDING + ".hooked"] = True
    pending.append(row)


def _hand_over(row: QueuedJob) -> Job:
    retry = Retry(max=row.retry["max"], interval=row.retry["intervals"]) if row.retry else None
    return enqueue_for_company(run_queued_job, row.company_id, str(row.id), row.function, *row.arguments,
                               description=row.description, retry=retry)


def _enqueue_pending(session: so.Session) -> None:
    pending, session.info[_PENDING] = session.info.get(_PENDING, []), []
    for row in pending:
        try:
            _hand_over(row)
        except Exception:
            # Kept in queued_jobs: resend_queued_jobs hands it over once Redis answers again.
            log.exception("could not queue %s for company %s; it waits in queued_jobs", row.function, row.company_id)


def _forget_pending(session: so.Session) -> None:
    session.info[_PENDING] = []


def run_queued_job(company_id: str, queued_id: str, function: str, *args: str) -> Any:
    """The worker's side: mark the job's row as this job's, run it, and drop the row once it has run. A second
    copy (handed over again while the first waited in the queue) finds the row taken and has nothing to do; RQ's
    own retries of this job are this job, and run."""
    current = get_current_job()
    this_job = current.id if current is not None else f"direct-{uuid.uuid4()}"  # called outside a worker
    rows = sa.update(QueuedJob).where(QueuedJob.id == uuid.UUID(queued_id))
    with current_region().db.service() as session:
        taken = session.execute(rows.where(sa.or_(QueuedJob.started_job.is_(None),
                                                  QueuedJob.started_job == this_job))
                                .values(started_job=this_job).returning(QueuedJob.id)).first()
        session.commit()
    if taken is None:
        log.info("job %s is another copy's", queued_id)
        return None
    if not _TASK.fullmatch(function):
        raise ValueError(f"{function} is not a task function")
    module, name = function.split(":")
    result = getattr(importlib.import_module(module), name)(company_id, *args)
    with current_region().db.service() as session:
        session.execute(sa.delete(QueuedJob).where(QueuedJob.id == uuid.UUID(queued_id)))
        session.commit()
    return result


def retried_after_failure() -> bool:
    """Whether the job running now, should it fail, will be run again (it has RQ retries left)."""
    job = get_current_job()
    return job is not None and bool(job.retries_left)


def resend_queued_jobs() -> int:
    """Cron: hand over again the jobs no worker has started (Redis was down, or lost its queue). Returns how
    many; a Redis still down leaves them for the next run."""
    cutoff = utcnow() - RESEND_AFTER
    with current_region().db.service() as session:
        # A job that started and failed is RQ's to retry and the failed-job registry's to show; its row goes
        # after a week.
        session.execute(sa.delete(QueuedJob).where(QueuedJob.started_job.is_not(None),
                                                   QueuedJob.created_at < utcnow() - dt.timedelta(days=7)))
        session.commit()
        rows = list(session.scalars(
            sa.select(QueuedJob).where(QueuedJob.started_job.is_(None), QueuedJob.created_at < cutoff,
                                       sa.or_(QueuedJob.sent_at.is_(None), QueuedJob.sent_at < cutoff))
            .order_by(QueuedJob.created_at).limit(500).with_for_update(skip_locked=True)))
        for row in rows:
            _hand_over(row)
            row.sent_at, row.sends = utcnow(), row.sends + 1
            session.commit()  # each handed-over row at once: a failure below leaves only the rest waiting
    if rows:
        log.warning("handed %s waiting jobs to the queue again", len(rows))
    return len(rows)


def fetch_company_job(job_id: str, company_id: uuid.UUID) -> Job | None:
    """A job of this company, or None (also for another company's job id)."""
    try:
        job = Job.fetch(job_id, connection=current_region().redis)
    except (NoSuchJobError, ValueError):
        return None
    return job if job.meta.get("company_id") == str(company_id) else None


class ProgressRow:
    """Writes a job's progress into its row on short transactions of its own, beside the long one doing the work,
    so the page polling that row sees the progress before the work commits."""

    def __init__(self, job_session: so.Session, company_id: uuid.UUID, row: sa.Update, db: Database | None = None):
        db = db or current_region().db
        self.session = db.app_session(job_session.info["session_token"])
        bind_company(self.session, company_id)
        self.row = row

    def write(self, **values) -> None:
        self.session.execute(self.row.values(**values))
        self.session.commit()

    def close(self) -> None:
        self.session.close()


def set_progress(job: Job | None, percent: int) -> None:
    if job is not None:
        job.meta["progress"] = max(0, min(100, int(percent)))
        job.save_meta()
