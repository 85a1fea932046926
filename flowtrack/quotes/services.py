"""Quotes: building, versions, sending, and the customer's approval or decline. Every step is audited.

The office changes the current version while it is a draft. Changing a quote the customer was sent starts a new
version (back to a draft, its link retired until it is sent again), so what a customer approves is always a
version they were sent; an approval that names an older version is refused. Deciding locks the quote's row
(`lock_for_change`), so of two approvals at once one wins and the other finds it decided.
"""
from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import Callable, Iterable

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.companies.services import office_addresses, settings_of
from flowtrack.core.dates import date
from flowtrack.core.db import lock_company_chain, lock_for_change, token_hash, utcnow
from flowtrack.core.money import format_cents
from flowtrack.core.permissions import QUOTES_MANAGE
from flowtrack.core.storage import FileStorage
from flowtrack.invoices.services import tax_on
from flowtrack.models.accounts import Profile
from flowtrack.models.companies import Company
from flowtrack.models.customers import CustomerLocation, Device, DeviceStatus
from flowtrack.models.field_tests import TestRecord
from flowtrack.models.inventory import Part
from flowtrack.models.invoicing import PriceItem, PriceKind
from flowtrack.models.quotes import Quote, QuoteLine, QuoteStatus
from flowtrack.models.scheduling import LineKind, WorkKind, WorkOrderLine
from flowtrack.models.service_requests import ServiceRequest
from flowtrack.notifications.links import external_url
from flowtrack.notifications.services import send_email
from flowtrack.work_orders import services as work_orders

DEFAULT_VALID_DAYS = 30


class QuoteRefused(Exception):
    """A change or a decision the quote's state does not allow; the message says why, to whoever asked."""


# --- money (pure) --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Totals:
    subtotal_cents: int
    tax_cents: int
    total_cents: int


def totals(lines: Iterable[QuoteLine], rate_bp: int, chosen: set[uuid.UUID] | None = None) -> Totals:
    """What the lines come to: every required line, and the optional ones in `chosen` (None: all of them)."""
    taken = [line for line in lines if not line.optional or chosen is None or line.id in chosen]
    subtotal = sum(line.amount_cents for line in taken)
    tax = tax_on(sum(line.amount_cents for line in taken if line.taxable), rate_bp)
    return Totals(subtotal, tax, subtotal + tax)


def totals_of(quote: Quote, version: int | None, rate_bp: int) -> Totals:
    """What a version of the quote comes to as the office and the printed quote show it: the approved version, the
    lines the customer took; any other, with every optional item."""
    lines = quote.lines_of(version)
    chosen = {line.id for line in lines if line.chosen} if version == quote.approved_version else None
    return totals(lines, rate_bp, chosen)


def tax_rate(session: so.Session) -> int:
    return settings_of(session).tax_rate_bp


def expired(quote: Quote, today: dt.date) -> bool:
    return today > quote.expires_on


def status_label(quote: Quote, today: dt.date) -> str:
    if quote.status == QuoteStatus.sent.value and expired(quote, today):
        return "Expired"
    return quote.status_label


# --- finding -------------------------------------------------------------------------------------------

def _load() -> tuple:
    return (so.joinedload(Quote.customer), so.joinedload(Quote.location), so.selectinload(Quote.lines))


def get_quote(session: so.Session, quote_id: uuid.UUID, *, customer_id: uuid.UUID | None = None,
              for_update: bool = False) -> Quote | None:
    """A quote with its customer, place and lines; with `customer_id`, only one that customer was sent (a portal
    user's). `for_update` locks it first, for a request that changes it."""
    statement = sa.select(Quote).where(Quote.id == quote_id).options(*_load())
    if customer_id is not None:
        statement = statement.where(Quote.customer_id == customer_id, Quote.sent_version.is_not(None))
    if for_update:
        lock_for_change(session, sa.select(Quote.id).where(Quote.id == quote_id))
        statement = statement.execution_options(populate_existing=True)
    return session.scalar(statement)


def quote_by_link(session: so.Session, raw_token: str) -> Quote | None:
    """The quote a link in an email opens: the version it was sent, to decide once (then it shows the decision),
    until the quote expires. A link of a version since changed opens nothing."""
    return session.scalar(sa.select(Quote).where(Quote.link_token_hash == token_hash(raw_token)).options(*_load()))


