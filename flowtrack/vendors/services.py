"""Keeping vendors, assigning work orders to them, and a vendor's person's view of their assigned work."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.exc import IntegrityError

from flowtrack.audit import services as audit
from flowtrack.core.db import lock_for_change
from flowtrack.core.permissions import Role
from flowtrack.models.accounts import Profile, User
from flowtrack.models.customers import CustomerLocation, Gauge
from flowtrack.models.field_tests import TestRecord, current_tests
from flowtrack.models.scheduling import WorkOrder, WorkOrderDevice, WorkOrderStatus
from flowtrack.models.vendors import Vendor
from flowtrack.team import services as team


class VendorRefused(Exception):
    """A change the rules refuse; the message is shown to the office."""


def get_vendor(session: so.Session, vendor_id: uuid.UUID) -> Vendor | None:
    return session.get(Vendor, vendor_id)


def add_vendor(session: so.Session, *, name: str, contact_email: str | None, phone: str | None) -> Vendor:
    vendor = Vendor(name=name.strip(), contact_email=(contact_email or "").strip().lower() or None,
                    phone=(phone or "").strip() or None)
    try:
        with session.begin_nested():
            session.add(vendor)
            session.flush()
    except IntegrityError:
        raise VendorRefused(f"A vendor named {vendor.name} is already on the list.") from None
    audit.record(session, "vendor.added", entity_type="vendor", entity_id=vendor.id,
                 changes=audit.changes_between(None, {"name": vendor.name, "contact_email": vendor.contact_email,
                                                      "phone": vendor.phone}))
    return vendor


@dataclass
class VendorPerson:
    profile: Profile
    user: User


def people_of(session: so.Session, vendor_id: uuid.UUID) -> list[VendorPerson]:
    rows = session.execute(sa.select(Profile, User).join(User, User.id == Profile.user_id)
                           .where(Profile.vendor_id == vendor_id).order_by(Profile.full_name))
    return [VendorPerson(profile, user) for profile, user in rows]


def invite_person(session: so.Session, vendor: Vendor, *, email: str, full_name: str,
                  certification_number: str | None, certification_expires_on: dt.date | None,
                  invited_by: uuid.UUID, inviter_name: str, link_for: Callable[[str], str]) -> Profile:
    """One of the vendor's testers, invited to set a password; their certification is what their tests need."""
    try:
        return team.invite(session, email=email, full_name=full_name, role=Role.vendor.value, invited_by=invited_by,
                           inviter_name=inviter_name, link_for=link_for, vendor_id=vendor.id,
                           certification_number=(certification_number or "").strip() or None,
                           certification_expires_on=certification_expires_on)
    except team.TeamError as refused:
        raise VendorRefused(str(refused)) from None


def kits_of(session: so.Session, vendor_id: uuid.UUID) -> list[Gauge]:
    return list(session.scalars(sa.select(Gauge).where(Gauge.vendor_id == vendor_id).order_by(Gauge.serial)))


def assigned_work(session: so.Session, vendor_id: uuid.UUID) -> list[WorkOrder]:
    """The vendor's work orders, the unfinished first, each part oldest first."""
    finished = WorkOrder.status.in_([WorkOrderStatus.completed.value, WorkOrderStatus.canceled.value])
    return list(session.scalars(
        sa.select(WorkOrder).where(WorkOrder.vendor_id == vendor_id)
        .options(so.joinedload(WorkOrder.location).joinedload(CustomerLocation.district),
                 so.selectinload(WorkOrder.devices).joinedload(WorkOrderDevice.device))
        .order_by(finished, WorkOrder.created_at)))


def assigned_order(session: so.Session, vendor_id: uuid.UUID, order_id: uuid.UUID) -> WorkOrder | None:
    return session.scalar(
        sa.select(WorkOrder).where(WorkOrder.id == order_id, WorkOrder.vendor_id == vendor_id)
        .options(so.joinedload(WorkOrder.location).joinedload(CustomerLocation.district),
                 so.selectinload(WorkOrder.devices).joinedload(WorkOrderDevice.device)))


def tests_on_order(session: so.Session, order: WorkOrder) -> dict[uuid.UUID, TestRecord]:
    """Each assembly's latest test since the work order was made (a vendor's person sees only their vendor's)."""
    latest: dict[uuid.UUID, TestRecord] = {}
    for record in session.scalars(current_tests().where(
            TestRecord.device_id.in_([item.device_id for item in order.devices]),
            TestRecord.tested_at >= order.created_at).order_by(TestRecord.tested_at)):
        latest[record.device_id] = record
    return latest


def assign(session: so.Session, order: WorkOrder, vendor: Vendor | None) -> None:
    """Give the work order to a vendor, or take it back (None). Their people see it, or stop seeing it, at their
    next request: both the application and the database read the assignment every time."""
    lock_for_change(session, sa.select(WorkOrder).where(WorkOrder.id == order.id))
    session.refresh(order)
    if WorkOrderStatus(order.status).closed:
        raise VendorRefused(f"This work order is {WorkOrderStatus(order.status).label.lower()}: it can no longer "
                            "be given to a vendor or taken back.")
    before = session.get(Vendor, order.vendor_id) if order.vendor_id else None
    if (before.id if before else None) == (vendor.id if vendor else None):
        return
    order.vendor_id = vendor.id if vendor else None
    audit.record(session, "work_order.vendor_assigned" if vendor else "work_order.vendor_unassigned",
                 entity_type="work_order", entity_id=order.id,
                 changes={"vendor": [before.name if before else None, vendor.name if vendor else None]})
