"""Quotes: what a repair will cost, offered to a customer who approves it online (or declines it).

A quote's lines belong to a version. The office edits the current version while it is a draft; changing a quote
the customer was sent starts a new version, so the customer always approves the version they saw. Money is
integer cents; the total is computed from the lines, never stored apart from them.
"""
from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterable

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow
from flowtrack.models.customers import Customer, CustomerLocation, Device, _check_in


class QuoteStatus(str, enum.Enum):
    draft = "draft"
    sent = "sent"
    approved = "approved"
    declined = "declined"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Quote(TenantScoped, Base):
    __tablename__ = "quotes"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "number", name="quotes_company_number_key"),
        sa.Index("quotes_link_token_key", "link_token_hash", unique=True,
                 postgresql_where=sa.text("link_token_hash IS NOT NULL")),
        _check_in("status", QuoteStatus, "quotes_status_check"),
        sa.CheckConstraint("version >= 1", name="quotes_version_check"),
        sa.Index("quotes_form_key", "company_id", "form_key", unique=True,
                 postgresql_where=sa.text("form_key IS NOT NULL")),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    number: so.Mapped[int]  # per company, from 1
    customer_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("customers.id"), index=True)
    location_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("customer_locations.id"), index=True)
    # Where it came from: a failed assembly (its device, and the failed test), a customer's service request.
    device_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("devices.id"), index=True)
    test_record_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("test_records.id"), index=True)
    service_request_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("service_requests.id"),
                                                                       index=True)
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default=QuoteStatus.draft.value)
    version: so.Mapped[int] = so.mapped_column(default=1)  # the version the office works on
    sent_version: so.Mapped[int | None]  # the last version the customer was sent
    expires_on: so.Mapped[dt.date]  # the last day it may be approved, in the company's time zone
    notes: so.Mapped[str | None] = so.mapped_column(sa.String(2000))
    # The emailed link's token, hashed: a new one each time a version is sent; a change to the quote retires it.
    link_token_hash: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary(32))
    sent_at: so.Mapped[dt.datetime | None]
    approved_version: so.Mapped[int | None]
    approved_by_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    approved_at: so.Mapped[dt.datetime | None]
    approved_ip: so.Mapped[str | None] = so.mapped_column(sa.String(45))
    # The signature drawn with the approval, where the company asks for one: its PNG's key in the file store.
    approved_signature_key: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    declined_at: so.Mapped[dt.datetime | None]
    decline_reason: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    work_order_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("work_orders.id"), index=True)
    created_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                               index=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    # The office's "new quote" form it was made with: the same form sent twice makes one quote.
    form_key: so.Mapped[uuid.UUID | None]

    customer: so.Mapped[Customer] = so.relationship()
    location: so.Mapped[CustomerLocation] = so.relationship()
    lines: so.Mapped[list[QuoteLine]] = so.relationship(back_populates="quote", cascade="all, delete-orphan",
                                                        order_by="(QuoteLine.version, QuoteLine.position)")

    @property
    def label(self) -> str:
        return f"Quote {self.number}"

    @property
    def status_label(self) -> str:
        return QuoteStatus(self.status).label

    def lines_of(self, version: int | None) -> list[QuoteLine]:
        return [line for line in self.lines if line.version == version]


class QuoteLine(TenantScoped, Base):
    __tablename__ = "quote_lines"
    __table_args__ = (
        sa.Index("quote_lines_quote_version_idx", "quote_id", "version", "position"),
        sa.Index("quote_lines_form_key", "company_id", "form_key", unique=True,
                 postgresql_where=sa.text("form_key IS NOT NULL")),
        sa.CheckConstraint("quantity BETWEEN 1 AND 10000", name="quote_lines_quantity_check"),
        sa.CheckConstraint("unit_price_cents BETWEEN 0 AND 100000000", name="quote_lines_price_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    quote_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("quotes.id"))
    version: so.Mapped[int]
    position: so.Mapped[int] = so.mapped_column(sa.SmallInteger, default=0)
    description: so.Mapped[str] = so.mapped_column(sa.String(200))
    quantity: so.Mapped[int] = so.mapped_column(default=1)
    unit_price_cents: so.Mapped[int]
    taxable: so.Mapped[bool] = so.mapped_column(default=True)
    optional: so.Mapped[bool] = so.mapped_column(default=False)  # the customer may leave it out
    # Whether the customer took it, recorded at approval (a required line always is).
    chosen: so.Mapped[bool | None]
    # The office's "add a line" form it came from: the same form sent twice adds one line.
    form_key: so.Mapped[uuid.UUID | None]

    quote: so.Mapped[Quote] = so.relationship(back_populates="lines")

    @property
    def amount_cents(self) -> int:
        return self.quantity * self.unit_price_cents


def repair_quotes(session: so.Session, devices: Iterable[Device], zone: dt.tzinfo) -> dict[uuid.UUID, Quote]:
    """The newest quote made for each failed device since it failed (by the company's day): the repair list and a
    work order link to it instead of offering to quote the repair again."""
    failed_on = {device.id: device.failed_on for device in devices if device.failed_on is not None}
    found: dict[uuid.UUID, Quote] = {}
    if not failed_on:
        return found
    for quote in session.scalars(sa.select(Quote).where(Quote.device_id.in_(failed_on))
                                 .order_by(Quote.number.desc())):
        if quote.device_id not in found and quote.created_at.astimezone(zone).date() >= failed_on[quote.device_id]:
            found[quote.device_id] = quote
    return found