def origin(session: so.Session, quote: Quote) -> dict:
    """What the quote is about, as far as it says: the assembly (and its failed test), the customer's request."""
    return {"device": session.get(Device, quote.device_id) if quote.device_id else None,
            "test_record": session.get(TestRecord, quote.test_record_id) if quote.test_record_id else None,
            "service_request": session.get(ServiceRequest, quote.service_request_id)
            if quote.service_request_id else None}


def latest_test_of(session: so.Session, device_id: uuid.UUID) -> TestRecord | None:
    return session.scalar(sa.select(TestRecord).where(TestRecord.device_id == device_id)
                          .order_by(TestRecord.tested_at.desc()).limit(1))


def customer_of_user(session: so.Session, user_id: uuid.UUID) -> uuid.UUID | None:
    """The customer account a portal user belongs to (None: not linked to one)."""
    return session.scalar(sa.select(Profile.customer_id).where(Profile.user_id == user_id))


def list_quotes(session: so.Session, *, customer_id: uuid.UUID | None = None, limit: int = 200) -> list[Quote]:
    statement = (sa.select(Quote).options(*_load()).order_by(Quote.number.desc()).limit(limit))
    if customer_id is not None:
        statement = statement.where(Quote.customer_id == customer_id)
    return list(session.scalars(statement))


def sent_quotes_of(session: so.Session, customer_id: uuid.UUID) -> list[Quote]:
    """A customer's quotes as the portal lists them: those sent to them, newest first."""
    return list(session.scalars(sa.select(Quote).where(Quote.customer_id == customer_id,
                                                       Quote.sent_version.is_not(None))
                                .options(so.joinedload(Quote.location)).order_by(Quote.number.desc())))


# --- the price list and parts, as quote lines ----------------------------------------------------------

def price_label(item: PriceItem) -> str:
    if item.kind == PriceKind.test.value:
        return f"Backflow test, {item.device_type}{f' {item.size}″' if item.size else ''}"
    if item.kind == PriceKind.repair.value:
        return f"Repair: {item.part}"
    return "Trip charge"


def part_label(part: Part) -> str:
    return f"Part: {part.name[:200 - len(part.sku) - 9]} ({part.sku})"


# --- building ------------------------------------------------------------------------------------------

def _next_number(session: so.Session) -> int:
    """The company's next quote number: the audit chain's lock (taken first, as every audited change takes it)
    holds other new quotes back until this one commits."""
    lock_company_chain(session, session.info["company_id"])
    return (session.scalar(sa.select(sa.func.max(Quote.number))) or 0) + 1


def _snapshot(quote: Quote) -> dict:
    return {"number": quote.number, "customer": quote.customer_id, "location": quote.location_id,
            "device": quote.device_id, "test_record": quote.test_record_id,
            "service_request": quote.service_request_id, "expires_on": quote.expires_on, "notes": quote.notes}


def new_quote(session: so.Session, location: CustomerLocation, *, expires_on: dt.date, notes: str | None,
              created_by: uuid.UUID | None, device: Device | None = None, test_record: TestRecord | None = None,
              service_request: ServiceRequest | None = None, form_key: uuid.UUID | None = None) -> Quote:
    """A draft quote for a customer's place, from a failed assembly (its device and failed test), a service
    request, or the place alone. The same form sent again (a double click) gives the quote it made."""
    if form_key is not None:
        lock_company_chain(session, session.info["company_id"])
        made = session.scalar(sa.select(Quote).where(Quote.form_key == form_key))
        if made is not None:
            return made
    quote = Quote(form_key=form_key, id=uuid.uuid4(), number=_next_number(session), customer_id=location.customer_id,
                  location_id=location.id, device_id=device.id if device else None,
                  test_record_id=test_record.id if test_record else None,
                  service_request_id=service_request.id if service_request else None,
                  status=QuoteStatus.draft.value, version=1, expires_on=expires_on,
                  notes=(notes or "").strip() or None, created_by=created_by)
    session.add(quote)
    session.flush()
    audit.record(session, "quote.created", entity_type="quote", entity_id=quote.id,
                 changes=audit.changes_between(None, _snapshot(quote)))
    return quote


