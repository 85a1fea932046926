"""Invoices, their numbering, payments by hand, and the company's price list. Money is integer cents.

An invoice keeps its lines in itself (JSONB): once sent it never changes, and it is one of the three
records that survive a company's anonymization (with `customer_id` NULL and the frozen `customer_snapshot`).
"""
from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import JSONB

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow
from flowtrack.models.customers import Customer, _check_in


class InvoiceStatus(str, enum.Enum):
    draft = "draft"
    sent = "sent"
    partially_paid = "partially_paid"
    paid = "paid"
    void = "void"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class InvoiceKind(str, enum.Enum):
    invoice = "invoice"
    credit_note = "credit_note"


class PaymentMethod(str, enum.Enum):
    cash = "cash"
    check = "check"
    card = "card"      # online, through Stripe (the portal)
    credit = "credit"  # a credit note applied to the invoice


class PriceKind(str, enum.Enum):
    test = "test"      # the test fee of an assembly type and size
    repair = "repair"  # a repair part
    trip = "trip"      # the trip charge, once per visit


class Invoice(TenantScoped, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "number", name="invoices_company_number_key"),
        sa.Index("invoices_company_status_idx", "company_id", "status", "due_on"),
        _check_in("status", InvoiceStatus, "invoices_status_check"),
        _check_in("kind", InvoiceKind, "invoices_kind_check"),
        sa.CheckConstraint("paid_cents >= 0", name="invoices_paid_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    # Gapless per company (invoice_counters); a void invoice keeps its number.
    number: so.Mapped[int]
    kind: so.Mapped[str] = so.mapped_column(sa.String(12), default=InvoiceKind.invoice.value)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default=InvoiceStatus.draft.value)
    customer_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("customers.id"), index=True)
    work_order_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("work_orders.id"))
    credits_invoice_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("invoices.id"))
    currency: so.Mapped[str] = so.mapped_column(sa.String(3), default="USD")
    # [{"description", "quantity", "unit_price_cents", "amount_cents", "taxable"}], in order.
    lines: so.Mapped[list] = so.mapped_column(JSONB, default=list)
    tax_rate_bp: so.Mapped[int] = so.mapped_column(default=0)  # basis points: 825 = 8.25%
    subtotal_cents: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    tax_cents: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    total_cents: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    paid_cents: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=0)
    # The billed identity as it was when sent (name, billing address, email); the anonymization sweep relies on it.
    customer_snapshot: so.Mapped[dict | None] = so.mapped_column(JSONB)
    issued_on: so.Mapped[dt.date | None]
    due_on: so.Mapped[dt.date | None]
    sent_at: so.Mapped[dt.datetime | None]
    voided_at: so.Mapped[dt.datetime | None]
    pdf_sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    customer: so.Mapped[Customer | None] = so.relationship()

    @property
    def balance_cents(self) -> int:
        return self.total_cents - self.paid_cents

    @property
    def label(self) -> str:
        return f"{'Credit note' if self.kind == InvoiceKind.credit_note.value else 'Invoice'} {self.number}"


class InvoiceCounter(TenantScoped, Base):
    """The last invoice number a company used: one row, locked by each new invoice until it commits."""

    __tablename__ = "invoice_counters"

    company_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    last_number: so.Mapped[int] = so.mapped_column(default=0)


class Payment(TenantScoped, Base):
    __tablename__ = "payments"
    __table_args__ = (
        sa.Index("payments_invoice_idx", "company_id", "invoice_id"),
        sa.Index("payments_form_key_idx", "company_id", "form_key", unique=True,
                 postgresql_where=sa.text("form_key IS NOT NULL")),
        _check_in("method", PaymentMethod, "payments_method_check"),
        sa.CheckConstraint("amount_cents <> 0", name="payments_amount_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    invoice_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("invoices.id"))
    # Negative for a refund.
    amount_cents: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    method: so.Mapped[str] = so.mapped_column(sa.String(8))
    reference: so.Mapped[str | None] = so.mapped_column(sa.String(100))  # check number, Stripe PaymentIntent id
    received_on: so.Mapped[dt.date]
    recorded_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id"))
    # The office's payment form it was typed in: the same form sent again records nothing more.
    form_key: so.Mapped[uuid.UUID | None]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


class PriceItem(TenantScoped, Base):
    """One price of the company's list: a test fee (by assembly type and size), a repair part, the trip charge."""

    __tablename__ = "price_items"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "kind", "device_type", "size", "part", name="price_items_key"),
        _check_in("kind", PriceKind, "price_items_kind_check"),
        sa.CheckConstraint("unit_price_cents BETWEEN 0 AND 100000000", name="price_items_price_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    kind: so.Mapped[str] = so.mapped_column(sa.String(8))
    # A test fee: the assembly type, and the size or "" for every size of it. A repair: the part. Else "".
    device_type: so.Mapped[str] = so.mapped_column(sa.String(8), default="")
    size: so.Mapped[str] = so.mapped_column(sa.String(16), default="")
    part: so.Mapped[str] = so.mapped_column(sa.String(40), default="")
    unit_price_cents: so.Mapped[int]
    taxable: so.Mapped[bool] = so.mapped_column(default=True)
