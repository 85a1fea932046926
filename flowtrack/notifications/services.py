"""The email outbox: every message is a row of `notification_emails`; a job delivers it when SMTP is set.

`send_email` writes the row inside the caller's transaction. Delivery is
queued only after that transaction commits (a job must never look for a row
that is not there yet, nor send mail for work that was rolled back).
Delivery is safe to run twice: the job locks the row and sends only a
'queued' message.

One company sends at most HOURLY_EMAIL_LIMIT messages an hour. A message over
the cap is kept as 'throttled'; a cron job (`release_throttled`, every ten
minutes) lets throttled messages out, oldest first, as the company's allowance
frees in a later hour, and they are delivered like any other.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.core.db import utcnow
from flowtrack.core.queue import enqueue_after_commit
from flowtrack.core.storage import FileStorage, StoredFileMissing
from flowtrack.models.notifications import EmailSuppression, NotificationEmail
from flowtrack.notifications import mail, suppressions

log = logging.getLogger("flowtrack.notifications")

# One company cannot turn FlowTrack into a spam cannon (or burn the sender's reputation) in an hour.
HOURLY_EMAIL_LIMIT = 200
MAX_ATTEMPTS = 3
ERASED_BODY = "[erased after delivery: this message held a single-use link]"
UNSENT_BODY = "[erased, not sent: the address does not take our mail; this message held a single-use link]"


@dataclass(frozen=True)
class Attachment:
    """A file for an email, already in the storage backend (flowtrack/core/storage.py) under `key`: the outbox row
    names it, never holds its bytes."""

    key: str
    name: str
    content_type: str


def send_email(session: so.Session, to: str, subject: str, body: str, *, company_id: uuid.UUID | None = None,
               sensitive: bool = False, attachment: Attachment | None = None) -> NotificationEmail:
    """Put a message in the company's outbox; with SMTP configured it is delivered after commit. A message to an
    address that bounced or complained stays in the outbox as `suppressed` and is never sent."""
    company_id = company_id or session.info["company_id"]
    settings = mail.smtp_settings()
    stopped = suppressions.standing(session, company_id, to)
    queued_at: dt.datetime | None = utcnow()
    if stopped is not None:
        status, queued_at = "suppressed", None
    elif sent_in_last_hour(session, company_id) >= HOURLY_EMAIL_LIMIT:
        status, queued_at = "throttled", None
    else:
        status = "queued" if settings else "outbox"
    # A single-use link that will never be sent must not stay readable in the outbox either.
    email = NotificationEmail(company_id=company_id, to_address=to, subject=subject[:200],
                              body=UNSENT_BODY if sensitive and stopped is not None else body,
                              sensitive=sensitive, status=status, attempts=0, queued_at=queued_at,
                              error=_suppressed_because(stopped) if stopped is not None else None)
    if attachment is not None:
        email.attachment_key, email.attachment_name, email.attachment_type = \
            attachment.key, attachment.name, attachment.content_type
    session.add(email)
    session.flush()
    if status == "suppressed":
        log.info("email %s of company %s not sent: its address %s", email.id, company_id, email.error)
    elif status == "throttled":
        log.warning("email of company %s held: over %s an hour; it goes out in a later hour", company_id,
                    HOURLY_EMAIL_LIMIT)
    elif status == "queued":
        _deliver_after_commit(session, company_id, email.id)
    return email


def sent_in_last_hour(session: so.Session, company_id: uuid.UUID) -> int:
    """How much of the company's hourly allowance is used: the messages written, or let out after being held, in
    the last hour (held ones have no `queued_at` and do not count)."""
    return session.scalar(
        sa.select(sa.func.count()).select_from(NotificationEmail)
        .where(NotificationEmail.company_id == company_id,
               NotificationEmail.queued_at > utcnow() - dt.timedelta(hours=1))
    )


def release_throttled(session: so.Session, *, smtp_configured: bool) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Let held messages out, oldest first, as far as each company's hourly allowance has room now (service role:
    all companies); the caller commits, then queues the delivery of the (company, email) returned. Without SMTP
    they go to the outbox, as any message does then."""
    released: list[tuple[uuid.UUID, uuid.UUID]] = []
    companies = session.scalars(sa.select(NotificationEmail.company_id).distinct()
                                .where(NotificationEmail.status == "throttled")).all()
    for company_id in companies:
        room = HOURLY_EMAIL_LIMIT - sent_in_last_hour(session, company_id)
        if room <= 0:
            continue
        held = session.scalars(
            sa.select(NotificationEmail)
            .where(NotificationEmail.company_id == company_id, NotificationEmail.status == "throttled")
            .order_by(NotificationEmail.created_at, NotificationEmail.id).limit(room)
            .with_for_update(skip_locked=True)).all()
        now = utcnow()
        for email in held:
            email.status, email.queued_at = ("queued" if smtp_configured else "outbox"), now
            if smtp_configured:
                released.append((company_id, email.id))
        log.info("let out %d held emails of company %s", len(held), company_id)
    session.flush()
    return released


