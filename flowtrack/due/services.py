"""The "Due and overdue" list: active devices whose next test falls due within a window, for planning work.

Rows come in due-date order along the (company_id, next_test_due, id) index, a page at a time after the last
row shown (keyset), so a page costs the same at 50 devices or 50,000. The CSV export streams the same rows
without pages. A device's due date is derived (see devices.services.derived_next_due); this list only reads it.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Iterator

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core import paging
from flowtrack.core.csv_text import csv_chunks
from flowtrack.core.paging import Page, paginate
from flowtrack.models.customers import Customer, CustomerLocation, Device, DeviceStatus, District
from flowtrack.models.scheduling import WorkOrder, WorkOrderDevice
from flowtrack.work_orders.services import UNFINISHED

# Overdue devices are in every window: they need a visit first.
WINDOWS = {"overdue": "Overdue only", "month": "Overdue or due this month",
           "30": "Overdue or due within 30 days", "60": "Overdue or due within 60 days",
           "90": "Overdue or due within 90 days"}
DEFAULT_WINDOW = "30"
NO_DISTRICT = "none"
PAGE_SIZE = 50
CSV_HEADER = ("serial", "type", "size", "manufacturer", "model", "customer", "location", "district",
              "last_passing_test", "next_test_due", "days_overdue")


def month_end(day: dt.date) -> dt.date:
    """The last day of the day's month."""
    first_of_next = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return first_of_next - dt.timedelta(days=1)


@dataclass(frozen=True)
class DueQuery:
    """Which devices the list shows: a window, optionally one district (or none) and one customer, only those not
    yet booked, after a row."""

    window: str = DEFAULT_WINDOW
    district: str | None = None
    customer: uuid.UUID | None = None
    unbooked: bool = False
    after: str | None = None

    def params(self, **changes) -> dict[str, str]:
        """The query string of this list (without defaults), for links, pushed URLs and the CSV link."""
        values = {"window": self.window, "district": self.district, "customer": self.customer,
                  "unbooked": "y" if self.unbooked else None, "after": self.after, **changes}
        return {k: str(v) for k, v in values.items() if v and not (k == "window" and v == DEFAULT_WINDOW)}


@dataclass
class DueRow:
    device: Device
    location: CustomerLocation
    customer_name: str
    district_name: str | None
    booked: bool  # already on an unfinished work order: planned, not to be planned again

    def days_overdue(self, today: dt.date) -> int:
        """Days past the due date; 0 or less when not yet due."""
        return (today - self.device.next_test_due).days




def _booked() -> sa.Exists:
    return sa.exists().where(WorkOrderDevice.device_id == Device.id, WorkOrder.id == WorkOrderDevice.work_order_id,
                             WorkOrder.status.in_(UNFINISHED))


def _devices() -> sa.Select:
    """Active devices with their place, customer, district, and whether they are on unfinished work."""
    return (sa.select(Device, CustomerLocation, Customer.name, District.name, _booked())
            .join(CustomerLocation, CustomerLocation.id == Device.location_id)
            .join(Customer, Customer.id == CustomerLocation.customer_id)
            .outerjoin(District, District.id == CustomerLocation.district_id)
            .where(Device.status == DeviceStatus.active.value))


def _chosen(query: DueQuery, today: dt.date) -> list:
    """The query's conditions, on the devices alone (a place's district or customer by the devices' place)."""
    window = query.window if query.window in WINDOWS else DEFAULT_WINDOW
    if window == "overdue":
        conditions = [Device.next_test_due < today]
    elif window == "month":
        conditions = [Device.next_test_due <= month_end(today)]
    else:
        conditions = [Device.next_test_due <= today + dt.timedelta(days=int(window))]
    if query.district == NO_DISTRICT:
        conditions.append(Device.location_id.in_(sa.select(CustomerLocation.id)
                                                 .where(CustomerLocation.district_id.is_(None))))
    elif query.district:
        conditions.append(Device.location_id.in_(sa.select(CustomerLocation.id).where(
            CustomerLocation.district_id == uuid.UUID(query.district))))
    if query.customer:
        conditions.append(Device.location_id.in_(sa.select(CustomerLocation.id)
                                                 .where(CustomerLocation.customer_id == query.customer)))
    if query.unbooked:
        conditions.append(~_booked())
    return conditions


