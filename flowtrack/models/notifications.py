from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.db import Base, TenantScoped, new_id, utcnow


class NotificationEmail(TenantScoped, Base):
    """One email in a company's outbox: kept there without SMTP, delivered by a job with it.

    status: outbox (no mail server configured), queued, sent, failed, throttled (over the hourly cap).
    """

    __tablename__ = "notification_emails"
    __table_args__ = (sa.Index("notification_emails_company_created_idx", "company_id", "created_at"),)

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    to_address: so.Mapped[str] = so.mapped_column(sa.String(254))
    subject: so.Mapped[str] = so.mapped_column(sa.String(200))
    body: so.Mapped[str] = so.mapped_column(sa.Text)
    # A sensitive body (a sign-in link) is erased once delivered: the link must not outlive the send in the database.
    sensitive: so.Mapped[bool] = so.mapped_column(default=False)
    status: so.Mapped[str] = so.mapped_column(sa.String(12))
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    sent_at: so.Mapped[dt.datetime | None]
    error: so.Mapped[str | None] = so.mapped_column(sa.String(300))
