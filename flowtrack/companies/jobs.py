"""A background job's view of one company: its own short-lived session, under row-level security.

The job gets a session row of its own (kind 'job'), minted with the service role, and then does all its work
as the app role with that token: row-level security applies to background work exactly as it does to requests.
"""
from __future__ import annotations

import datetime as dt
import uuid
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit.services import Actor
from flowtrack.auth.services import SessionPolicy, new_session
from flowtrack.companies.state import refuse_writes
from flowtrack.core.db import Database, bind_company, utcnow
from flowtrack.core.regions import current_region
from flowtrack.models.accounts import AuthSession

JOB_SESSION_LIFETIME = dt.timedelta(hours=2)


@contextmanager
def company_session(company_id: uuid.UUID, *, actor_label: str = "background job",
                    db: Database | None = None, writes: bool = False) -> Iterator[so.Session]:
    """An app-role DB session that sees one company's rows, for background work.

    A job that changes the company's data passes `writes=True`: it is refused (CompanyReadOnly) once the
    company's paid period has ended, as requests are, and while it moves to another region (CompanyMoving).
    Reading jobs (exports, reports) run through grace.
    """
    db = db or current_region().db
    policy = SessionPolicy(idle_timeout=JOB_SESSION_LIFETIME, lifetime=JOB_SESSION_LIFETIME)
    with db.service() as service:
        if writes:
            refuse_writes(service, company_id, utcnow())
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