def _statement(query: DueQuery, today: dt.date) -> sa.Select:
    return _devices().where(*_chosen(query, today)).order_by(Device.next_test_due, Device.id)


def due_page(session: so.Session, query: DueQuery, today: dt.date, *, page_size: int = PAGE_SIZE) -> Page:
    """One page of due devices, the longest overdue first, starting after `query.after`.

    The page's devices are chosen first, from the devices alone, then joined to their places, customers and
    districts: among thousands of companies the planner takes the company filter of each joined table as one more
    cut and would join and sort a large company's every due device (docs/performance.md, 2026-12-07 evening)."""
    page = sa.select(Device.id).where(Device.status == DeviceStatus.active.value, *_chosen(query, today))
    position = paging.position(query.after, dt.date.fromisoformat)
    if position is not None:
        page = page.where(sa.tuple_(Device.next_test_due, Device.id) > position)
    chosen = page.order_by(Device.next_test_due, Device.id).limit(page_size + 1).subquery()
    rows = [DueRow(*row) for row in session.execute(
        _devices().join(chosen, chosen.c.id == Device.id).order_by(Device.next_test_due, Device.id))]
    return paginate(rows, page_size, lambda row: paging.cursor(row.device.next_test_due, row.device.id))


def due_csv(session: so.Session, query: DueQuery, today: dt.date) -> Iterator[str]:
    """Every due device of the query as CSV text, a chunk at a time, read from a server-side cursor."""
    def rows():
        for row in session.execute(_statement(query, today).execution_options(yield_per=500)):
            due = DueRow(*row)
            device = due.device
            yield (device.serial, device.device_type, device.size or "", device.manufacturer, device.model or "",
                   due.customer_name, due.location.one_line, due.district_name or "",
                   device.last_test_on.isoformat() if device.last_test_on else "",
                   device.next_test_due.isoformat(), max(due.days_overdue(today), 0))
    return csv_chunks(CSV_HEADER, rows())


def due_counts(session: so.Session, today: dt.date) -> dict[str, int]:
    """How many active devices are overdue, fall due within 30 days, failed and need repair, and are overdue or due
    by the end of this month but on no unfinished work order yet (the month's tests left to book), for the office's
    dashboard."""
    soon = today + dt.timedelta(days=30)  # never before the month's end: a month has at most 31 days
    overdue, within_30, failed, unbooked = session.execute(
        sa.select(sa.func.count().filter(Device.next_test_due < today),
                  sa.func.count().filter(Device.next_test_due.between(today, soon)),
                  sa.func.count().filter(Device.failed_on.is_not(None)),
                  sa.func.count().filter(Device.next_test_due <= month_end(today), ~_booked()))
        .where(Device.status == DeviceStatus.active.value,
               sa.or_(Device.next_test_due <= soon, Device.failed_on.is_not(None)))).one()
    return {"overdue": overdue, "within_30": within_30, "needs_repair": failed, "month_unbooked": unbooked}


def coming_due_of(session: so.Session, customer_id: uuid.UUID, today: dt.date, *, days: int) -> list[DueRow]:
    """A customer's active devices overdue or due within `days`, the longest overdue first: those the customer may
    book a test for. A failed one is left out: it needs a repair before a test (the office plans those)."""
    statement = _devices().where(Customer.id == customer_id, Device.next_test_due <= today + dt.timedelta(days=days),
                                 Device.failed_on.is_(None))
    return [DueRow(*row) for row in session.execute(statement.order_by(Device.next_test_due, Device.id))]


REPAIRS_SHOWN = 200


def needs_repair(session: so.Session) -> list[DueRow]:
    """Active devices whose latest test failed with no passing test since, the longest waiting first."""
    statement = _devices().where(Device.failed_on.is_not(None)).order_by(Device.failed_on, Device.id)
    return [DueRow(*row) for row in session.execute(statement.limit(REPAIRS_SHOWN))]
