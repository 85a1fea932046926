"""Background jobs: enqueue (after commit), look up a company's job, and run a job for one company under RLS.

A job that acts for one company gets its own short-lived session row (kind
'job'), minted with the service role, and then does all its work as the app
role with that token: row-level security applies to background work exactly
as it does to requests.
"""
from __future__ import annotations

import datetime as dt
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job

from flowtrack.audit.services import Actor
from flowtrack.auth.services import SessionPolicy, new_session
from flowtrack.db import Database, bind_company, utcnow
from flowtrack.lifecycle.anonymize import refuse_writes_in_grace
from flowtrack.models.accounts import AuthSession

JOB_SESSION_LIFETIME = dt.timedelta(hours=2)


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


def fetch_company_job(job_id: str, company_id: uuid.UUID) -> Job | None:
    """A job of this company, or None (also for another company's job id)."""
    try:
        job = Job.fetch(job_id, connection=current_app.extensions["flowtrack.redis"])
    except (NoSuchJobError, ValueError):
        return None
    return job if job.meta.get("company_id") == str(company_id) else None


@contextmanager
def company_session(company_id: uuid.UUID, *, actor_label: str = "background job",
                    db: Database | None = None, writes: bool = False) -> Iterator[so.Session]:
    """An app-role DB session that sees one company's rows, for background work.

    A job that changes the company's data passes `writes=True`: it is refused (CompanyReadOnly) once the
    company's paid period has ended, as requests are. Reading jobs (exports, reports) run through grace.
    """
    db = db or current_app.extensions["flowtrack.db"]
    policy = SessionPolicy(idle_timeout=JOB_SESSION_LIFETIME, lifetime=JOB_SESSION_LIFETIME)
    with db.service() as service:
        if writes:
            refuse_writes_in_grace(service, company_id, utcnow())
        row, token = new_session(company_id, None, policy, ip=None, user_agent=None, kind="job")
        service.add(row)
        service.commit()
    session = db.app_session(token)
    bind_company(session, company_id)
    session.info["audit_actor"] = Actor(None, actor_label)
    try:
        yield session
    finally:
        session.close()
        with db.service() as service:
            service.execute(sa.update(AuthSession).where(AuthSession.id == row.id).values(revoked_at=utcnow()))
            service.commit()


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
