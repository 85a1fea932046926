"""Hints: what the rules (flowtrack/hints/rules.py) need, read in a few statements whatever the number of devices,
visits or jobs, and the hints dismissed for the company.

A page asks for the hints of what it shows (a `Scope`): a device's, a work order's, a service request's; the
dashboard and the hints page ask for the company's. Each kind shows to the roles that may act on it
(`KIND_PERMISSION`).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import insert

from flowtrack.audit import services as audit
from flowtrack.companies.services import company_timezone
from flowtrack.core import permissions as p
from flowtrack.core.cache import kept
from flowtrack.core.db import utcnow
from flowtrack.hints import rules
from flowtrack.hints.rules import Hint
from flowtrack.models.accounts import Profile
from flowtrack.models.customers import Customer, CustomerLocation, Device, DeviceStatus, DeviceVersion, Gauge
from flowtrack.models.field_tests import TestRecord
from flowtrack.models.hints import DismissedHint, HintKind, HintVersion
from flowtrack.models.invoicing import Invoice, InvoiceKind, InvoiceStatus
from flowtrack.models.quotes import Quote
from flowtrack.models.scheduling import ScheduledJob, ScheduleVersion, WorkOrder, WorkOrderDevice, WorkOrderStatus
from flowtrack.models.service_requests import RequestStatus, ServiceRequest

# Who sees each kind: whoever may act on it (quote a replacement, change a visit, rebook a job, chase the money).
KIND_PERMISSION = {
    HintKind.replace.value: p.DEVICES_VIEW,
    HintKind.visit.value: p.WORK_ORDERS_EDIT,
    HintKind.kit.value: p.GAUGES_VIEW,
    HintKind.certification.value: p.SCHEDULE_MANAGE,
    HintKind.overdue.value: p.INVOICES_VIEW,
}
# What a technician sees on their job's page: what helps there (devices due at the place, their own kit and
# certification); not the customer's money, nor other testers' results (a technician sees only their own tests).
FIELD_KINDS = frozenset({HintKind.visit.value, HintKind.kit.value, HintKind.certification.value})

BOOKED = (WorkOrderStatus.scheduled.value, WorkOrderStatus.in_progress.value)
UNFINISHED = (WorkOrderStatus.open.value, *BOOKED)
NEW_WORK = (WorkOrderStatus.open.value, WorkOrderStatus.scheduled.value)
OPEN_INVOICE = (InvoiceStatus.sent.value, InvoiceStatus.partially_paid.value)
KEY_SHAPE = re.compile(r"(replace|visit|kit|certification|overdue):[0-9a-f:-]{1,180}")


def kinds_for(role: str) -> frozenset[str]:
    return frozenset(kind for kind, needed in KIND_PERMISSION.items() if p.allowed(role, needed))


@dataclass(frozen=True)
class Scope:
    """What a page shows, and so which hints it asks for; `everything`: the company's (the other fields unused)."""
    everything: bool = False
    devices: frozenset[uuid.UUID] = frozenset()      # assemblies that keep failing, among these
    visits_at: frozenset[uuid.UUID] = frozenset()    # booked visits at these places
    work_orders: frozenset[uuid.UUID] = frozenset()  # these work orders' visit, jobs and customer
    requests: frozenset[uuid.UUID] = frozenset()     # these service requests' customer


COMPANY = Scope(everything=True)


@dataclass
class Found:
    shown: list[Hint] = field(default_factory=list)
    dismissed: list[Hint] = field(default_factory=list)
    shown_in_all: int | None = None  # when `shown` holds only the first few

    @property
    def count(self) -> int:
        return len(self.shown) if self.shown_in_all is None else self.shown_in_all


def _day(moment: dt.datetime, zone: dt.tzinfo) -> dt.date:
    return moment.astimezone(zone).date()


def _within(column, ids: frozenset[uuid.UUID], scope: Scope):
    return sa.true() if scope.everything else column.in_(ids)