def _deliver_after_commit(session: so.Session, company_id: uuid.UUID, email_id: uuid.UUID) -> None:
    from flowtrack.notifications.tasks import deliver_email

    enqueue_after_commit(session, deliver_email, company_id, str(email_id), description="Email")


def deliver(session: so.Session, email_id: uuid.UUID, settings: mail.SmtpSettings | None,
            storage: FileStorage | None = None) -> str:
    """Send one queued email (a job session of its company), its attachment read from `storage`; returns its
    status afterwards."""
    email = session.scalar(sa.select(NotificationEmail).where(NotificationEmail.id == email_id).with_for_update())
    if email is None:
        return "missing"
    if email.status != "queued":
        return email.status  # sent already by another delivery of the same job
    if settings is None:
        email.status = "outbox"
        session.commit()
        return email.status
    stopped = suppressions.standing(session, email.company_id, email.to_address)
    if stopped is not None:
        # The provider reported the address after this message was queued.
        email.status, email.error = "suppressed", _suppressed_because(stopped)
        if email.sensitive:
            email.body = UNSENT_BODY
        session.commit()
        log.info("email %s not sent: its address %s", email.id, email.error)
        return email.status
    email.attempts += 1
    attachments = []
    if email.attachment_key:
        try:
            attachments.append((email.attachment_name, email.attachment_type, storage.get(email.attachment_key)))
        except StoredFileMissing:
            # Trying again cannot bring the file back: say so instead of sending the mail without it.
            email.status, email.error = "failed", "StoredFileMissing"
            session.commit()
            log.warning("email %s not delivered: its attachment is gone from storage", email.id)
            return email.status
    try:
        mail.deliver(settings, email.to_address, email.subject, email.body, attachments)
    except Exception as error:
        # The class name and the server's reply code say enough; the message may echo the address or body.
        email.error = f"{type(error).__name__}: {getattr(error, 'smtp_code', '')}".strip(": ")[:300]
        if email.attempts >= MAX_ATTEMPTS:
            email.status = "failed"
        session.commit()
        log.warning("email %s not delivered (attempt %s): %s", email.id, email.attempts, email.error)
        return email.status
    email.status, email.sent_at, email.error = "sent", utcnow(), None
    if email.sensitive:
        email.body = ERASED_BODY
    session.commit()
    return email.status


def send_again(session: so.Session, email_id: uuid.UUID) -> NotificationEmail | None:
    """The office sends a failed message again (the mail server is back, the attachment printed again): it starts
    over with three tries. None when the company has no such failed message."""
    email = session.scalar(sa.select(NotificationEmail).where(NotificationEmail.id == email_id,
                                                              NotificationEmail.status == "failed")
                           .with_for_update())
    if email is None:
        return None
    configured = mail.smtp_settings() is not None
    email.status, email.attempts, email.error, email.queued_at = ("queued" if configured else "outbox"), 0, None, \
        utcnow()
    session.flush()
    audit.record(session, "email.sent_again", entity_type="notification_email", entity_id=email.id,
                 changes={"to": email.to_address, "subject": email.subject})
    if configured:
        _deliver_after_commit(session, email.company_id, email.id)
    return email


def delivery_problem(error: str | None) -> str:
    """What stopped a message, in the office's words, from the error kept on its row (an exception's class name
    and the server's reply code)."""
    if not error:
        return "no reason was given"
    if error == "StoredFileMissing":
        return "its attachment is no longer in the file store"
    if error.startswith("SMTP"):
        code = error.partition(": ")[2]
        return f"the mail server refused it (code {code})" if code else "the mail server refused it"
    return "the mail server could not be reached"


def _suppressed_because(stopped: EmailSuppression) -> str:
    return f"{suppressions.REASON_LABELS[stopped.reason]} on {stopped.reported_at:%Y-%m-%d}"


def recent_emails(session: so.Session, limit: int = 50) -> list[NotificationEmail]:
    """The outbox as the office sees it, newest first."""
    return list(session.scalars(sa.select(NotificationEmail)
                                .order_by(NotificationEmail.created_at.desc(), NotificationEmail.id).limit(limit)))


def stale_queued(session: so.Session, older_than: dt.timedelta) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(company, email) of queued messages whose delivery job never ran (service role: all companies)."""
    queued_at = sa.func.coalesce(NotificationEmail.queued_at, NotificationEmail.created_at)
    return [(company_id, email_id) for company_id, email_id in session.execute(
        sa.select(NotificationEmail.company_id, NotificationEmail.id)
        .where(NotificationEmail.status == "queued", queued_at < utcnow() - older_than)
    )]

