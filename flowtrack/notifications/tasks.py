"""Email delivery jobs run by the RQ worker."""
from __future__ import annotations

import datetime as dt
import uuid

from flowtrack.companies.jobs import company_session
from flowtrack.core.queue import enqueue_for_company
from flowtrack.core.storage import file_storage
from flowtrack.core.web import get_db
from flowtrack.notifications import mail, services

# A queued message older than this had its job lost (Redis down at commit) or its delivery refused: try again.
REQUEUE_AFTER = dt.timedelta(minutes=5)


def deliver_email(company_id: str, email_id: str) -> str:
    with company_session(uuid.UUID(company_id), actor_label="email delivery") as session:
        return services.deliver(session, uuid.UUID(email_id), mail.smtp_settings(), file_storage())


def release_throttled_emails() -> int:
    """Every ten minutes: let mail held over a company's hourly cap out as its allowance frees, and deliver it."""
    with get_db().service() as session:
        released = services.release_throttled(session, smtp_configured=mail.smtp_settings() is not None)
        session.commit()
    for company_id, email_id in released:
        enqueue_for_company(deliver_email, company_id, str(email_id), description="Email (held over the hourly cap)")
    return len(released)


def requeue_stale_emails() -> int:
    """Every few minutes: queue delivery again for messages still waiting (delivery is idempotent)."""
    with get_db().service() as session:
        stale = services.stale_queued(session, REQUEUE_AFTER)
    for company_id, email_id in stale:
        enqueue_for_company(deliver_email, company_id, str(email_id), description="Email (retry)")
    return len(stale)