# --- what the rules need ------------------------------------------------------------------------------------

def _replacements(session: so.Session, scope: Scope, zone: dt.tzinfo) -> list[Hint]:
    """Two statements: the devices with two failed tests or more (the partial index of failed tests finds them),
    then the last three current tests of each, with the day of its newest quote."""
    if not scope.everything and not scope.devices:
        return []
    failing = (sa.select(TestRecord.device_id).where(TestRecord.result == "fail",
                                                     _within(TestRecord.device_id, scope.devices, scope))
               .group_by(TestRecord.device_id).having(sa.func.count() >= rules.FAILS_IN_LAST_THREE))
    candidates = list(session.scalars(failing))
    if not candidates:
        return []
    newer = so.aliased(TestRecord)
    ranked = (sa.select(TestRecord.id, TestRecord.device_id, TestRecord.tested_at, TestRecord.result,
                        sa.func.row_number().over(partition_by=TestRecord.device_id,
                                                  order_by=(TestRecord.tested_at.desc(), TestRecord.id.desc()))
                        .label("rank"))
              .where(TestRecord.device_id.in_(candidates), ~sa.exists().where(newer.amends_id == TestRecord.id))
              .subquery())
    quoted = sa.select(sa.func.max(Quote.created_at)).where(Quote.device_id == Device.id).scalar_subquery()
    rows = session.execute(
        sa.select(ranked.c.id, ranked.c.device_id, ranked.c.tested_at, ranked.c.result, Device.location_id,
                  Device.device_type, Device.serial, quoted.label("quoted_at"))
        .join(Device, Device.id == ranked.c.device_id)
        .where(ranked.c.rank <= 3, Device.status == DeviceStatus.active.value)
        .order_by(ranked.c.device_id, ranked.c.rank)).all()
    by_device: dict[uuid.UUID, list] = defaultdict(list)
    for row in rows:
        by_device[row.device_id].append(row)
    hints = []
    for device_id, tests in by_device.items():
        first = tests[0]
        found = rules.replacement(rules.DeviceHistory(
            device_id, first.location_id, f"{first.device_type} {first.serial}",
            [rules.TestRow(t.id, _day(t.tested_at, zone), t.result) for t in tests],
            _day(first.quoted_at, zone) if first.quoted_at else None))
        if found:
            hints.append(found)
    return hints


@dataclass(frozen=True)
class _Booked:
    jobs: list[rules.JobRow]
    visits: list[rules.VisitRow]


def _booked(session: so.Session, scope: Scope, today: dt.date, zone: dt.tzinfo) -> _Booked:
    """The visits booked from today on and not yet done (of the scope's work orders and places)."""
    if not scope.everything and not (scope.work_orders or scope.visits_at):
        return _Booked([], [])
    condition = sa.true() if scope.everything else sa.or_(WorkOrder.id.in_(scope.work_orders),
                                                          WorkOrder.location_id.in_(scope.visits_at))
    rows = session.execute(
        sa.select(WorkOrder.id, WorkOrder.location_id, CustomerLocation.address_line1, ScheduledJob.technician_id,
                  ScheduledJob.starts_at)
        .join(ScheduledJob, ScheduledJob.work_order_id == WorkOrder.id)
        .join(CustomerLocation, CustomerLocation.id == WorkOrder.location_id)
        .where(WorkOrder.status.in_(BOOKED), ScheduledJob.starts_at >= dt.datetime.combine(today, dt.time(), zone),
               condition)
        .order_by(ScheduledJob.starts_at)).all()
    return _Booked([rules.JobRow(r.id, r.technician_id, r.address_line1, _day(r.starts_at, zone)) for r in rows],
                   [rules.VisitRow(r.id, r.location_id, r.address_line1, _day(r.starts_at, zone)) for r in rows])


