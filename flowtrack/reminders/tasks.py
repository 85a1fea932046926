"""The daily test-due reminder run (RQ cron, jobs/cron.py): one job per company, each under that company's RLS."""
from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import sqlalchemy as sa
from flask import current_app
from rq import Retry, get_current_job

from flowtrack.companies.jobs import company_session
from flowtrack.companies.services import company_today
from flowtrack.core.db import utcnow
from flowtrack.core.queue import enqueue_for_company
from flowtrack.core.web import get_db
from flowtrack.models.companies import Company, CompanyReadOnly
from flowtrack.notifications import sms
from flowtrack.reminders import services
from flowtrack.reminders.links import opt_out_url


def send_due_reminders() -> int:
    """Queue a reminder run for every company that is live (not tombstoned, not in its read-only grace)."""
    with get_db().service() as session:
        companies = list(session.scalars(sa.select(Company.id).where(
            Company.tombstoned_at.is_(None),
            sa.or_(Company.deletion_clock_starts_at.is_(None), Company.deletion_clock_starts_at > utcnow()))))
    for company_id in companies:
        enqueue_for_company(remind_company, company_id, description="Test-due reminders")
    return len(companies)


def remind_company(company_id: str) -> dict:
    try:
        with company_session(uuid.UUID(company_id), actor_label="test-due reminders", writes=True) as session:
            result = services.run_reminders(session, company_today(session),
                                            opt_out_link=lambda customer: opt_out_url(current_app.secret_key,
                                                                                      customer))
            session.commit()
    except CompanyReadOnly:
        return {"skipped": "read-only"}
    return dataclasses.asdict(result)


def text_retry() -> Retry:
    # Right away rather than over minutes (the queue's RETRY_AFTER_FAILURE): a provider down for longer fails the
    # text, and the office sees it as failed on the reminders page the same morning.
    return Retry(max=services.SMS_RETRIES)


def deliver_texts(company_id: str, customer_id: str) -> str:
    job = get_current_job()
    retries_left = job.retries_left if job is not None and job.retries_left is not None else 0
    with company_session(uuid.UUID(company_id), actor_label="text messages") as session:
        return services.deliver_texts(session, uuid.UUID(customer_id), sms.sms_settings(), retries_left=retries_left)


# A text still queued after this long had its job lost (Redis down at commit): queue it again.
REQUEUE_TEXTS_AFTER = dt.timedelta(minutes=5)


def requeue_stale_texts() -> int:
    with get_db().service() as session:
        stale = services.stale_texts(session, REQUEUE_TEXTS_AFTER)
    for company_id, customer_id in stale:
        enqueue_for_company(deliver_texts, company_id, str(customer_id), description="Text message (retry)",
                            retry=text_retry())
    return len(stale)