def _line_snapshot(line: QuoteLine) -> dict:
    return {"description": line.description, "quantity": line.quantity, "unit_price_cents": line.unit_price_cents,
            "taxable": line.taxable, "optional": line.optional}


def _editable(session: so.Session, quote: Quote) -> None:
    """Make the quote's current version one the office may change: a draft stays as it is; a sent quote gets a
    new version, a copy of the one sent, back to a draft whose old link no longer opens it."""
    if quote.status in (QuoteStatus.approved.value, QuoteStatus.declined.value):
        raise QuoteRefused(f"{quote.label} was {quote.status}; it no longer changes. Make a new quote instead.")
    if quote.status == QuoteStatus.draft.value:
        return
    before = quote.version
    quote.lines.extend(QuoteLine(version=before + 1, position=line.position, description=line.description,
                                 quantity=line.quantity, unit_price_cents=line.unit_price_cents,
                                 taxable=line.taxable, optional=line.optional) for line in quote.lines_of(before))
    quote.version, quote.status, quote.link_token_hash = before + 1, QuoteStatus.draft.value, None
    session.flush()
    audit.record(session, "quote.revised", entity_type="quote", entity_id=quote.id,
                 changes={"version": {"before": before, "after": quote.version},
                          "status": {"before": "sent", "after": "draft"}})


def add_line(session: so.Session, quote: Quote, *, description: str, quantity: int, unit_price_cents: int,
             taxable: bool = True, optional: bool = False, form_key: uuid.UUID | None = None) -> QuoteLine:
    """Add a line to the current version. The same form sent again (a double click; the caller holds the quote's
    lock) gives the line it added."""
    if form_key is not None:
        added = session.scalar(sa.select(QuoteLine).where(QuoteLine.form_key == form_key))
        if added is not None:
            return added
    _editable(session, quote)
    current = quote.lines_of(quote.version)
    line = QuoteLine(version=quote.version, position=max((line.position for line in current), default=-1) + 1,
                     description=description.strip()[:200], quantity=quantity, unit_price_cents=unit_price_cents,
                     taxable=taxable, optional=optional, form_key=form_key)
    quote.lines.append(line)
    session.flush()
    audit.record(session, "quote.line_added", entity_type="quote", entity_id=quote.id,
                 changes={"version": quote.version, **_line_snapshot(line)})
    return line


def remove_line(session: so.Session, quote: Quote, line_id: uuid.UUID) -> None:
    """Take a line off the current version (on a sent quote: off its new version; the version sent keeps it)."""
    found = next((line for line in quote.lines_of(quote.version) if line.id == line_id), None)
    if found is None:
        raise LookupError(line_id)
    position = found.position
    _editable(session, quote)
    line = next(line for line in quote.lines_of(quote.version) if line.position == position)
    quote.lines.remove(line)
    session.flush()
    audit.record(session, "quote.line_removed", entity_type="quote", entity_id=quote.id,
                 changes={"version": quote.version, **_line_snapshot(line)})


def change_details(session: so.Session, quote: Quote, *, expires_on: dt.date, notes: str | None) -> None:
    notes = (notes or "").strip() or None
    if (expires_on, notes) == (quote.expires_on, quote.notes):
        return
    _editable(session, quote)
    before = {"expires_on": quote.expires_on, "notes": quote.notes}
    quote.expires_on, quote.notes = expires_on, notes
    session.flush()
    audit.record(session, "quote.changed", entity_type="quote", entity_id=quote.id,
                 changes=audit.changes_between(before, {"expires_on": expires_on, "notes": notes}))


# --- sending -------------------------------------------------------------------------------------------

