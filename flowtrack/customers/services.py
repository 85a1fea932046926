"""Customers and their service locations: list, create, edit, archive. Plain functions on a session.

Every change is audited with before/after. The list pages by keyset on an
index (`customers_company_name_idx` or `customers_company_created_idx`), and a
name search is a range of the first: a page costs the same at row 50 and at
row 50,000, and nothing counts the table.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.exc import IntegrityError

from flowtrack.audit import services as audit
from flowtrack.core.db import new_id, utcnow
from flowtrack.core.forms import clean
from flowtrack.core.paging import Page, paginate
from flowtrack.customers.addresses import address_key
from flowtrack.devices import services as devices
from flowtrack.models.accounts import Profile, User
from flowtrack.models.customers import Customer, CustomerLocation, Device, District

CUSTOMER_FIELDS = ("name", "billing_address", "email", "phone", "sms_consent", "notes")
CONTACT_FIELDS = ("email", "phone")
LOCATION_FIELDS = ("address_line1", "address_line2", "city", "state", "postal_code", "site_contact_name",
                   "site_contact_phone", "access_notes", "district_id", "water_account_number", "latitude",
                   "longitude")

STATUSES = ("active", "archived", "all")
SORTS = {"name": "Name A–Z", "-name": "Name Z–A", "newest": "Newest first"}
PAGE_SIZE = 50
# Above every character, so `prefix <= key < prefix + TOP` is "key starts with prefix" as an index range.
_TOP = chr(0x10FFFF)


def _cleaned(values: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    cleaned = {key: clean(value) for key, value in values.items()}
    if cleaned.get("email"):
        cleaned["email"] = cleaned["email"].lower()
    return cleaned


def snapshot(customer: Customer) -> dict[str, Any]:
    return {field: getattr(customer, field) for field in (*CUSTOMER_FIELDS, "archived_at")}


# --- the list ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CustomerQuery:
    """What the list shows: a name prefix, active or archived or all, in which order, after which row."""

    q: str | None = None
    status: str = "active"
    sort: str = "name"
    after: str | None = None

    def params(self, **changes) -> dict[str, str]:
        """The query string of this list (without defaults), for links and pushed URLs."""
        values = {"q": self.q, "status": self.status, "sort": self.sort, "after": self.after, **changes}
        defaults = {"status": "active", "sort": "name"}
        return {k: v for k, v in values.items() if v and defaults.get(k) != v}


def encode_cursor(key: Any, row_id: uuid.UUID) -> str:
    raw = json.dumps([key.isoformat() if isinstance(key, dt.datetime) else key, str(row_id)])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, uuid.UUID] | None:
    """The position a cursor names, or None for one that is not ours (then the list starts at the top)."""
    try:
        key, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = dt.datetime.fromisoformat(key) if sort == "newest" else str(key)
        return key, uuid.UUID(row_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None


def list_customers(session: so.Session, query: CustomerQuery, *, page_size: int = PAGE_SIZE) -> Page:
    """One page of customers in the chosen order, starting after `query.after`."""
    sort = query.sort if query.sort in SORTS else "name"
    key = Customer.created_at if sort == "newest" else Customer.name_key
    descending = sort in ("-name", "newest")
    statement = sa.select(Customer, key)
    if query.status == "active":
        statement = statement.where(Customer.archived_at.is_(None))
    elif query.status == "archived":
        statement = statement.where(Customer.archived_at.is_not(None))
    if query.q:
        prefix = sa.func.lower(query.q.strip())
        statement = statement.where(Customer.name_key >= prefix, Customer.name_key < sa.func.concat(prefix, _TOP))
    position = decode_cursor(query.after, sort) if query.after else None
    if position is not None:
        row = sa.tuple_(key, Customer.id)
        statement = statement.where(row < position if descending else row > position)
    order = (key.desc(), Customer.id.desc()) if descending else (key, Customer.id)
    rows = session.execute(statement.order_by(*order).limit(page_size + 1)).all()
    page = paginate(rows, page_size, lambda row: encode_cursor(row[1], row[0].id))
    return Page([customer for customer, _ in page.items], page.next_after)


# --- one customer ---------------------------------------------------------------------------------------

def portal_users(session: so.Session, customer_id: uuid.UUID) -> list[tuple[Profile, User]]:
    """Who of the customer may sign in to the portal (and whether they accepted their invitation)."""
    return list(session.execute(sa.select(Profile, User).join(User, User.id == Profile.user_id)
                                .where(Profile.customer_id == customer_id).order_by(Profile.full_name)).all())


def get_customer(session: so.Session, customer_id: uuid.UUID) -> Customer | None:
    return session.get(Customer, customer_id)


def customer_with_sites(session: so.Session, customer_id: uuid.UUID) -> Customer | None:
    """A customer with its locations, their districts and devices, in three statements."""
    return session.scalar(
        sa.select(Customer).where(Customer.id == customer_id)
        .options(so.selectinload(Customer.locations).options(
            so.joinedload(CustomerLocation.district),
            so.selectinload(CustomerLocation.devices).joinedload(Device.replaced_by)))
    )


def new_customer(**values: Any) -> Customer:
    """A customer made from typed values, not yet saved (an import saves thousands at once)."""
    return Customer(id=new_id(), **_cleaned(values, CUSTOMER_FIELDS))


def create_customer(session: so.Session, **values: Any) -> Customer:
    customer = new_customer(**values)
    session.add(customer)
    session.flush()
    audit.record(session, "customer.created", entity_type="customer", entity_id=customer.id,
                 changes=audit.changes_between(None, snapshot(customer)))
    return customer


def update_customer(session: so.Session, customer: Customer, *, fields: tuple[str, ...] = CUSTOMER_FIELDS,
                    **values: Any) -> dict[str, Any]:
    """Change some of a customer's fields; returns what changed (nothing is recorded when nothing did)."""
    before = snapshot(customer)
    for field, value in _cleaned(values, fields).items():
        setattr(customer, field, value)
    changes = audit.changes_between(before, snapshot(customer))
    if changes:
        session.flush()
        audit.record(session, "customer.updated", entity_type="customer", entity_id=customer.id, changes=changes)
    return changes


