"""Devices (backflow assemblies) at service locations, and the company's test kits. Plain functions on a session.

A device's next test due date is derived here, from its last passing test and
its district's rule (`due_dates.next_due`), whenever either changes; nobody
types it. Serials are unique per company: a taken serial is refused with a
message for the form, also when two people save the same serial at once.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.exc import IntegrityError

from flowtrack.audit import services as audit
from flowtrack.core.db import new_id
from flowtrack.core.paging import Page, paginate
from flowtrack.devices.due_dates import DueRule, next_due
from flowtrack.models.customers import Customer, CustomerLocation, Device, DeviceStatus, District, Gauge
from flowtrack.models.field_tests import DevicePhoto, TestRecord, visible_tests
from flowtrack.models.quotes import Quote
from flowtrack.models.scheduling import assigned_locations
from flowtrack.models.vendors import Vendor

DEVICE_FIELDS = ("device_type", "manufacturer", "model", "serial", "size", "where_installed", "hazard",
                 "cross_connection", "meter_number", "install_date", "last_test_on")
# Inches, as the assemblies are sold.
SIZES = ("1/4", "3/8", "1/2", "3/4", "1", "1-1/4", "1-1/2", "2", "2-1/2", "3", "4", "6", "8", "10", "12")
GAUGE_FIELDS = ("make", "model", "serial", "last_calibrated_on", "calibration_due_on", "vendor_id")
STATUSES = ("active", "removed", "replaced", "all")
PAGE_SIZE = 50
DUE_SOON_DAYS = 30
_TOP = chr(0x10FFFF)


class SerialTaken(Exception):
    def __init__(self, serial: str):
        super().__init__(f"Serial {serial} is already recorded for another device.")


class KitInUse(Exception):
    """A test kit that tests were recorded with cannot be deleted; the message says how many and what to do."""


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def normal_serial(text: str | None) -> str | None:
    """Serials compare without case or extra spaces: "ab 12" and "AB  12" are one device."""
    return " ".join(text.split()).upper() if text and text.strip() else None


def due_rule(district: District | None) -> DueRule:
    """A district's rule; a location without a district follows the common one (yearly, from the last test)."""
    if district is None:
        return DueRule()
    return DueRule(interval_months=district.test_interval_months, anchor=district.due_anchor,
                   fixed_month=district.fixed_due_month, fixed_day=district.fixed_due_day,
                   early_window_days=district.early_window_days, end_of_month=district.due_end_of_month)


def derived_next_due(device: Device, rule: DueRule) -> dt.date | None:
    """When an active device is next due: by the rule after its last passing test, on installation if never tested."""
    if device.status != DeviceStatus.active.value:
        return None
    if device.last_test_on is not None:
        return next_due(device.last_test_on, rule)
    return device.install_date


def snapshot(device: Device) -> dict[str, Any]:
    return {field: getattr(device, field) for field in
            (*DEVICE_FIELDS, "location_id", "status", "replaced_by_device_id", "next_test_due", "failed_on")}


def _location_rule(session: so.Session, location_id: uuid.UUID) -> DueRule:
    district = session.scalar(sa.select(District).join(CustomerLocation, CustomerLocation.district_id == District.id)
                              .where(CustomerLocation.id == location_id))
    return due_rule(district)


