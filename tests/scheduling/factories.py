"""Work orders and booked jobs for tests, made through the services as the office's pages make them."""
from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from flowtrack.models.customers import CustomerLocation
from flowtrack.models.scheduling import ScheduledJob, WorkOrder
from flowtrack.schedule import services as schedule
from flowtrack.work_orders import services as work_orders
from tests.customers.factories import Records
from tests.factories import Member, Tenant


def company_today(tenant: Tenant) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(tenant.company.timezone)).date()


class Planner:
    def __init__(self, app):
        self.records = Records(app)

    def work_order(self, tenant: Tenant, *, devices: int = 1, location=None, **device_fields) -> WorkOrder:
        """An open test work order for new devices at one (new) location."""
        location = location or self.records.location(tenant)
        made = [self.records.device(tenant, location, **device_fields) for _ in range(devices)]
        with self.records.session(tenant) as session:
            return work_orders.create_work_order(session, session.get(CustomerLocation, location.id),
                                                 [d.id for d in made], created_by=None)

    def assign(self, tenant: Tenant, *devices, location=None, technician: Member | None = None,
               day: dt.date | None = None) -> ScheduledJob:
        """Book a technician (the company's, unless told) for these devices of one location, or for repair work
        at a location: what brings them within a technician's reach."""
        location_id = devices[0].location_id if devices else location.id
        with self.records.session(tenant) as session:
            order = work_orders.create_work_order(session, session.get(CustomerLocation, location_id),
                                                  [d.id for d in devices], created_by=None,
                                                  kind="test" if devices else "repair")
        return self.job(tenant, technician=technician, order=order, day=day)

    def job(self, tenant: Tenant, *, technician: Member | None = None, day: dt.date | None = None,
            starts: dt.time = dt.time(9), ends: dt.time = dt.time(11), order: WorkOrder | None = None,
            devices: int = 1) -> ScheduledJob:
        """A work order booked for the company's technician (tomorrow, 9 to 11, unless told otherwise)."""
        order = order or self.work_order(tenant, devices=devices)
        technician = technician or tenant.members["technician"]
        day = day or company_today(tenant) + dt.timedelta(days=1)
        zone = zoneinfo.ZoneInfo(tenant.company.timezone)
        with self.records.session(tenant) as session:
            return schedule.book(session, work_orders.get_work_order(session, order.id), technician.user_id,
                                 schedule.Window.local(day, starts, ends, zone), today=company_today(tenant))


@pytest.fixture
def planner(app) -> Planner:
    return Planner(app)


# Endpoints whose URL carries a work order, job, line or technician id, for the cross-tenant sweep
# (tests/foundation/test_cross_tenant.py).
def _work_order(app, factory, tenant):
    return {"work_order_id": Planner(app).work_order(tenant).id}


def _job(app, factory, tenant):
    return {"job_id": Planner(app).job(tenant).id}


def _line(app, factory, tenant):
    order = Planner(app).work_order(tenant)
    with Records(app).session(tenant) as session:
        line = work_orders.add_line(session, work_orders.get_work_order(session, order.id), description="Test fee",
                                    quantity=1, unit_price_cents=9500)
    return {"work_order_id": order.id, "line_id": line.id}


def _job_device(app, factory, tenant):
    job = Planner(app).job(tenant)
    with Records(app).session(tenant) as session:
        item = work_orders.get_work_order(session, job.work_order_id).devices[0]
    return {"job_id": job.id, "item_id": item.id}


def _technician_day(app, factory, tenant):
    return {"technician_id": tenant.members["technician"].user_id, "day": company_today(tenant).isoformat()}


def _location(app, factory, tenant):
    return {"location_id": Records(app).location(tenant).id}


SCHEDULING_URLS = {
    **{endpoint: _work_order for endpoint in ("work_orders.detail", "work_orders.cancel", "work_orders.add_line",
                                              "work_orders.add_devices", "schedule.book")},
    "work_orders.remove_line": _line,
    "work_orders.price_line": _line,
    "work_orders.new": _location,
    **{endpoint: _job for endpoint in ("schedule.edit_job", "schedule.route_order", "day.job", "day.start",
                                       "day.complete")},
    "day.not_tested": _job_device,
    **{endpoint: _technician_day for endpoint in ("schedule.technician_day", "schedule.route_proposal",
                                                  "schedule.accept_route")},
}