def archive_customer(session: so.Session, customer: Customer) -> None:
    """Hide a customer from the active list; nothing of theirs is deleted."""
    if customer.archived_at is not None:
        return
    before = snapshot(customer)
    customer.archived_at = utcnow()
    session.flush()
    audit.record(session, "customer.archived", entity_type="customer", entity_id=customer.id,
                 changes=audit.changes_between(before, snapshot(customer)))


def restore_customer(session: so.Session, customer: Customer) -> None:
    if customer.archived_at is None:
        return
    before = snapshot(customer)
    customer.archived_at = None
    session.flush()
    audit.record(session, "customer.restored", entity_type="customer", entity_id=customer.id,
                 changes=audit.changes_between(before, snapshot(customer)))


# --- service locations ----------------------------------------------------------------------------------

class DuplicateLocation(Exception):
    """The address is already a service location of this company (`existing`, perhaps another customer's)."""

    def __init__(self, existing: CustomerLocation):
        owner = existing.customer.name
        super().__init__(f"This address is already a service location of {owner}: {existing.one_line}.")
        self.existing = existing


def location_snapshot(location: CustomerLocation) -> dict[str, Any]:
    return {field: getattr(location, field) for field in ("customer_id", *LOCATION_FIELDS)}


def _same_place(session: so.Session, location: CustomerLocation) -> CustomerLocation | None:
    with session.no_autoflush:
        return session.scalar(sa.select(CustomerLocation).where(CustomerLocation.address_key == location.address_key,
                                                                CustomerLocation.id != location.id)
                              .options(so.joinedload(CustomerLocation.customer)))


def fill_location(location: CustomerLocation, values: dict[str, Any]) -> None:
    """Set a location's fields from typed values, and the key its address is matched by; coordinates typed in
    are the office's (those a test placed stay the tests' until someone changes them)."""
    placed = (location.latitude, location.longitude)
    for field, value in _cleaned(values, LOCATION_FIELDS).items():
        setattr(location, field, float(value) if field in ("latitude", "longitude") and value is not None else value)
    if (location.latitude, location.longitude) != placed:
        location.coordinates_source = "office" if location.latitude is not None else None
    location.state = location.state.upper() if location.state else None
    location.postal_code = location.postal_code.upper() if location.postal_code else None
    location.address_key = address_key(location.address_line1, location.address_line2, location.city,
                                       location.state, location.postal_code)


def _apply_location(session: so.Session, location: CustomerLocation, values: dict[str, Any]) -> None:
    fill_location(location, values)
    # A district id from a form is re-read under row-level security: another company's id is not one.
    if location.district_id is not None and session.get(District, location.district_id) is None:
        raise ValueError("no such district")
    existing = _same_place(session, location)
    if existing is not None:
        raise DuplicateLocation(existing)


def _flush_location(session: so.Session, location: CustomerLocation) -> None:
    """Flush; someone who saved the same address a moment ago gets the same answer as the check above."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        if "customer_locations_company_address_key" not in str(error.orig):
            raise
        raise DuplicateLocation(_same_place(session, location)) from None


def create_location(session: so.Session, customer: Customer, **values: Any) -> CustomerLocation:
    """Add a service address to a customer, unless the company has it already (in any spelling)."""
    location = CustomerLocation(id=new_id(), customer_id=customer.id)
    _apply_location(session, location, values)
    session.add(location)
    _flush_location(session, location)
    audit.record(session, "location.created", entity_type="location", entity_id=location.id,
                 changes=audit.changes_between(None, location_snapshot(location)))
    return location


def update_location(session: so.Session, location: CustomerLocation, **values: Any) -> dict[str, Any]:
    """Change a location; moved to another district, its devices follow that district's due-date rule."""
    before = location_snapshot(location)
    with session.no_autoflush:
        _apply_location(session, location, values)
    changes = audit.changes_between(before, location_snapshot(location))
    if not changes:
        return changes
    _flush_location(session, location)
    if "district_id" in changes:
        rescheduled = devices.refresh_due_dates(session, location_id=location.id)
        if rescheduled:
            changes["devices_rescheduled"] = rescheduled
    audit.record(session, "location.updated", entity_type="location", entity_id=location.id, changes=changes)
    return changes