def _flush_serial(session: so.Session, device_or_gauge) -> None:
    """Flush, turning a unique-serial violation (someone saved the same serial just now) into SerialTaken."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        if "serial_key" not in str(error.orig):
            raise
        raise SerialTaken(device_or_gauge.serial) from None


def serial_taken(session: so.Session, model: type[Device] | type[Gauge], serial: str,
                 except_id: uuid.UUID | None = None) -> bool:
    query = sa.select(model.id).where(model.serial == normal_serial(serial))
    if except_id is not None:
        query = query.where(model.id != except_id)
    with session.no_autoflush:
        return session.scalar(query) is not None


def _apply(device: Device, values: dict[str, Any]) -> None:
    unknown = set(values) - set(DEVICE_FIELDS) - {"status", "failed_on"}
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    for field, value in values.items():
        setattr(device, field, _clean(value))
    device.serial = normal_serial(device.serial)


def new_device(location_id: uuid.UUID, rule: DueRule, **values: Any) -> Device:
    """An active device made from typed values, its due date derived by the rule, not yet saved."""
    device = Device(id=new_id(), location_id=location_id, status=DeviceStatus.active.value)
    _apply(device, values)
    device.next_test_due = derived_next_due(device, rule)
    return device


def create_device(session: so.Session, location: CustomerLocation, **values: Any) -> Device:
    if serial_taken(session, Device, values.get("serial")):
        raise SerialTaken(normal_serial(values.get("serial")))
    device = new_device(location.id, _location_rule(session, location.id), **values)
    session.add(device)
    _flush_serial(session, device)
    audit.record(session, "device.created", entity_type="device", entity_id=device.id,
                 changes=audit.changes_between(None, snapshot(device)))
    return device


def update_device(session: so.Session, device: Device, **values: Any) -> dict[str, Any]:
    """Change a device's facts (and active/removed status); its due date follows. Returns what changed."""
    if values.get("status") not in (None, DeviceStatus.active.value, DeviceStatus.removed.value):
        raise ValueError("a device is replaced with replace_device")
    if serial_taken(session, Device, values.get("serial") or device.serial, except_id=device.id):
        raise SerialTaken(normal_serial(values.get("serial")))
    before = snapshot(device)
    with session.no_autoflush:
        _apply(device, values)
        device.next_test_due = derived_next_due(device, _location_rule(session, device.location_id))
    changes = audit.changes_between(before, snapshot(device))
    if changes:
        _flush_serial(session, device)
        audit.record(session, "device.updated", entity_type="device", entity_id=device.id, changes=changes)
    return changes


def replace_device(session: so.Session, old: Device, **values: Any) -> Device:
    """Record the assembly that took an old one's place, at the same location; the old one stops falling due."""
    if old.status != DeviceStatus.active.value:
        raise ValueError("only an active device can be replaced")
    new = create_device(session, old.location, **values)
    before = snapshot(old)
    old.status = DeviceStatus.replaced.value
    old.replaced_by_device_id = new.id
    old.next_test_due = None
    session.flush()
    audit.record(session, "device.replaced", entity_type="device", entity_id=old.id,
                 changes=audit.changes_between(before, snapshot(old)))
    return new


def refresh_due_dates(session: so.Session, *, district_id: uuid.UUID | None = None,
                      location_id: uuid.UUID | None = None) -> int:
    """Derive again the due dates of the active devices in a district or at a location; returns how many moved."""
    query = (sa.select(Device, CustomerLocation.district_id)
             .join(CustomerLocation, CustomerLocation.id == Device.location_id)
             .where(Device.status == DeviceStatus.active.value))
    if district_id is not None:
        query = query.where(CustomerLocation.district_id == district_id)
    if location_id is not None:
        query = query.where(Device.location_id == location_id)
    rules: dict[uuid.UUID | None, DueRule] = {}
    moved = 0
    for device, device_district_id in session.execute(query):
        if device_district_id not in rules:
            rules[device_district_id] = due_rule(session.get(District, device_district_id) if device_district_id
                                                 else None)
        due = derived_next_due(device, rules[device_district_id])
        if due != device.next_test_due:
            device.next_test_due = due
            moved += 1
    session.flush()
    return moved


# --- reading --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceQuery:
    q: str | None = None
    status: str = "active"
    after: str | None = None

    def params(self, **changes) -> dict[str, str]:
        values = {"q": self.q, "status": self.status, "after": self.after, **changes}
        return {k: v for k, v in values.items() if v and not (k == "status" and v == "active")}


@dataclass
class DeviceRow:
    device: Device
    location: CustomerLocation
    customer_name: str


def _within_reach(statement: sa.Select, technician_user_id: uuid.UUID | None) -> sa.Select:
    """A technician's view of devices ends at the locations of the work booked for them (None: the office's)."""
    if technician_user_id is None:
        return statement
    return statement.where(Device.location_id.in_(assigned_locations(technician_user_id)))


