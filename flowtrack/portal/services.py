"""What a portal user may see: their own customer account's sent invoices, and their backflow assemblies in
service with each one's next due date and latest test certificate. Everything is looked up through the customer
the user belongs to; any other id is not found."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.field_tests import services as testing
from flowtrack.models.accounts import Profile
from flowtrack.models.customers import Customer, CustomerLocation, Device, DeviceStatus
from flowtrack.models.field_tests import TestRecord
from flowtrack.models.invoicing import Invoice, InvoiceStatus


def customer_of(session: so.Session, user_id: uuid.UUID) -> Customer | None:
    """The customer account a portal user belongs to (None: not linked to one)."""
    return session.scalar(sa.select(Customer).join(Profile, Profile.customer_id == Customer.id)
                          .where(Profile.user_id == user_id))


def invoices_of(session: so.Session, customer_id: uuid.UUID) -> list[Invoice]:
    """Sent invoices and credit notes, newest first (drafts are the office's, not yet the customer's)."""
    return list(session.scalars(sa.select(Invoice).where(Invoice.customer_id == customer_id,
                                                         Invoice.status != InvoiceStatus.draft.value)
                                .order_by(Invoice.number.desc())))


def devices_of(session: so.Session, customer_id: uuid.UUID) -> list[Device]:
    """The customer's assemblies in service, by address and serial, with their locations."""
    return list(session.scalars(
        sa.select(Device).join(CustomerLocation, CustomerLocation.id == Device.location_id)
        .where(CustomerLocation.customer_id == customer_id, Device.status == DeviceStatus.active.value)
        .options(so.contains_eager(Device.location))
        .order_by(CustomerLocation.address_line1, CustomerLocation.id, Device.serial)))


def certificate(session: so.Session, customer_id: uuid.UUID, test_id: uuid.UUID) -> TestRecord | None:
    """One of the customer's latest certificates (an older test, or another customer's, is not found)."""
    return next((r for r in testing.latest_certificates(session, customer_id) if r.id == test_id), None)