def _visits(session: so.Session, booked: _Booked) -> list[Hint]:
    """One statement: the active devices at the visits' places due by 60 days after the last of them, on no work
    still to do (a visit's own devices are on it)."""
    if not booked.visits:
        return []
    on_work = (sa.select(WorkOrderDevice.id).join(WorkOrder, WorkOrder.id == WorkOrderDevice.work_order_id)
               .where(WorkOrderDevice.device_id == Device.id, WorkOrder.status.in_(UNFINISHED)))
    last = max(visit.day for visit in booked.visits)
    due = [rules.DueRow(row.id, row.location_id, f"{row.device_type} {row.serial}", row.next_test_due)
           for row in session.execute(
               sa.select(Device.id, Device.location_id, Device.device_type, Device.serial, Device.next_test_due)
               .where(Device.location_id.in_({visit.location_id for visit in booked.visits}),
                      Device.status == DeviceStatus.active.value, Device.next_test_due.is_not(None),
                      Device.next_test_due <= last + rules.VISIT_HORIZON, ~sa.exists(on_work)))]
    if not due:
        return []
    return [hint for hint in (rules.devices_for_the_visit(visit, due) for visit in booked.visits) if hint]


def _readiness(session: so.Session, booked: _Booked) -> list[Hint]:
    """One statement: the booked technicians, their certification and the kit of their latest test."""
    if not booked.jobs:
        return []
    last_kit = (sa.select(TestRecord.gauge_id).where(TestRecord.technician_id == Profile.user_id,
                                                     TestRecord.gauge_id.is_not(None))
                .order_by(TestRecord.tested_at.desc()).limit(1).correlate(Profile).scalar_subquery())
    rows = session.execute(
        sa.select(Profile.user_id, Profile.full_name, Profile.certification_expires_on, Gauge.id.label("kit_id"),
                  Gauge.make, Gauge.serial, Gauge.calibration_due_on)
        .outerjoin(Gauge, sa.and_(Gauge.id == last_kit, Gauge.retired_on.is_(None)))
        .where(Profile.user_id.in_({job.technician_id for job in booked.jobs}))).all()
    hints = []
    for row in rows:
        kit = rules.KitRow(row.kit_id, f"{row.make} {row.serial}", row.calibration_due_on) if row.kit_id else None
        hints += rules.readiness(rules.TechnicianRow(row.user_id, row.full_name, row.certification_expires_on, kit),
                                 booked.jobs)
    return hints


def _old_debts(session: so.Session, scope: Scope, today: dt.date, zone: dt.tzinfo) -> list[Hint]:
    """The invoices 60 days past due (one statement, by the invoices' status index), then, only if some are, the
    open service requests and the work orders not yet started of those customers."""
    if not scope.everything and not (scope.work_orders or scope.requests):
        return []
    invoices = [rules.OverdueRow(*row) for row in session.execute(
        sa.select(Invoice.id, Invoice.number, Invoice.customer_id, Invoice.total_cents - Invoice.paid_cents,
                  Invoice.due_on)
        .where(Invoice.status.in_(OPEN_INVOICE), Invoice.kind == InvoiceKind.invoice.value,
               Invoice.due_on <= today - dt.timedelta(days=rules.OVERDUE_DAYS), Invoice.customer_id.is_not(None),
               Invoice.total_cents > Invoice.paid_cents))]
    if not invoices:
        return []
    customers = {row.customer_id for row in invoices}
    asks = []
    if scope.everything or scope.requests:
        asks += [rules.AskRow("request", row.id, row.customer_id, row.name, _day(row.created_at, zone))
                 for row in session.execute(
                     sa.select(ServiceRequest.id, ServiceRequest.customer_id, Customer.name, ServiceRequest.created_at)
                     .join(Customer, Customer.id == ServiceRequest.customer_id)
                     .where(ServiceRequest.status == RequestStatus.open.value,
                            ServiceRequest.customer_id.in_(customers),
                            _within(ServiceRequest.id, scope.requests, scope)))]
    if scope.everything or scope.work_orders:
        asks += [rules.AskRow("work_order", row.id, row.customer_id, row.name, _day(row.created_at, zone))
                 for row in session.execute(
                     sa.select(WorkOrder.id, WorkOrder.customer_id, Customer.name, WorkOrder.created_at)
                     .join(Customer, Customer.id == WorkOrder.customer_id)
                     .where(WorkOrder.status.in_(NEW_WORK), WorkOrder.customer_id.in_(customers),
                            _within(WorkOrder.id, scope.work_orders, scope)))]
    by_customer: dict[uuid.UUID, list[rules.AskRow]] = defaultdict(list)
    for ask in asks:
        by_customer[ask.customer_id].append(ask)
    owed: dict[uuid.UUID, list[rules.OverdueRow]] = defaultdict(list)
    for invoice in invoices:
        owed[invoice.customer_id].append(invoice)
    return [hint for hint in (rules.old_debt(own, owed[customer], today) for customer, own in by_customer.items())
            if hint]


