"""Work orders: what to do at one service location, which devices, what came of each, and what to bill.

A work order moves open -> scheduled (booked on the board) -> in progress (the technician started) ->
completed; any of the first three may be canceled. Completed and canceled are final. Every change is audited.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from itertools import groupby
from typing import Sequence

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.core import paging
from flowtrack.core.db import lock_for_change, utcnow
from flowtrack.core.paging import Page, paginate
from flowtrack.models.customers import CustomerLocation, Device, DeviceStatus
from flowtrack.models.field_tests import TestRecord
from flowtrack.models.inventory import Part
from flowtrack.models.invoicing import Invoice, InvoiceStatus
from flowtrack.models.quotes import Quote
from flowtrack.models.scheduling import (
    DeviceOutcome,
    LineKind,
    NotTestedReason,
    ScheduledJob,
    WorkKind,
    WorkOrder,
    WorkOrderDevice,
    WorkOrderLine,
    WorkOrderStatus,
    vendor_of,
)
from flowtrack.work_orders.pricing import PriceBook, device_test_line, part_line, repair_line, trip_line

PAGE_SIZE = 50
# Work orders still to be done: a device on one of these is not put on another.
UNFINISHED = (WorkOrderStatus.open.value, WorkOrderStatus.scheduled.value, WorkOrderStatus.in_progress.value)


class WorkRefused(Exception):
    """A change the work order's state does not allow; the message says why, for the person who asked."""


def _load_options() -> tuple:
    return (so.joinedload(WorkOrder.location).joinedload(CustomerLocation.district),
            so.joinedload(WorkOrder.customer),
            so.selectinload(WorkOrder.devices).joinedload(WorkOrderDevice.device),
            so.selectinload(WorkOrder.lines), so.joinedload(WorkOrder.job))


def get_work_order(session: so.Session, work_order_id: uuid.UUID, *,
                   technician_user_id: uuid.UUID | None = None, for_update: bool = False) -> WorkOrder | None:
    """A work order with its place, devices, lines and booking; a technician gets only one booked for them.
    `for_update` locks it first, for a request that changes it (`lock_for_change`)."""
    statement = sa.select(WorkOrder).where(WorkOrder.id == work_order_id).options(*_load_options())
    if for_update:
        lock_for_change(session, sa.select(WorkOrder.id).where(WorkOrder.id == work_order_id))
        statement = statement.execution_options(populate_existing=True)
    if technician_user_id is not None:
        statement = statement.join(ScheduledJob, ScheduledJob.work_order_id == WorkOrder.id).where(
            ScheduledJob.technician_id == technician_user_id)
    return session.scalar(statement)


def list_work_orders(session: so.Session, *, status: str | None = None, customer_id: uuid.UUID | None = None,
                     after: str | None = None, page_size: int = PAGE_SIZE) -> Page:
    """Newest first, a page at a time after the last row shown (keyset on created_at, id)."""
    statement = (sa.select(WorkOrder).options(so.joinedload(WorkOrder.location), so.joinedload(WorkOrder.customer),
                                              so.joinedload(WorkOrder.job))
                 .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(page_size + 1))
    if status:
        statement = statement.where(WorkOrder.status == status)
    if customer_id:
        statement = statement.where(WorkOrder.customer_id == customer_id)
    position = paging.position(after, dt.datetime.fromisoformat)
    if position:
        statement = statement.where(sa.tuple_(WorkOrder.created_at, WorkOrder.id) < position)
    rows = list(session.scalars(statement).unique())
    return paginate(rows, page_size, lambda order: paging.cursor(order.created_at, order.id))


def _snapshot(order: WorkOrder) -> dict:
    return {"location": order.location_id, "customer": order.customer_id, "kind": order.kind,
            "status": order.status, "notes": order.notes}


