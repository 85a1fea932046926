"""Addresses the outbox no longer mails: a permanent bounce or a spam complaint reported by the mail provider stops
mail to that address in every company that has mailed it, until the company's office clears it.

The provider's report names an address, not a company: `record_report` runs as the service role and finds the
companies through their outboxes. Everything else runs in one company's session.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.core.db import utcnow
from flowtrack.models.notifications import EmailSuppression, NotificationEmail
from flowtrack.notifications.delivery_reports import DeliveryReport

PROVIDER = audit.Actor(user_id=None, label="mail provider")
ACTIONS = {"bounce": "email.bounced", "complaint": "email.complained"}
REASON_LABELS = {"bounce": "bounced", "complaint": "marked as spam"}


def _standing(company_id: uuid.UUID, addresses: Iterable[str]):
    return sa.select(EmailSuppression).where(
        EmailSuppression.company_id == company_id, EmailSuppression.cleared_at.is_(None),
        EmailSuppression.address.in_([a.strip().lower() for a in addresses]))


def record_report(session: so.Session, report: DeliveryReport) -> list[uuid.UUID]:
    """Stop mail to the reported address in each company whose outbox has mailed it (service role); returns those
    that had no standing suppression of it yet. A transient bounce stops nothing."""
    if not report.stops_mail:
        return []
    companies = session.scalars(sa.select(NotificationEmail.company_id).distinct()
                                .where(sa.func.lower(NotificationEmail.to_address) == report.address)).all()
    stopped = []
    for company_id in companies:
        if session.scalar(_standing(company_id, [report.address])) is not None:
            continue  # reported again (a redelivery, or another message to it): once is enough
        row = EmailSuppression(company_id=company_id, address=report.address, reason=report.kind,
                               detail=report.detail, reported_at=report.occurred_at or utcnow())
        session.add(row)
        session.flush()
        audit.record(session, ACTIONS[report.kind], entity_type="email_suppression", entity_id=row.id,
                     company_id=company_id, actor=PROVIDER,
                     changes={"address": report.address, "detail": report.detail})
        stopped.append(company_id)
    return stopped


def standing(session: so.Session, company_id: uuid.UUID, address: str) -> EmailSuppression | None:
    """The suppression that stops the company's mail to `address`, if there is one."""
    return session.scalar(_standing(company_id, [address]))


def undeliverable(session: so.Session, company_id: uuid.UUID, addresses: Iterable[str]) -> set[str]:
    """Which of these addresses (lower-cased) the company's outbox will not mail."""
    addresses = [a for a in addresses if a]
    if not addresses:
        return set()
    return {row.address for row in session.scalars(_standing(company_id, addresses))}


def standing_list(session: so.Session) -> list[EmailSuppression]:
    """The company's addresses that get no mail, newest first (a company-bound session)."""
    return list(session.scalars(sa.select(EmailSuppression).where(EmailSuppression.cleared_at.is_(None))
                                .order_by(EmailSuppression.created_at.desc(), EmailSuppression.id)))


def recently_cleared(session: so.Session, since: dt.timedelta = dt.timedelta(days=30)) -> list[EmailSuppression]:
    return list(session.scalars(sa.select(EmailSuppression).where(EmailSuppression.cleared_at > utcnow() - since)
                                .order_by(EmailSuppression.cleared_at.desc(), EmailSuppression.id)))


def clear(session: so.Session, suppression_id: uuid.UUID, user_id: uuid.UUID) -> EmailSuppression | None:
    """The office fixed the address (or the person asked for mail again): the outbox mails it again from now on.
    None when there is no such standing suppression in the company."""
    row = session.scalar(sa.select(EmailSuppression).where(EmailSuppression.id == suppression_id,
                                                           EmailSuppression.cleared_at.is_(None)))
    if row is None:
        return None
    row.cleared_at, row.cleared_by = utcnow(), user_id
    session.flush()
    audit.record(session, "email.suppression_cleared", entity_type="email_suppression", entity_id=row.id,
                 changes={"address": row.address, "reason": row.reason})
    return row
