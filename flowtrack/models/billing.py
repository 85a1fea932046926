from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core.db import Base


class StripeEvent(Base):
    """A Stripe webhook event already processed: each event id changes the database at most once."""

    __tablename__ = "stripe_events"

    id: so.Mapped[str] = so.mapped_column(sa.String(255), primary_key=True)
    type: so.Mapped[str] = so.mapped_column(sa.String(100))
    created_at: so.Mapped[dt.datetime]
    received_at: so.Mapped[dt.datetime]
    company_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("companies.id"), index=True)
    outcome: so.Mapped[str] = so.mapped_column(sa.String(20))
