"""Invoices: made from a completed work order (a line per device tested and per repair) or by hand, numbered
without gaps, sent (which freezes them), paid by hand, credited, voided; and the aging of what is open.

Money is integer cents. Tax is computed once per invoice, on the sum of its taxable lines, and rounded half
up to the cent (8.25% of $10.06 is 82.9950 cents: 83); each line's amount is its quantity times its unit
price, exact. A sent invoice never changes: a correction is a credit note, which reduces what the invoice
still asks for. Every change of state and every payment is audited.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterator

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import insert

from flowtrack.audit import services as audit
from flowtrack.companies.services import settings_of
from flowtrack.core.csv_text import csv_chunks
from flowtrack.core.db import lock_for_change, utcnow
from flowtrack.core.money import format_cents
from flowtrack.core.paging import Page, paginate
from flowtrack.models.customers import Customer
from flowtrack.models.invoicing import (
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PriceItem,
    PriceKind,
)
from flowtrack.models.scheduling import WorkOrder, WorkOrderStatus
from flowtrack.work_orders.pricing import billing_order
from flowtrack.work_orders.services import invoice_of

OPEN = (InvoiceStatus.sent.value, InvoiceStatus.partially_paid.value)
AGING_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")
PAGE_SIZE = 50


class InvoiceRefused(Exception):
    """A change the invoice's state does not allow; the message says why."""


# --- money (pure) --------------------------------------------------------------------------------------

def new_line(description: str, quantity: int, unit_price_cents: int, *, taxable: bool = True,
             price_missing: bool = False) -> dict:
    """A line as the invoice keeps it. `price_missing` (the price list had none) is for the office's eyes only."""
    line = {"description": description.strip()[:200], "quantity": quantity, "unit_price_cents": unit_price_cents,
            "amount_cents": quantity * unit_price_cents, "taxable": taxable}
    return {**line, "price_missing": True} if price_missing else line


def unpriced(lines: list[dict]) -> list[dict]:
    """Lines the price list had no price for that still ask $0.00: the invoice does not go out with them."""
    return [line for line in lines if line.get("price_missing") and line["unit_price_cents"] == 0]


def tax_on(taxable_cents: int, rate_bp: int) -> int:
    """Tax in cents on an amount, at a rate in basis points, rounded half up (away from zero for credits)."""
    exact = Decimal(taxable_cents) * Decimal(rate_bp) / Decimal(10000)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def totals(lines: list[dict], rate_bp: int) -> tuple[int, int, int]:
    """(subtotal, tax, total) in cents."""
    subtotal = sum(line["amount_cents"] for line in lines)
    tax = tax_on(sum(line["amount_cents"] for line in lines if line["taxable"]), rate_bp)
    return subtotal, tax, subtotal + tax


def _set_lines(invoice: Invoice, lines: list[dict]) -> None:
    invoice.lines = lines
    invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents = totals(lines, invoice.tax_rate_bp)


# --- numbering -----------------------------------------------------------------------------------------

def next_number(session: so.Session) -> int:
    """The company's next invoice number. The counter row stays locked until the caller's transaction ends, so
    concurrent invoices queue for it, and a rolled-back invoice gives its number back: no gaps, no repeats."""
    statement = (insert(InvoiceCounter).values(company_id=session.info["company_id"], last_number=1)
                 .on_conflict_do_update(index_elements=[InvoiceCounter.company_id],
                                        set_={"last_number": InvoiceCounter.last_number + 1})
                 .returning(InvoiceCounter.last_number))
    return session.scalar(statement)


# --- the price list ------------------------------------------------------------------------------------

