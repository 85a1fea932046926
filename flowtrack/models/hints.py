"""Hints the office dismissed (flowtrack/hints/). A hint's key names the facts it was shown for (the latest failing
test, the devices left off a visit, the kit's due date...): a dismissed hint stays away until they change."""
from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow
from flowtrack.models.customers import _check_in


class HintKind(str, enum.Enum):
    replace = "replace"              # an assembly that failed two of its last three tests
    visit = "visit"                  # devices due at the place of a booked visit, not on it
    kit = "kit"                      # a technician's test kit due for calibration before their booked job
    certification = "certification"  # a technician's certification expiring before their booked job
    overdue = "overdue"              # a customer owing an invoice 60 days overdue asks for new work


class DismissedHint(TenantScoped, Base):
    """A hint someone of the company dismissed, for everyone in the company."""

    __tablename__ = "dismissed_hints"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "key", name="dismissed_hints_company_key"),
        _check_in("kind", HintKind, "dismissed_hints_kind_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    key: so.Mapped[str] = so.mapped_column(sa.String(200))
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    dismissed_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                                 index=True)
    dismissed_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class HintVersion(TenantScoped, Base):
    """A counter that database triggers move whenever the company's tests, quotes, invoices, service requests,
    people or test kits change (migration 0048): with the devices' and the schedule's counters, it names what the
    company's hints were read from."""

    __tablename__ = "hint_versions"

    company_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    version: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=1)
