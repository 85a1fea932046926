from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow


class NotificationEmail(TenantScoped, Base):
    """One email in a company's outbox: kept there without SMTP, delivered by a job with it.

    status: outbox (no mail server configured), queued, sent, failed, throttled (over the hourly cap, until the cron
    job lets it out in a later hour), suppressed (the address bounced or complained: see `EmailSuppression`; never
    sent).
    """

    __tablename__ = "notification_emails"
    __table_args__ = (
        sa.Index("notification_emails_company_created_idx", "company_id", "created_at"),
        sa.Index("notification_emails_company_queued_idx", "company_id", "queued_at"),
        # Only the few messages that wait: the cron job finds them without reading the whole outbox.
        sa.Index("notification_emails_waiting_idx", "status", "company_id",
                 postgresql_where=sa.text("status IN ('queued', 'throttled')")),
        # The mail provider's reports name an address: the companies that mailed it are found through this.
        sa.Index("notification_emails_to_address_idx", sa.func.lower(sa.text("to_address"))),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    to_address: so.Mapped[str] = so.mapped_column(sa.String(254))
    subject: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    # A sensitive body (a sign-in link) is erased once delivered: the link must not outlive the send in the database.
    sensitive: so.Mapped[bool] = so.mapped_column(default=False)
    status: so.Mapped[str] = so.mapped_column(sa.String(12))
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    # When it took its place in the company's hourly allowance: when written, or when a throttled message was let
    # out (None while throttled). The hourly cap counts by it. Rows older than revision 0029 may lack it.
    queued_at: so.Mapped[dt.datetime | None]
    sent_at: so.Mapped[dt.datetime | None]
    error: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    # One attached file, kept in the storage backend (flowtrack/core/storage.py) under this key until the company goes.
    attachment_key: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    attachment_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    attachment_type: so.Mapped[str | None] = so.mapped_column(sa.String(100))


class NotificationLog(TenantScoped, Base):
    """One test-due reminder about one device by one channel: which notice (stage) for which due date, and how
    it went out.

    The unique key is the promise "never twice": a second run, or a second worker at the same moment, cannot
    claim the same notice of the same device's due date on the same channel again.
    """

    __tablename__ = "notification_log"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "device_id", "due_on", "stage", "channel",
                            name="notification_log_notice_key"),
        sa.Index("notification_log_company_created_idx", "company_id", "created_at"),
        sa.Index("notification_log_company_status_idx", "company_id", "status"),
        sa.CheckConstraint("channel IN ('email', 'letter', 'sms')", name="notification_log_channel_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    customer_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("customers.id"))
    device_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("devices.id"))
    due_on: so.Mapped[dt.date]
    # "60d", "30d" (days before the due date, as the company set them) or "overdue".
    stage: so.Mapped[str] = so.mapped_column(sa.String(8))
    channel: so.Mapped[str] = so.mapped_column(sa.String(8))
    # email: the outbox's status when written (the email row has the live one); letter: to_print, printed;
    # sms: queued, sent, failed (after RQ's retries).
    status: so.Mapped[str] = so.mapped_column(sa.String(12))
    email_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("notification_emails.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    printed_at: so.Mapped[dt.datetime | None]
    attempts: so.Mapped[int] = so.mapped_column(sa.SmallInteger, default=0)
    sent_at: so.Mapped[dt.datetime | None]
    error: so.Mapped[str | None] = so.mapped_column(sa.String(300))

    email: so.Mapped[NotificationEmail | None] = so.relationship()


class EmailSuppression(TenantScoped, Base):
    """An address the company's outbox no longer mails: the mail provider reported a permanent bounce or a spam
    complaint. It stands until the office clears it (`cleared_at`); cleared rows stay as the address's history."""

    __tablename__ = "email_suppressions"
    __table_args__ = (
        sa.Index("email_suppressions_standing_key", "company_id", "address", unique=True,
                 postgresql_where=sa.text("cleared_at IS NULL")),
        sa.Index("email_suppressions_company_idx", "company_id", "created_at"),
        sa.CheckConstraint("reason IN ('bounce', 'complaint')", name="email_suppressions_reason_check"),
        sa.CheckConstraint("address = lower(address)", name="email_suppressions_address_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    address: so.Mapped[str] = so.mapped_column(sa.String(254))  # lower-cased
    reason: so.Mapped[str] = so.mapped_column(sa.String(12))  # bounce, complaint
    detail: so.Mapped[str | None] = so.mapped_column(sa.String(300))  # the provider's words
    reported_at: so.Mapped[dt.datetime]  # when the provider saw it
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    cleared_at: so.Mapped[dt.datetime | None]
    cleared_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