def list_devices(session: so.Session, query: DeviceQuery, *, page_size: int = PAGE_SIZE,
                 technician_user_id: uuid.UUID | None = None) -> Page:
    """Devices by serial (the unique index's order), searched by the serial's beginning, a page at a time.

    The page's devices are chosen first, from the devices alone, and then joined to their places and customers:
    among thousands of companies the planner takes the company filter of each joined table as one more cut, expects
    a few dozen rows where a large company has 50,000, and would join them all and sort them (docs/performance.md,
    2026-12-07 evening)."""
    page = _within_reach(sa.select(Device.id), technician_user_id)
    if query.status in ("active", "removed", "replaced"):
        page = page.where(Device.status == query.status)
    prefix = normal_serial(query.q)
    if prefix:
        page = page.where(Device.serial >= prefix, Device.serial < prefix + _TOP)
    if query.after:
        page = page.where(Device.serial > query.after)
    chosen = page.order_by(Device.serial).limit(page_size + 1).subquery()
    rows = session.execute(sa.select(Device, CustomerLocation, Customer.name)
                           .join(chosen, chosen.c.id == Device.id)
                           .join(CustomerLocation, CustomerLocation.id == Device.location_id)
                           .join(Customer, Customer.id == CustomerLocation.customer_id)
                           .order_by(Device.serial)).all()
    return paginate([DeviceRow(*row) for row in rows], page_size, lambda row: row.device.serial)


def get_device(session: so.Session, device_id: uuid.UUID) -> Device | None:
    return session.get(Device, device_id)


def device_with_place(session: so.Session, device_id: uuid.UUID, *,
                      technician_user_id: uuid.UUID | None = None) -> Device | None:
    """A device with its location, the location's customer and district, and its replacement, in one statement;
    for a technician, only one within their reach."""
    return session.scalar(_within_reach(
        sa.select(Device).where(Device.id == device_id)
        .options(so.joinedload(Device.location).options(so.joinedload(CustomerLocation.customer),
                                                         so.joinedload(CustomerLocation.district)),
                 so.joinedload(Device.replaced_by)), technician_user_id))


def replaced_devices(session: so.Session, device_id: uuid.UUID) -> list[Device]:
    """The devices this one took the place of."""
    return list(session.scalars(sa.select(Device).where(Device.replaced_by_device_id == device_id)))


# --- gauges ---------------------------------------------------------------------------------------------

def gauge_state(gauge: Gauge, today: dt.date) -> str:
    """retired, expired (calibration due before today), due soon (within 30 days) or valid."""
    if not gauge.in_service_on(today):
        return "retired"
    if gauge.calibration_due_on < today:
        return "expired"
    if gauge.calibration_due_on <= today + dt.timedelta(days=DUE_SOON_DAYS):
        return "due soon"
    return "valid"


def gauge_snapshot(gauge: Gauge) -> dict[str, Any]:
    return {field: getattr(gauge, field) for field in GAUGE_FIELDS}


def vendors(session: so.Session) -> list[Vendor]:
    """The company's vendors by name: whom a kit may belong to, and a work order be subcontracted to (the vendors
    feature lists them from here too, since this package may not import it)."""
    return list(session.scalars(sa.select(Vendor).order_by(Vendor.name)))


def list_gauges(session: so.Session) -> list[Gauge]:
    """Every test kit, the first to need calibration first; retired kits last."""
    return list(session.scalars(sa.select(Gauge).order_by(Gauge.retired_on.is_not(None), Gauge.calibration_due_on,
                                                          Gauge.serial)))


def get_gauge(session: so.Session, gauge_id: uuid.UUID) -> Gauge | None:
    return session.get(Gauge, gauge_id)


def _apply_gauge(gauge: Gauge, values: dict[str, Any]) -> None:
    unknown = set(values) - set(GAUGE_FIELDS)
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    for field, value in values.items():
        setattr(gauge, field, _clean(value))
    gauge.serial = normal_serial(gauge.serial)
    if gauge.calibration_due_on < gauge.last_calibrated_on:
        raise ValueError("calibration cannot fall due before it was done")


def create_gauge(session: so.Session, **values: Any) -> Gauge:
    if serial_taken(session, Gauge, values.get("serial")):
        raise SerialTaken(normal_serial(values.get("serial")))
    gauge = Gauge()
    _apply_gauge(gauge, values)
    session.add(gauge)
    _flush_serial(session, gauge)
    audit.record(session, "gauge.created", entity_type="gauge", entity_id=gauge.id,
                 changes=audit.changes_between(None, gauge_snapshot(gauge)))
    return gauge


def update_gauge(session: so.Session, gauge: Gauge, **values: Any) -> dict[str, Any]:
    if serial_taken(session, Gauge, values.get("serial") or gauge.serial, except_id=gauge.id):
        raise SerialTaken(normal_serial(values.get("serial")))
    before = gauge_snapshot(gauge)
    with session.no_autoflush:
        _apply_gauge(gauge, values)
    changes = audit.changes_between(before, gauge_snapshot(gauge))
    if changes:
        _flush_serial(session, gauge)
        audit.record(session, "gauge.updated", entity_type="gauge", entity_id=gauge.id, changes=changes)
    return changes