# --- the hints of a page ----------------------------------------------------------------------------------------

def find(session: so.Session, kinds: Iterable[str], today: dt.date, scope: Scope = COMPANY, *,
         first: int | None = None) -> Found:
    """The hints of these kinds within the scope, first the most pressing (upcoming jobs, soonest first; then the
    newest), split into those shown (only the `first` few, if told, and how many in all) and those the company
    dismissed."""
    kinds = frozenset(kinds)
    if scope.everything:  # kept as plain fields: only the hints used are made (a large company has hundreds)
        fields = _company_hints(session, kinds, today)
        keys, build = [one["key"] for one in fields], _hint_from
    else:
        fields = _read(session, kinds, today, scope)
        keys, build = [hint.key for hint in fields], lambda hint: hint
    dismissed = set(session.scalars(sa.select(DismissedHint.key).where(DismissedHint.key.in_(keys)))) if keys \
        else set()
    shown = [one for one, key in zip(fields, keys, strict=True) if key not in dismissed]
    return Found([build(one) for one in shown[:first]],
                 [build(one) for one, key in zip(fields, keys, strict=True) if key in dismissed], len(shown))


def _read(session: so.Session, kinds: frozenset[str], today: dt.date, scope: Scope) -> list[Hint]:
    zone = company_timezone(session)
    hints: list[Hint] = []
    if HintKind.replace.value in kinds:
        hints += _replacements(session, scope, zone)
    if kinds & {HintKind.visit.value, HintKind.kit.value, HintKind.certification.value}:
        booked = _booked(session, scope, today, zone)
        if HintKind.visit.value in kinds:
            hints += _visits(session, booked)
        hints += [hint for hint in _readiness(session, booked) if hint.kind in kinds]
    if HintKind.overdue.value in kinds:
        hints += _old_debts(session, scope, today, zone)
    hints.sort(key=lambda hint: (hint.rank, hint.kind, hint.key))
    return hints


def _company_hints(session: so.Session, kinds: frozenset[str], today: dt.date) -> list[dict]:
    """The company's hints, kept in Redis under what they are read from: its day and the counters that database
    triggers move when its devices, its work orders and jobs, or its tests, quotes, invoices, service requests,
    people and kits change (migrations 0021, 0022, 0048). Reading them anew is nine statements over the company's
    tests, visits, devices and debts: 100 ms of the database's time in the large benchmark company."""
    versions = session.execute(sa.select(sa.select(DeviceVersion.version).scalar_subquery(),
                                         sa.select(ScheduleVersion.version).scalar_subquery(),
                                         sa.select(HintVersion.version).scalar_subquery())).one()
    key = (f"flowtrack:hints:{session.info['company_id']}:{today.isoformat()}:{'.'.join(sorted(kinds))}:"
           f"{':'.join(str(version or 0) for version in versions)}")
    return json.loads(kept(key, lambda: json.dumps([_fields_of(hint) for hint in _read(session, kinds, today,
                                                                                       COMPANY)])))