def set_price(session: so.Session, *, kind: str, device_type: str = "", size: str = "", part: str = "",
              unit_price_cents: int, taxable: bool = True) -> PriceItem:
    """Add a price or change the one with the same key (kind, type, size, part); a key part that does not
    belong to the kind (a size on a trip charge) is dropped."""
    kind = PriceKind(kind)
    key = {"kind": kind.value, "device_type": (device_type or "") if kind is PriceKind.test else "",
           "size": (size or "") if kind is PriceKind.test else "",
           "part": (part or "").strip().lower() if kind is PriceKind.repair else ""}
    item = session.scalar(sa.select(PriceItem).filter_by(**key))
    before = None if item is None else {"unit_price_cents": item.unit_price_cents, "taxable": item.taxable}
    if item is None:
        item = PriceItem(**key)
        session.add(item)
    item.unit_price_cents, item.taxable = unit_price_cents, taxable
    session.flush()
    audit.record(session, "price.set", entity_type="price_item", entity_id=item.id,
                 changes={**key, **audit.changes_between(before, {"unit_price_cents": unit_price_cents,
                                                                  "taxable": taxable})})
    return item


def trip_charge(session: so.Session) -> PriceItem | None:
    """The charge added once to each visit, or None when the company charges none."""
    return session.scalar(sa.select(PriceItem).where(PriceItem.kind == PriceKind.trip.value))


def set_trip_charge(session: so.Session, unit_price_cents: int | None, *, taxable: bool) -> bool:
    """The trip charge of work orders made from now on; None: no trip charge. Audited as a price set or
    removed. Returns whether anything changed."""
    trip = trip_charge(session)
    if unit_price_cents is None:
        if trip is None:
            return False
        remove_price(session, trip)
        return True
    if trip is not None and (trip.unit_price_cents, trip.taxable) == (unit_price_cents, taxable):
        return False
    set_price(session, kind=PriceKind.trip.value, unit_price_cents=unit_price_cents, taxable=taxable)
    return True


def save_settings(session: so.Session, *, tax_rate_bp: int, payment_terms_days: int) -> None:
    """The tax rate and payment terms of invoices made from now on."""
    settings = settings_of(session)
    before = {"tax_rate_bp": settings.tax_rate_bp, "payment_terms_days": settings.payment_terms_days}
    settings.tax_rate_bp, settings.payment_terms_days = tax_rate_bp, payment_terms_days
    session.add(settings)
    audit.record(session, "invoices.settings_changed", entity_type="company_settings",
                 changes=audit.changes_between(before, {"tax_rate_bp": tax_rate_bp,
                                                        "payment_terms_days": payment_terms_days}))


def remove_price(session: so.Session, item: PriceItem) -> None:
    audit.record(session, "price.removed", entity_type="price_item", entity_id=item.id,
                 changes={"kind": item.kind, "device_type": item.device_type, "size": item.size, "part": item.part,
                          "unit_price_cents": item.unit_price_cents})
    session.delete(item)
    session.flush()


# --- making invoices -----------------------------------------------------------------------------------

def get_invoice(session: so.Session, invoice_id: uuid.UUID, *, customer_id: uuid.UUID | None = None,
                for_update: bool = False) -> Invoice | None:
    """An invoice; for a portal user, only one of their own customer's (pass their customer id). `for_update`
    locks it first, for a request that changes it (`lock_for_change`)."""
    statement = sa.select(Invoice).where(Invoice.id == invoice_id).options(so.joinedload(Invoice.customer))
    if for_update:
        lock_for_change(session, sa.select(Invoice.id).where(Invoice.id == invoice_id))
        statement = statement.execution_options(populate_existing=True)
    if customer_id is not None:
        statement = statement.where(Invoice.customer_id == customer_id, Invoice.status != InvoiceStatus.draft.value)
    return session.scalar(statement)


def _new_invoice(session: so.Session, customer_id: uuid.UUID | None, lines: list[dict] = (), **fields) -> Invoice:
    invoice = Invoice(id=uuid.uuid4(), number=next_number(session), customer_id=customer_id,
                      tax_rate_bp=settings_of(session).tax_rate_bp, paid_cents=0, status=InvoiceStatus.draft.value,
                      **fields)
    _set_lines(invoice, list(lines))
    return invoice


def work_order_lines(order: WorkOrder) -> list[dict]:
    """The work order's lines, exactly: they are the visit's price (flowtrack/work_orders/pricing.py)."""
    return [new_line(line.description, line.quantity, line.unit_price_cents, taxable=line.taxable,
                     price_missing=line.price_missing) for line in billing_order(order)]