def tests_with_gauge(session: so.Session, gauge: Gauge) -> int:
    """How many tests (amendments and their originals alike) were recorded with the kit."""
    return session.scalar(sa.select(sa.func.count()).select_from(TestRecord).where(TestRecord.gauge_id == gauge.id))


def _kit_in_use(gauge: Gauge, tests: int) -> KitInUse:
    recorded = f"{tests} tests were" if tests != 1 else "1 test was"
    return KitInUse(f"{recorded} recorded with test kit {gauge.serial}, so it stays on them and their reports. "
                    "Retire it instead: it is then no longer offered on the test form.")


def delete_gauge(session: so.Session, gauge: Gauge) -> None:
    """Remove a kit no test was recorded with (one added by mistake); KitInUse for any other."""
    tests = tests_with_gauge(session, gauge)
    if tests:
        raise _kit_in_use(gauge, tests)
    before = gauge_snapshot(gauge)
    try:
        with session.begin_nested():  # a test recorded with it meanwhile: refused the same way, not a 500
            session.delete(gauge)
            session.flush()
    except IntegrityError:
        raise _kit_in_use(gauge, tests_with_gauge(session, gauge)) from None
    audit.record(session, "gauge.deleted", entity_type="gauge", entity_id=gauge.id,
                 changes=audit.changes_between(before, None))


def retire_gauge(session: so.Session, gauge: Gauge, today: dt.date) -> bool:
    """Take a kit out of service from today: kept on the tests recorded with it, no longer offered for new ones.
    False when it was retired already."""
    if gauge.retired_on is not None:
        return False
    gauge.retired_on = today
    session.flush()
    audit.record(session, "gauge.retired", entity_type="gauge", entity_id=gauge.id,
                 changes={"serial": gauge.serial, **audit.changes_between({"retired_on": None},
                                                                          {"retired_on": today})})
    return True


def return_gauge_to_service(session: so.Session, gauge: Gauge) -> bool:
    """Undo a retirement (a kit back from repair, or retired by mistake). False when it was in service."""
    if gauge.retired_on is None:
        return False
    before, gauge.retired_on = gauge.retired_on, None
    session.flush()
    audit.record(session, "gauge.returned_to_service", entity_type="gauge", entity_id=gauge.id,
                 changes={"serial": gauge.serial, **audit.changes_between({"retired_on": before},
                                                                          {"retired_on": None})})
    return True


# --- a device's history, a location's devices -----------------------------------------------------------

def get_location(session: so.Session, location_id: uuid.UUID) -> CustomerLocation | None:
    return session.get(CustomerLocation, location_id)


def location_with_devices(session: so.Session, location_id: uuid.UUID, *,
                          technician_user_id: uuid.UUID | None = None) -> CustomerLocation | None:
    """A location with its customer, district and devices, in two statements; for a technician, only one where
    work is booked for them."""
    statement = (sa.select(CustomerLocation).where(CustomerLocation.id == location_id)
                 .options(so.joinedload(CustomerLocation.customer), so.joinedload(CustomerLocation.district),
                          so.selectinload(CustomerLocation.devices).joinedload(Device.replaced_by)))
    if technician_user_id is not None:
        statement = statement.where(CustomerLocation.id.in_(assigned_locations(technician_user_id)))
    return session.scalar(statement)


def device_tests(session: so.Session, device_id: uuid.UUID, technician_user_id: uuid.UUID | None,
                 limit: int = 20) -> list[TestRecord]:
    """A device's latest tests as they stand; a technician sees only their own."""
    return list(session.scalars(visible_tests(technician_user_id, current_only=True)
                                .where(TestRecord.device_id == device_id)
                                .order_by(TestRecord.tested_at.desc()).limit(limit)))


def device_quotes(session: so.Session, device_id: uuid.UUID) -> list[Quote]:
    """The quotes made for repairs of the device, the newest first."""
    return list(session.scalars(sa.select(Quote).where(Quote.device_id == device_id).order_by(Quote.number.desc())))


def device_photos(session: so.Session, device_id: uuid.UUID) -> list[DevicePhoto]:
    return list(session.scalars(sa.select(DevicePhoto).where(DevicePhoto.device_id == device_id)
                                .order_by(DevicePhoto.created_at.desc())))
