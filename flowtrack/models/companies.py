from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import ARRAY

from flowtrack.core.db import Base, TenantRoot, TenantScoped, utcnow


class Plan(str, enum.Enum):
    basic = "basic"
    professional = "professional"
    enterprise = "enterprise"


class Company(TenantRoot, Base):
    """A tenant: one backflow-testing company."""

    __tablename__ = "companies"

    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    timezone: so.Mapped[str] = so.mapped_column(sa.String(64), default="America/Los_Angeles")
    plan: so.Mapped[str] = so.mapped_column(sa.String(20), default=Plan.professional.value)
    stripe_customer_id: so.Mapped[str | None] = so.mapped_column(sa.String(255), unique=True)
    stripe_subscription_id: so.Mapped[str | None] = so.mapped_column(sa.String(255), unique=True)
    # The company's own Stripe account (Connect), where its customers' invoice payments go.
    stripe_account_id: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    subscription_status: so.Mapped[str] = so.mapped_column(sa.String(32), default="active")
    cancel_at_period_end: so.Mapped[bool] = so.mapped_column(default=False)
    current_period_end: so.Mapped[dt.datetime | None]
    deletion_clock_starts_at: so.Mapped[dt.datetime | None]
    # When Stripe produced the subscription state above (see flowtrack/billing/services.py).
    subscription_state_at: so.Mapped[dt.datetime | None]
    tombstoned_at: so.Mapped[dt.datetime | None]
    require_mfa: so.Mapped[bool] = so.mapped_column(default=False)
    # The region it is being moved to, while `flowtrack company move` copies it (flowtrack/ops/move.py).
    moving_to: so.Mapped[str | None] = so.mapped_column(sa.String(8))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class CompanyReadOnly(PermissionError):
    """A write for a company whose paid period has ended (companies/state.py), or that is being moved to another
    region."""


class CompanyMoving(CompanyReadOnly):
    """The company is being moved to another region (`flowtrack company move`, ops/move.py): no one signs in and
    nothing writes until the move is done, so that nothing written on the way is left behind."""

    def __init__(self, company: Company):
        super().__init__(f"company {company.id} is moving to the region {company.moving_to}")
        self.region = company.moving_to


class CompanySettings(TenantScoped, Base):
    """A company's own choices, one row per company (defaults apply until someone saves)."""

    __tablename__ = "company_settings"
    __table_args__ = (
        sa.CheckConstraint("cardinality(reminder_lead_days) <= 4", name="company_settings_lead_days_check"),
        sa.CheckConstraint("tax_rate_bp BETWEEN 0 AND 5000", name="company_settings_tax_rate_check"),
    )

    company_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    reminders_enabled: so.Mapped[bool] = so.mapped_column(default=True)
    # Days before a device's due date when the customer is reminded, e.g. [60, 30].
    reminder_lead_days: so.Mapped[list[int]] = so.mapped_column(ARRAY(sa.SmallInteger), default=lambda: [60, 30])
    remind_when_overdue: so.Mapped[bool] = so.mapped_column(default=True)
    tax_rate_bp: so.Mapped[int] = so.mapped_column(default=0)  # sales tax on taxable lines, basis points
    payment_terms_days: so.Mapped[int] = so.mapped_column(sa.SmallInteger, default=30)
    # What customers read on invoices and in the portal; checks go to remit_to, else to the address.
    address: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    phone: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    remit_to: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    far_from_location_m: so.Mapped[int] = so.mapped_column(default=300)  # a test farther away is flagged (metres)
    # A customer's online booking waits for the office to confirm it, rather than going straight on the board.
    bookings_need_confirmation: so.Mapped[bool] = so.mapped_column(default=False)
    # Customers approving a quote sign it on a signature pad as well as typing their name.
    quote_signature_required: so.Mapped[bool] = so.mapped_column(default=False)

    @property
    def mail_checks_to(self) -> str | None:
        return self.remit_to or self.address
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