def invoice_from_work_order(session: so.Session, order: WorkOrder) -> Invoice:
    """One click on a completed work order: a draft invoice with its lines."""
    if order.status != WorkOrderStatus.completed.value:
        raise InvoiceRefused("Only a completed work order can be invoiced.")
    existing = invoice_of(session, order)
    if existing is not None:
        raise InvoiceRefused(f"This work order is already on {existing.label}.")
    invoice = _new_invoice(session, order.customer_id, work_order_id=order.id, lines=work_order_lines(order))
    session.add(invoice)
    session.flush()
    audit.record(session, "invoice.created", entity_type="invoice", entity_id=invoice.id,
                 changes={"number": invoice.number, "work_order": str(order.id), "total_cents": invoice.total_cents})
    return invoice


def blank_invoice(session: so.Session, customer: Customer) -> Invoice:
    invoice = _new_invoice(session, customer.id)
    session.add(invoice)
    session.flush()
    audit.record(session, "invoice.created", entity_type="invoice", entity_id=invoice.id,
                 changes={"number": invoice.number, "customer": str(customer.id)})
    return invoice


def _refuse_unless_draft(invoice: Invoice) -> None:
    if invoice.status != InvoiceStatus.draft.value:
        raise InvoiceRefused(f"{invoice.label} was sent; correct it with a credit note.")


def add_line(session: so.Session, invoice: Invoice, description: str, quantity: int, unit_price_cents: int,
             taxable: bool) -> None:
    _refuse_unless_draft(invoice)
    line = new_line(description, quantity, unit_price_cents, taxable=taxable)
    _set_lines(invoice, [*invoice.lines, line])
    audit.record(session, "invoice.line_added", entity_type="invoice", entity_id=invoice.id, changes=line)


def set_line_price(session: so.Session, invoice: Invoice, index: int, unit_price_cents: int) -> None:
    """The office's price for a draft's line; $0.00 set here is a deliberate no charge."""
    _refuse_unless_draft(invoice)
    if not 0 <= index < len(invoice.lines):
        raise LookupError(index)
    before = invoice.lines[index]
    line = new_line(before["description"], before["quantity"], unit_price_cents, taxable=before["taxable"])
    _set_lines(invoice, [line if i == index else other for i, other in enumerate(invoice.lines)])
    audit.record(session, "invoice.line_priced", entity_type="invoice", entity_id=invoice.id,
                 changes=audit.changes_between(before, line))


def remove_line(session: so.Session, invoice: Invoice, index: int) -> None:
    _refuse_unless_draft(invoice)
    if not 0 <= index < len(invoice.lines):
        raise LookupError(index)
    removed = invoice.lines[index]
    _set_lines(invoice, [line for i, line in enumerate(invoice.lines) if i != index])
    audit.record(session, "invoice.line_removed", entity_type="invoice", entity_id=invoice.id, changes=removed)


def customer_snapshot(customer: Customer | None) -> dict:
    if customer is None:
        return {}
    return {"name": customer.name, "billing_address": customer.billing_address, "email": customer.email,
            "phone": customer.phone}


def _service_address(session: so.Session, invoice: Invoice) -> dict:
    """Where the billed work was done, frozen with the billed identity (a blank invoice has none)."""
    order = session.get(WorkOrder, invoice.work_order_id) if invoice.work_order_id else None
    return {"service_address": order.location.one_line} if order is not None else {}


def send(session: so.Session, invoice: Invoice, today: dt.date) -> None:
    """Issue the invoice: it is frozen as it is, with the customer's identity as it is today."""
    _refuse_unless_draft(invoice)
    if not invoice.lines:
        raise InvoiceRefused("Add at least one line before sending.")
    missing = unpriced(invoice.lines)
    if missing:
        raise InvoiceRefused("Set a price for " + "; ".join(line["description"] for line in missing)
                             + " (the price list has none), or remove the line, before sending.")
    if invoice.kind == InvoiceKind.invoice.value and invoice.total_cents <= 0:
        raise InvoiceRefused("An invoice's total must be more than $0.00.")
    invoice.customer_snapshot = {**customer_snapshot(invoice.customer), **_service_address(session, invoice)}
    invoice.issued_on = today
    invoice.due_on = today + dt.timedelta(days=settings_of(session).payment_terms_days)
    invoice.sent_at = utcnow()
    invoice.status = InvoiceStatus.sent.value
    audit.record(session, "invoice.sent", entity_type="invoice", entity_id=invoice.id,
                 changes={"number": invoice.number, "total_cents": invoice.total_cents,
                          "status": {"before": "draft", "after": "sent"}, "due_on": invoice.due_on})