def send(session: so.Session, quote: Quote, today: dt.date, link_to: Callable[[str], str]) -> str:
    """Send the current version: email the customer a link to it (`link_to(token)` makes the link's URL).
    Returns the link's token, whose hash alone is kept; an earlier link stops opening the quote."""
    if quote.status != QuoteStatus.draft.value:
        raise QuoteRefused(f"{quote.label} was already {quote.status}; change it to send a new version.")
    lines = quote.lines_of(quote.version)
    if not lines:
        raise QuoteRefused("Add at least one line before sending.")
    if expired(quote, today):
        raise QuoteRefused("The quote's expiry date has passed; choose a later one before sending.")
    email = quote.customer.email
    if not email:
        raise QuoteRefused(f"{quote.customer.name} has no email address; add one to the customer to send the "
                           "quote.")
    raw = secrets.token_urlsafe(32)
    quote.link_token_hash, quote.status, quote.sent_version, quote.sent_at = (
        token_hash(raw), QuoteStatus.sent.value, quote.version, utcnow())
    total = totals(lines, tax_rate(session))
    company = session.get(Company, quote.company_id)
    send_email(session, email, f"{quote.label} from {company.name}",
               f"Hello {quote.customer.name},\n\n"
               f"{company.name} sent you {quote.label.lower()} for work at {quote.location.one_line}: "
               f"{format_cents(total.total_cents)}"
               + (" (with every optional item)" if any(line.optional for line in lines) else "")
               + f". It is valid until {date(quote.expires_on, long=True)}.\n\n"
               f"See it, pick the optional items, and approve or decline it here:\n{link_to(raw)}\n\n"
               f"Thank you.\n{company.name}\n", sensitive=True)
    session.flush()
    audit.record(session, "quote.sent", entity_type="quote", entity_id=quote.id,
                 changes={"version": quote.version, "to": email, "total_cents": total.total_cents,
                          "status": {"before": "draft", "after": "sent"}})
    return raw


# --- the customer's decision ---------------------------------------------------------------------------

def _refuse_unless_open(quote: Quote, version: int, today: dt.date) -> None:
    if quote.status == QuoteStatus.approved.value:
        raise QuoteRefused(f"{quote.label} is already approved (version {quote.approved_version}, by "
                           f"{quote.approved_by_name}). Nothing more to do.")
    if quote.status == QuoteStatus.declined.value:
        raise QuoteRefused(f"{quote.label} was declined; ask the company for a new quote.")
    if quote.status != QuoteStatus.sent.value or version != quote.sent_version:
        raise QuoteRefused(f"{quote.label} was changed after you opened it, so this version can no longer be "
                           "approved or declined. Open the latest version the company sent you.")
    if expired(quote, today):
        raise QuoteRefused(f"{quote.label} expired on {date(quote.expires_on, long=True)} and can no longer be "
                           "approved. Ask the company for a new quote.")


def approve(session: so.Session, quote_id: uuid.UUID, *, version: int, chosen: set[uuid.UUID], name: str,
            ip: str | None, today: dt.date, signature: bytes | None = None,
            storage: FileStorage | None = None) -> Quote:
    """The customer approves the version they were sent, with the optional lines in `chosen`, signing with their
    typed name and, where the company asks for it, a drawn `signature` (a PNG checked by
    core.signatures.signature_png, kept in `storage`); a work order is made of exactly the lines they took, and the
    office is emailed. The caller commits."""
    quote = get_quote(session, quote_id, for_update=True)
    if quote is None:
        raise LookupError(quote_id)
    _refuse_unless_open(quote, version, today)
    name = " ".join(name.split())
    if not name:
        raise QuoteRefused("Type your full name to approve.")
    if signature is None and signature_required(session):
        raise QuoteRefused(SIGN_BY_HAND)
    lines = quote.lines_of(version)
    unknown = chosen - {line.id for line in lines if line.optional}
    if unknown:
        raise QuoteRefused("Choose among the optional items of this quote.")
    if signature is not None:
        if storage is None:
            raise ValueError("a signature needs the file store to keep it")
        # The file first: a failed approval leaves an unused file, never an approval without its signature.
        quote.approved_signature_key = f"{quote.company_id}/signatures/quote-{quote.id}-v{version}.png"
        storage.put(quote.approved_signature_key, signature, "image/png")
    for line in lines:
        line.chosen = not line.optional or line.id in chosen
    taken = [line for line in lines if line.chosen]
    total = totals(lines, tax_rate(session), chosen)
    quote.status, quote.approved_version, quote.approved_by_name = QuoteStatus.approved.value, version, name[:200]
    quote.approved_at, quote.approved_ip = utcnow(), ip
    session.flush()
    audit.record(session, "quote.approved", entity_type="quote", entity_id=quote.id,
                 changes={"version": version, "name": quote.approved_by_name, "ip": ip,
                          "signed_by_hand": signature is not None,
                          "lines": [_line_snapshot(line) for line in taken], "total_cents": total.total_cents,
                          "status": {"before": "sent", "after": "approved"}})
    # The assembly to repair goes on the work order, unless it already is on unfinished work, which the approval
    # does not wait for (the office sees both).
    device = session.get(Device, quote.device_id) if quote.device_id else None
    on_it = [device.id] if device is not None and device.status == DeviceStatus.active.value \
        and device.location_id == quote.location_id \
        and not work_orders.devices_on_unfinished_work(session, [device.id]) else []
    order = work_orders.create_work_order(
        session, quote.location, on_it, created_by=None, kind=WorkKind.repair.value,
        notes=f"From {quote.label}, approved by {quote.approved_by_name}." + (f" {quote.notes}" if quote.notes else ""),
        lines=[WorkOrderLine(kind=LineKind.other.value, description=line.description, quantity=line.quantity,
                             unit_price_cents=line.unit_price_cents, taxable=line.taxable, price_missing=False)
               for line in taken])
    quote.work_order_id = order.id
    session.flush()
    audit.record(session, "quote.work_order_made", entity_type="quote", entity_id=quote.id,
                 changes={"work_order": order.id})
    optional = [line for line in lines if line.optional]
    _tell_the_office(session, quote, "approved",
                     f"{quote.approved_by_name} approved it{', signing by hand' if signature is not None else ''}: "
                     f"{format_cents(total.total_cents)}"
                     + (f", with {sum(1 for line in optional if line.chosen)} of its {len(optional)} optional items"
                        if optional else "")
                     + ".\n\nA work order was made of the lines they took, to book.")
    return quote