_HINT_FIELDS = {field.name: field.type for field in dataclasses.fields(Hint)}


def _fields_of(hint: Hint) -> dict:
    return {name: value.isoformat() if isinstance(value, dt.date) else
            [str(item) for item in value] if isinstance(value, tuple) else
            str(value) if isinstance(value, uuid.UUID) else value
            for name, value in dataclasses.asdict(hint).items()}


def _hint_from(fields: dict) -> Hint:
    def typed(name: str, value):
        kind = _HINT_FIELDS[name]
        if value is None or kind in ("str", "bool"):
            return value
        if kind == "dt.date":
            return dt.date.fromisoformat(value)
        if kind.startswith("tuple"):
            return tuple(uuid.UUID(item) for item in value)
        return uuid.UUID(value)

    return Hint(**{name: typed(name, value) for name, value in fields.items()})


def of_device(found: Found, device_id: uuid.UUID) -> Found:
    """A device's page: its own hint, and a visit's that it would join."""
    def about(hint: Hint) -> bool:
        return hint.device_id == device_id or device_id in hint.device_ids
    return Found([h for h in found.shown if about(h)], [h for h in found.dismissed if about(h)])


def of_request(found: Found, request_id: uuid.UUID, device_ids: Iterable[uuid.UUID]) -> Found:
    """A service request's page: its customer's old debt, and the hints of the assemblies it names."""
    devices = set(device_ids)

    def about(hint: Hint) -> bool:
        return request_id in hint.request_ids or hint.device_id in devices
    return Found([h for h in found.shown if about(h)], [h for h in found.dismissed if about(h)])


def of_work_order(found: Found, work_order_id: uuid.UUID, device_ids: Iterable[uuid.UUID]) -> Found:
    """A work order's page (or its job's): its visit's, its job's, its customer's, and its devices' hints."""
    devices = set(device_ids)

    def about(hint: Hint) -> bool:
        return (hint.work_order_id == work_order_id or work_order_id in hint.work_order_ids
                or hint.device_id in devices)
    return Found([h for h in found.shown if about(h)], [h for h in found.dismissed if about(h)])


# --- dismissing -------------------------------------------------------------------------------------------------

class NotAHint(ValueError):
    """A key no hint has, or of a kind the person does not see."""


def kind_of(key: str, role: str) -> str:
    if not KEY_SHAPE.fullmatch(key):
        raise NotAHint(key)
    kind = key.split(":", 1)[0]
    if kind not in kinds_for(role):
        raise NotAHint(key)
    return kind


def dismiss(session: so.Session, key: str, role: str, user_id: uuid.UUID) -> bool:
    """Dismiss a hint for the whole company, until its facts change (its key with them); False if it was already."""
    kind = kind_of(key, role)
    inserted = session.scalar(
        insert(DismissedHint)
        .values(id=uuid.uuid4(), company_id=session.info["company_id"], key=key, kind=kind, dismissed_by=user_id,
                dismissed_at=utcnow())
        .on_conflict_do_nothing(constraint="dismissed_hints_company_key").returning(DismissedHint.id))
    if inserted is not None:
        audit.record(session, "hint.dismissed", entity_type="hint", changes={"key": key, "kind": kind})
    return inserted is not None


def restore(session: so.Session, key: str, role: str) -> bool:
    """Show a dismissed hint again; False if it was not dismissed."""
    kind = kind_of(key, role)
    removed = session.scalar(sa.delete(DismissedHint).where(
        DismissedHint.company_id == session.info["company_id"], DismissedHint.key == key).returning(DismissedHint.id))
    if removed is not None:
        audit.record(session, "hint.restored", entity_type="hint", changes={"key": key, "kind": kind})
    return removed is not None