def void(session: so.Session, invoice: Invoice) -> None:
    """A void invoice keeps its number and asks for nothing; one with money received is credited instead."""
    if invoice.status == InvoiceStatus.void.value:
        raise InvoiceRefused(f"{invoice.label} is void already.")
    if invoice.paid_cents:
        raise InvoiceRefused(f"{invoice.label} has payments; issue a credit note instead.")
    before = invoice.status
    invoice.status, invoice.voided_at = InvoiceStatus.void.value, utcnow()
    audit.record(session, "invoice.voided", entity_type="invoice", entity_id=invoice.id,
                 changes={"number": invoice.number, "status": {"before": before, "after": "void"}})


def apply_payment(session: so.Session, invoice: Invoice, amount_cents: int, **audit_as) -> None:
    """Money in (or, negative, out) changes what the invoice still asks for, and so its status. A card payment
    is taken whatever the balance (the money has moved): more than the total leaves a credit the office sees."""
    before = invoice.status
    invoice.paid_cents += amount_cents
    invoice.status = (InvoiceStatus.paid.value if invoice.paid_cents >= invoice.total_cents else
                      InvoiceStatus.partially_paid.value if invoice.paid_cents > 0 else InvoiceStatus.sent.value)
    if invoice.status != before:
        audit.record(session, "invoice.status_changed", entity_type="invoice", entity_id=invoice.id,
                     changes={"status": {"before": before, "after": invoice.status}}, **audit_as)


def record_payment(session: so.Session, invoice: Invoice, *, amount_cents: int, method: str, received_on: dt.date,
                   reference: str | None, recorded_by: uuid.UUID | None, form_key: uuid.UUID | None = None) -> Payment:
    """Money received (or, negative, refunded) against a sent invoice; more than it asks for is refused. A payment
    typed in a form that was sent already (`form_key`: a double click) is the one recorded then, and nothing
    changes; the invoice is read locked (`get_invoice(..., for_update=True)`), so the second click finds it."""
    if form_key is not None:
        recorded = session.scalar(sa.select(Payment).where(Payment.invoice_id == invoice.id,
                                                           Payment.form_key == form_key))
        if recorded is not None:
            return recorded
    if invoice.kind != InvoiceKind.invoice.value or invoice.status not in (*OPEN, InvoiceStatus.paid.value):
        raise InvoiceRefused(f"{invoice.label} takes no payments ({InvoiceStatus(invoice.status).label.lower()}).")
    if amount_cents == 0:
        raise InvoiceRefused("Enter the amount received.")
    if amount_cents > invoice.balance_cents:
        raise InvoiceRefused(f"That is more than the {format_cents(invoice.balance_cents)} still due.")
    if -amount_cents > invoice.paid_cents:
        raise InvoiceRefused("A refund cannot exceed what was paid.")
    payment = Payment(invoice_id=invoice.id, amount_cents=amount_cents, method=PaymentMethod(method).value,
                      reference=(reference or "").strip() or None, received_on=received_on, recorded_by=recorded_by,
                      form_key=form_key)
    session.add(payment)
    apply_payment(session, invoice, amount_cents)
    session.flush()
    audit.record(session, "payment.recorded" if amount_cents > 0 else "payment.refunded", entity_type="invoice",
                 entity_id=invoice.id, changes={"amount_cents": amount_cents, "method": payment.method,
                                                "reference": payment.reference, "received_on": received_on})
    return payment


