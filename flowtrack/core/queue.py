"""Background jobs: enqueue (after commit), look up a company's job, and report its progress.

A job that acts for one company runs in `flowtrack.companies.jobs.company_session`, under row-level security.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any, Callable

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import event

from flowtrack.core.db import Database, bind_company

log = logging.getLogger("flowtrack.core.queue")
_PENDING = "flowtrack.jobs_after_commit"


def queue_name(app=None) -> str:
    return (app or current_app).config["QUEUE_NAME"]


def get_queue() -> Queue:
    return Queue(queue_name(), connection=current_app.extensions["flowtrack.redis"])


def enqueue_for_company(func: Callable, company_id: uuid.UUID, *args: Any, description: str = "",
                        **kwargs: Any) -> Job:
    """Queue work for one company. Commit what the job needs before calling this."""
    return get_queue().enqueue(
        func, str(company_id), *args, **kwargs,
        meta={"company_id": str(company_id), "progress": 0, "description": description},
        result_ttl=24 * 3600, failure_ttl=24 * 3600, job_timeout=3600,
    )


def enqueue_after_commit(session: so.Session, func: Callable, company_id: uuid.UUID, *args: Any,
                         **options: Any) -> None:
    """Queue a job for the company once the session's transaction commits, never for rolled-back work: the job
    finds the rows it needs, and a failed request queues nothing."""
    pending = session.info.setdefault(_PENDING, [])
    if not session.info.get(_PENDING + ".hooked"):
        event.listen(session, "after_commit", _enqueue_pending)
        event.listen(session, "after_rollback", _forget_pending)
        session.info[_PENDING + ".hooked"] = True
    pending.append((func, company_id, args, options))


def _enqueue_pending(session: so.Session) -> None:
    pending, session.info[_PENDING] = session.info.get(_PENDING, []), []
    for func, company_id, args, options in pending:
        try:
            enqueue_for_company(func, company_id, *args, **options)
        except Exception:
            # The row stays queued; the cron jobs that look for stale work pick it up on their next run.
            log.exception("could not queue %s for company %s", func.__name__, company_id)


def _forget_pending(session: so.Session) -> None:
    session.info[_PENDING] = []


def fetch_company_job(job_id: str, company_id: uuid.UUID) -> Job | None:
    """A job of this company, or None (also for another company's job id)."""
    try:
        job = Job.fetch(job_id, connection=current_app.extensions["flowtrack.redis"])
    except (NoSuchJobError, ValueError):
        return None
    return job if job.meta.get("company_id") == str(company_id) else None


class ProgressRow:
    """Writes a job's progress into its row on short transactions of its own, beside the long one doing the work,
    so the page polling that row sees the progress before the work commits."""

    def __init__(self, job_session: so.Session, company_id: uuid.UUID, row: sa.Update, db: Database | None = None):
        db = db or current_app.extensions["flowtrack.db"]
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