def decline(session: so.Session, quote_id: uuid.UUID, *, version: int, reason: str, today: dt.date) -> Quote:
    quote = get_quote(session, quote_id, for_update=True)
    if quote is None:
        raise LookupError(quote_id)
    _refuse_unless_open(quote, version, today)
    reason = reason.strip()
    if not reason:
        raise QuoteRefused("Tell the company why you decline, so they can help.")
    quote.status, quote.decline_reason = QuoteStatus.declined.value, reason[:1000]
    quote.declined_at = utcnow()
    session.flush()
    audit.record(session, "quote.declined", entity_type="quote", entity_id=quote.id,
                 changes={"version": version, "reason": quote.decline_reason,
                          "status": {"before": "sent", "after": "declined"}})
    _tell_the_office(session, quote, "declined", f"Their reason:\n{quote.decline_reason}")
    return quote


def _tell_the_office(session: so.Session, quote: Quote, decision: str, what: str) -> None:
    """Email the office the customer's answer, with a link to the quote (its page also lists recent answers)."""
    subject = f"{quote.label} {decision} by {quote.customer.name}"
    body = (f"{quote.customer.name} {decision} {quote.label.lower()} (version {quote.sent_version}) for work at "
            f"{quote.location.one_line}.\n\n{what}\n\nThe quote: "
            f"{external_url('quotes.detail', quote_id=quote.id)}\n")
    for address in office_addresses(session, QUOTES_MANAGE):
        send_email(session, address, subject, body)


def decided_since(session: so.Session, since: dt.datetime, *, limit: int = 10) -> list[Quote]:
    """The quotes customers approved or declined since `since`, the latest answer first."""
    answered = sa.func.coalesce(Quote.approved_at, Quote.declined_at)
    return list(session.scalars(sa.select(Quote).where(answered >= since)
                                .options(so.joinedload(Quote.customer))
                                .order_by(answered.desc(), Quote.number.desc()).limit(limit)))


# --- the company's choice ------------------------------------------------------------------------------

SIGN_BY_HAND = "Sign in the box with your finger or the mouse (or sign with the name you typed) to approve."


def signature_required(session: so.Session) -> bool:
    """Does the company ask customers to sign quotes by hand (on a signature pad), besides typing their name?"""
    return settings_of(session).quote_signature_required


def save_settings(session: so.Session, *, signature_required: bool) -> dict:
    """The company's choice for quotes from now on; audited. Returns what changed."""
    settings = settings_of(session)
    changes = audit.changes_between({"quote_signature_required": settings.quote_signature_required},
                                    {"quote_signature_required": signature_required})
    settings.quote_signature_required = signature_required
    session.add(settings)
    if changes:
        audit.record(session, "settings.changed", entity_type="company", entity_id=settings.company_id,
                     changes=changes)
    return changes