def credit_note(session: so.Session, invoice: Invoice, *, amount_cents: int, reason: str, today: dt.date) -> Invoice:
    """A sent credit note for part or all of what a sent invoice still asks for (tax included)."""
    if invoice.kind != InvoiceKind.invoice.value or invoice.status not in OPEN:
        raise InvoiceRefused(f"Only an open invoice can be credited; {invoice.label} is "
                             f"{InvoiceStatus(invoice.status).label.lower()}.")
    if not 0 < amount_cents <= invoice.balance_cents:
        raise InvoiceRefused(f"Credit between $0.01 and the {format_cents(invoice.balance_cents)} still due.")
    # Untaxed lines: the credited amount already includes the invoice's tax.
    note = _new_invoice(session, invoice.customer_id, kind=InvoiceKind.credit_note.value,
                        credits_invoice_id=invoice.id, currency=invoice.currency,
                        lines=[new_line(f"Credit on invoice {invoice.number}: {reason}", 1, -amount_cents,
                                        taxable=False)])
    note.customer_snapshot, note.issued_on, note.sent_at = invoice.customer_snapshot, today, utcnow()
    note.status = InvoiceStatus.sent.value
    session.add(note)
    session.flush()
    session.add(Payment(invoice_id=invoice.id, amount_cents=amount_cents, method=PaymentMethod.credit.value,
                        reference=f"credit note {note.number}", received_on=today))
    apply_payment(session, invoice, amount_cents)
    audit.record(session, "invoice.credited", entity_type="invoice", entity_id=invoice.id,
                 changes={"credit_note": note.number, "amount_cents": amount_cents, "reason": reason})
    return note


def payments_of(session: so.Session, invoice_id: uuid.UUID) -> list[Payment]:
    return list(session.scalars(sa.select(Payment).where(Payment.invoice_id == invoice_id)
                                .order_by(Payment.received_on, Payment.created_at)))


# --- lists ---------------------------------------------------------------------------------------------

def list_invoices(session: so.Session, *, status: str | None = None, customer_id: uuid.UUID | None = None,
                  after: int | None = None, page_size: int = PAGE_SIZE) -> Page:
    """Newest number first, a page at a time (keyset on the number)."""
    statement = sa.select(Invoice).options(so.joinedload(Invoice.customer)).order_by(Invoice.number.desc())
    if status:
        statement = statement.where(Invoice.status == status)
    if customer_id:
        statement = statement.where(Invoice.customer_id == customer_id)
    if after:
        statement = statement.where(Invoice.number < after)
    rows = list(session.scalars(statement.limit(page_size + 1)))
    return paginate(rows, page_size, lambda invoice: invoice.number)


def aging_bucket(due_on: dt.date, today: dt.date) -> str:
    late = (today - due_on).days
    if late <= 0:
        return "current"
    return "1-30" if late <= 30 else "31-60" if late <= 60 else "61-90" if late <= 90 else "90+"


@dataclass
class Aging:
    rows: list[Invoice] = field(default_factory=list)
    buckets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AGING_BUCKETS, 0))

    @property
    def total_cents(self) -> int:
        return sum(self.buckets.values())


def aging(session: so.Session, today: dt.date) -> Aging:
    """Every open invoice with what it still asks for, by how late it is."""
    report = Aging()
    for invoice in session.scalars(sa.select(Invoice).where(Invoice.status.in_(OPEN),
                                                            Invoice.kind == InvoiceKind.invoice.value)
                                   .options(so.joinedload(Invoice.customer)).order_by(Invoice.due_on, Invoice.number)):
        report.rows.append(invoice)
        report.buckets[aging_bucket(invoice.due_on, today)] += invoice.balance_cents
    return report


def aging_csv(report: Aging, today: dt.date) -> Iterator[str]:
    return csv_chunks(
        ["number", "customer", "issued_on", "due_on", "days_late", "bucket", "total", "paid", "balance"],
        ([invoice.number, (invoice.customer_snapshot or {}).get("name", ""), invoice.issued_on, invoice.due_on,
          max((today - invoice.due_on).days, 0), aging_bucket(invoice.due_on, today),
          f"{invoice.total_cents / 100:.2f}", f"{invoice.paid_cents / 100:.2f}", f"{invoice.balance_cents / 100:.2f}"]
         for invoice in report.rows))
