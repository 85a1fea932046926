"""Cards on file and autopay (migration 0042).

A customer saves a card from the portal; the card itself stays at Stripe (a payment method of a Stripe customer
on the company's own account), and FlowTrack keeps what a person needs to recognise it. Autopay is the
customer's consent, kept with the words they agreed to, to have each invoice charged to that card when it is
sent. Each charge of an invoice is an `AutopayCharge`, one per attempt.
"""
from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow
from flowtrack.models.customers import _check_in


class SavedCard(TenantScoped, Base):
    __tablename__ = "saved_cards"
    __table_args__ = (
        sa.Index("saved_cards_one_live_card", "company_id", "customer_id", unique=True,
                 postgresql_where=sa.text("removed_at IS NULL")),
        sa.CheckConstraint("autopay_since IS NULL OR autopay_consent_text IS NOT NULL",
                           name="saved_cards_consent_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    customer_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("customers.id"), index=True)
    # The customer at Stripe, on the company's account; a replaced card's row keeps it for the next card.
    stripe_customer_id: so.Mapped[str] = so.mapped_column(sa.String(100))
    payment_method_id: so.Mapped[str] = so.mapped_column(sa.String(100))
    brand: so.Mapped[str] = so.mapped_column(sa.String(20))
    last4: so.Mapped[str] = so.mapped_column(sa.String(4))
    exp_month: so.Mapped[int] = so.mapped_column(sa.SmallInteger)
    exp_year: so.Mapped[int] = so.mapped_column(sa.SmallInteger)
    saved_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                            index=True)
    saved_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    removed_at: so.Mapped[dt.datetime | None]
    removed_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                              index=True)
    # The consent to autopay as it was given; `autopay_stopped_at` when it was withdrawn (or the card removed).
    autopay_since: so.Mapped[dt.datetime | None]
    autopay_consent_text: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    autopay_consent_ip: so.Mapped[str | None] = so.mapped_column(sa.String(45))
    autopay_consented_by: so.Mapped[uuid.UUID | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    autopay_stopped_at: so.Mapped[dt.datetime | None]

    @classmethod
    def on_file(cls, customer_id: uuid.UUID) -> sa.Select:
        """The customer's card on file (one at most: the others were removed or replaced)."""
        return sa.select(cls).where(cls.customer_id == customer_id, cls.removed_at.is_(None))

    @property
    def label(self) -> str:
        return f"{self.brand.capitalize()} ending {self.last4}"

    @property
    def expiry(self) -> str:
        return f"{self.exp_month:02d}/{self.exp_year}"

    @property
    def autopay_on(self) -> bool:
        return self.removed_at is None and self.autopay_since is not None and self.autopay_stopped_at is None


class ChargeStatus(str, enum.Enum):
    submitted = "submitted"  # Stripe took the charge; the payment counts once its webhook says it succeeded
    paid = "paid"  # the webhook said so
    declined = "declined"
    needs_confirmation = "needs_confirmation"  # the bank wants the customer present (3-D Secure)

    @property
    def label(self) -> str:
        return {"submitted": "Charging", "paid": "Paid", "declined": "Declined",
                "needs_confirmation": "Needs the customer's confirmation"}[self.value]


class AutopayCharge(TenantScoped, Base):
    __tablename__ = "autopay_charges"
    __table_args__ = (
        sa.UniqueConstraint("invoice_id", "attempt", name="autopay_charges_invoice_attempt_key"),
        sa.CheckConstraint("attempt BETWEEN 1 AND 10", name="autopay_charges_attempt_check"),
        sa.CheckConstraint("amount_cents > 0", name="autopay_charges_amount_check"),
        _check_in("status", ChargeStatus, "autopay_charges_status_check"),
        sa.Index("autopay_charges_retry_idx", "next_attempt_on",
                 postgresql_where=sa.text("next_attempt_on IS NOT NULL")),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    invoice_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("invoices.id"))
    card_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("saved_cards.id"), index=True)
    attempt: so.Mapped[int] = so.mapped_column(sa.SmallInteger)
    amount_cents: so.Mapped[int]
    payment_intent_id: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    status: so.Mapped[str] = so.mapped_column(sa.String(20))
    failure: so.Mapped[str | None] = so.mapped_column(sa.String(500))  # the bank's reason, for people to read
    # When a declined charge is tried again (in the company's time zone); None once no attempt is left.
    next_attempt_on: so.Mapped[dt.date | None]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    card: so.Mapped[SavedCard] = so.relationship()

    @property
    def status_label(self) -> str:
        return ChargeStatus(self.status).label

    @property
    def failed(self) -> bool:
        return self.status in (ChargeStatus.declined.value, ChargeStatus.needs_confirmation.value)