def unfinished_work_of(session: so.Session, device_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Device id -> the unfinished work order it is on, for those of the devices that are on one."""
    return dict(session.execute(
        sa.select(WorkOrderDevice.device_id, WorkOrder.id)
        .join(WorkOrder, WorkOrder.id == WorkOrderDevice.work_order_id)
        .where(WorkOrderDevice.device_id.in_(device_ids), WorkOrder.status.in_(UNFINISHED))).all())


def devices_on_unfinished_work(session: so.Session, device_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    return set(unfinished_work_of(session, device_ids))


def create_work_order(session: so.Session, location: CustomerLocation, device_ids: list[uuid.UUID], *,
                      created_by: uuid.UUID | None, kind: str = WorkKind.test.value,
                      notes: str | None = None, lines: Sequence[WorkOrderLine] | None = None) -> WorkOrder:
    """A work order at one location for some of its active devices (testing needs at least one), priced from the
    price list, or with `lines` given instead (an approved quote's: exactly what the customer agreed to).

    The devices are locked first, so two people planning the same device at once queue up, and the second
    finds it taken."""
    devices = list(session.scalars(sa.select(Device).where(
        Device.id.in_(device_ids), Device.location_id == location.id, Device.status == DeviceStatus.active.value)
        .order_by(Device.serial).with_for_update()))
    if len(devices) != len(set(device_ids)):
        raise WorkRefused("Choose devices in service at this location.")
    if kind == WorkKind.test.value and not devices:
        raise WorkRefused("Choose at least one device to test.")
    busy = devices_on_unfinished_work(session, [d.id for d in devices])
    if busy:
        serials = ", ".join(d.serial for d in devices if d.id in busy)
        raise WorkRefused(f"Already on an unfinished work order: {serials}.")
    order = WorkOrder(id=uuid.uuid4(), customer_id=location.customer_id, location_id=location.id, kind=kind,
                      status=WorkOrderStatus.open.value, notes=(notes or "").strip() or None, created_by=created_by)
    session.add(order)
    session.add_all(WorkOrderDevice(work_order_id=order.id, device_id=device.id, position=index,
                                    outcome=DeviceOutcome.pending.value) for index, device in enumerate(devices))
    if lines is None:
        book = PriceBook.of(session)
        trip = trip_line(book)
        lines = [*(device_test_line(book, device) for device in devices), *([trip] if trip else [])]
    order.lines.extend(lines)
    session.flush()
    audit.record(session, "work_order.created", entity_type="work_order", entity_id=order.id,
                 changes=audit.changes_between(None, {**_snapshot(order), "devices": [d.serial for d in devices],
                                                      "lines": [_line_snapshot(line) for line in order.lines]}))
    return order


@dataclass
class BulkResult:
    created: list[WorkOrder]
    skipped_serials: list[str]


def work_orders_for_devices(session: so.Session, device_ids: list[uuid.UUID], *, created_by: uuid.UUID | None,
                            kind: str = WorkKind.test.value) -> BulkResult:
    """From the due list (tests) or the failed devices (repairs and retests): one work order per location for the
    chosen devices, leaving out those already on unfinished work (so a double click or a second office worker
    does not plan a device twice)."""
    devices = list(session.scalars(sa.select(Device).where(Device.id.in_(device_ids),
                                                           Device.status == DeviceStatus.active.value)
                                   .order_by(Device.location_id, Device.serial)))
    busy = devices_on_unfinished_work(session, [d.id for d in devices])
    created = []
    for location_id, group in groupby((d for d in devices if d.id not in busy), key=lambda d: d.location_id):
        location = session.get(CustomerLocation, location_id)
        created.append(create_work_order(session, location, [d.id for d in group], created_by=created_by,
                                         kind=kind))
    return BulkResult(created, sorted(d.serial for d in devices if d.id in busy))


def add_devices(session: so.Session, order: WorkOrder, device_ids: list[uuid.UUID]) -> list[Device]:
    """More devices of the work order's place on it while it is still to do (the hint "devices due at a booked
    visit"), each with its test fee from the price list. The devices are locked first, as when a work order is
    made, so two people adding the same device at once queue up and the second finds it taken."""
    if WorkOrderStatus(order.status).closed:
        raise WorkRefused(f"This work order is {WorkOrderStatus(order.status).label.lower()}; no device can be "
                          f"added.")
    devices = list(session.scalars(sa.select(Device).where(
        Device.id.in_(device_ids), Device.location_id == order.location_id,
        Device.status == DeviceStatus.active.value).order_by(Device.serial).with_for_update()))
    if not devices or len(devices) != len(set(device_ids)):
        raise WorkRefused("Choose devices in service at this work order's place.")
    busy = devices_on_unfinished_work(session, [d.id for d in devices])
    if busy:
        serials = ", ".join(d.serial for d in devices if d.id in busy)
        raise WorkRefused(f"Already on an unfinished work order: {serials}.")
    book, first = PriceBook.of(session), len(order.devices)
    session.add_all(WorkOrderDevice(work_order_id=order.id, device_id=device.id, position=first + index,
                                    outcome=DeviceOutcome.pending.value) for index, device in enumerate(devices))
    lines = [device_test_line(book, device) for device in devices]  # added for their test that falls due
    order.lines.extend(lines)
    session.flush()
    audit.record(session, "work_order.devices_added", entity_type="work_order", entity_id=order.id,
                 changes={"devices": [d.serial for d in devices], "lines": [_line_snapshot(line) for line in lines]})
    session.expire(order, ["devices"])
    return devices


def change_status(session: so.Session, order: WorkOrder, status: WorkOrderStatus) -> None:
    """Move a work order along; refuses moves out of a final state, and completing with devices left to do."""
    current = WorkOrderStatus(order.status)
    if current.closed:
        raise WorkRefused(f"This work order is {current.label.lower()}; it cannot change any more.")
    if status == WorkOrderStatus.completed:
        pending = [item.device.serial for item in order.devices if item.outcome == DeviceOutcome.pending.value]
        if pending:
            raise WorkRefused("Test each device or mark it could not be tested before completing: "
                              + ", ".join(pending) + ".")
    before = order.status
    order.status = status.value
    if status.closed:
        order.closed_at = utcnow()
    audit.record(session, "work_order.status_changed", entity_type="work_order", entity_id=order.id,
                 changes=audit.changes_between({"status": before}, {"status": order.status}))


def start(session: so.Session, order: WorkOrder, *, by_test: bool = False) -> None:
    """The technician is on site: the booked job is under way (also when its first test is recorded before
    anyone pressed Start)."""
    change_status(session, order, WorkOrderStatus.in_progress)
    order.job.started_at = utcnow()
    audit.record(session, "job.started", entity_type="scheduled_job", entity_id=order.job.id,
                 changes={"started_by": "the first test recorded"} if by_test else None)


def job_of_test(session: so.Session, test_id: uuid.UUID) -> ScheduledJob | None:
    """The booked job on which this test settled a device, if any."""
    return session.scalar(sa.select(ScheduledJob)
                          .join(WorkOrderDevice, WorkOrderDevice.work_order_id == ScheduledJob.work_order_id)
                          .where(WorkOrderDevice.test_record_id == test_id))


def cancel(session: so.Session, order: WorkOrder) -> None:
    """Cancel; a booking it had leaves the board with it."""
    change_status(session, order, WorkOrderStatus.canceled)
    if order.job is not None:
        audit.record(session, "job.unbooked", entity_type="scheduled_job", entity_id=order.job.id,
                     changes={"work_order": str(order.id), "technician": str(order.job.technician_id)})
        session.delete(order.job)
    session.flush()


def mark_not_tested(session: so.Session, item: WorkOrderDevice, reason: NotTestedReason) -> None:
    """The technician could not test a device: it is settled that way, and its test fee leaves the bill."""
    order = item.work_order
    if WorkOrderStatus(order.status).closed:
        raise WorkRefused("This work order is closed; its devices cannot change.")
    if item.outcome == DeviceOutcome.tested.value:
        raise WorkRefused("This device has a test recorded on this work order.")
    before = {"outcome": item.outcome, "reason": item.reason}
    item.outcome, item.reason = DeviceOutcome.could_not_test.value, reason.value
    fees = [line for line in order.lines if line.kind == LineKind.test.value and line.device_id == item.device_id]
    for line in fees:
        order.lines.remove(line)
        session.delete(line)
    audit.record(session, "work_order.device_not_tested", entity_type="work_order", entity_id=item.work_order_id,
                 changes={"device": item.device.serial,
                          **audit.changes_between(before, {"outcome": item.outcome, "reason": item.reason}),
                          "lines_removed": [_line_snapshot(line) for line in fees]})


def note_test(session: so.Session, record: TestRecord, parts: Sequence[tuple[Part, int]] = ()) -> WorkOrder | None:
    """A submitted test settles its device on the technician's unfinished work order, or on one assigned to the
    tester's vendor, if it is on one (which it returns): its repairs and the parts fitted (`parts`: each with how
    many) become lines."""
    unfinished = (sa.select(WorkOrderDevice).join(WorkOrder, WorkOrder.id == WorkOrderDevice.work_order_id)
                  .where(WorkOrderDevice.device_id == record.device_id, WorkOrder.status.in_(UNFINISHED)))
    vendor_id = session.scalar(vendor_of(record.technician_id))
    item = session.scalar(
        unfinished.where(WorkOrder.vendor_id == vendor_id).order_by(WorkOrder.created_at).limit(1)
        if vendor_id is not None else
        unfinished.join(ScheduledJob, ScheduledJob.work_order_id == WorkOrder.id)
        .where(ScheduledJob.technician_id == record.technician_id).order_by(ScheduledJob.starts_at).limit(1))
    if item is None:
        return None
    order, book = item.work_order, PriceBook.of(session)
    if order.status == WorkOrderStatus.scheduled.value:
        start(session, order, by_test=True)
    added = [repair_line(book, record.device, repair) for repair in record.repairs]
    added += [part_line(part, record.device, quantity) for part, quantity in parts]
    if item.outcome == DeviceOutcome.could_not_test.value:  # its fee left the bill then; the test brings it back
        added.insert(0, device_test_line(book, record.device))
    item.outcome, item.reason, item.test_record_id = DeviceOutcome.tested.value, None, record.id
    order.lines.extend(added)
    if added:
        session.flush()
        audit.record(session, "work_order.lines_added", entity_type="work_order", entity_id=order.id,
                     changes={"test": str(record.id), "lines": [_line_snapshot(line) for line in added]})
    return order


def _line_snapshot(line: WorkOrderLine) -> dict:
    return {"kind": line.kind, "description": line.description, "quantity": line.quantity,
            "unit_price_cents": line.unit_price_cents, "taxable": line.taxable,
            **({"price_missing": True} if line.price_missing else {})}


def invoice_of(session: so.Session, order: WorkOrder) -> Invoice | None:
    """The invoice made from this work order (a voided one no longer counts)."""
    return session.scalar(sa.select(Invoice).where(Invoice.work_order_id == order.id,
                                                   Invoice.status != InvoiceStatus.void.value))


def quote_of(session: so.Session, order: WorkOrder) -> Quote | None:
    """The quote the customer approved that this work order was made of, if it was."""
    return session.scalar(sa.select(Quote).where(Quote.work_order_id == order.id))


def _refuse_line_changes(session: so.Session, order: WorkOrder) -> None:
    """Lines change until the work is invoiced (a completed visit still gets its missing prices), never on a
    canceled work order."""
    if order.status == WorkOrderStatus.canceled.value:
        raise WorkRefused("Price lines of a canceled work order cannot change.")
    invoice = invoice_of(session, order)
    if invoice is not None:
        raise WorkRefused(f"This work order is on {invoice.label}; change the invoice instead.")


def add_line(session: so.Session, order: WorkOrder, *, description: str, quantity: int,
             unit_price_cents: int, taxable: bool = True) -> WorkOrderLine:
    _refuse_line_changes(session, order)
    line = WorkOrderLine(work_order_id=order.id, kind=LineKind.other.value, description=description.strip(),
                         quantity=quantity, unit_price_cents=unit_price_cents, taxable=taxable)
    order.lines.append(line)
    session.flush()
    audit.record(session, "work_order.line_added", entity_type="work_order", entity_id=order.id,
                 changes=_line_snapshot(line))
    return line


def set_line_price(session: so.Session, order: WorkOrder, line_id: uuid.UUID, unit_price_cents: int) -> None:
    """The office's price for a line (a missing one, or a changed one); $0.00 set here is a deliberate no charge."""
    line = _line_of(order, line_id)
    _refuse_line_changes(session, order)
    before = _line_snapshot(line)
    line.unit_price_cents, line.price_missing = unit_price_cents, False
    session.flush()
    audit.record(session, "work_order.line_priced", entity_type="work_order", entity_id=order.id,
                 changes=audit.changes_between(before, _line_snapshot(line)))


def _line_of(order: WorkOrder, line_id: uuid.UUID) -> WorkOrderLine:
    line = next((line for line in order.lines if line.id == line_id), None)
    if line is None:
        raise LookupError(line_id)
    return line


def remove_line(session: so.Session, order: WorkOrder, line_id: uuid.UUID) -> None:
    line = _line_of(order, line_id)
    _refuse_line_changes(session, order)
    audit.record(session, "work_order.line_removed", entity_type="work_order", entity_id=order.id,
                 changes=_line_snapshot(line))
    order.lines.remove(line)
    session.delete(line)
    session.flush()
