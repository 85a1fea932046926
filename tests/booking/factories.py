"""Booking windows and customers' bookings for tests, made through the booking services as the pages make them."""
from __future__ import annotations

import datetime as dt

from flowtrack.booking import services
from flowtrack.core.permissions import Role
from flowtrack.models.booking import Booking, BookingWindow, DayPart
from flowtrack.models.customers import Customer
from tests.customers.factories import Records
from tests.factories import Member, Tenant
from tests.scheduling.factories import company_today


def next_monday(tenant: Tenant) -> dt.date:
    """The Monday of next week, in the company's time zone: always a day ahead."""
    today = company_today(tenant)
    return today + dt.timedelta(days=7 - today.weekday())


def open_window(app, tenant: Tenant, *, day: dt.date | None = None, part: str = "morning", capacity: int = 1,
                technician: Member | None = None, area: tuple[str, ...] = ()) -> BookingWindow:
    """One window for the company's technician (next Monday morning, for one visit, unless told)."""
    day = day or next_monday(tenant)
    technician = technician or tenant.members["technician"]
    with Records(app).session(tenant) as session:
        return services.open_windows(session, technician_id=technician.user_id, first=day, last=day,
                                     weekdays={day.weekday()}, parts=[DayPart(part)], capacity=capacity,
                                     area=list(area), opened_by=None, today=company_today(tenant)).windows[0]


def customer_coming_due(app, tenant: Tenant, *, devices: int = 1, due_in_days: int = 10, **customer_fields):
    """A customer with a place and assemblies never tested, installed (so due) `due_in_days` from today. Returns
    (customer, location, devices)."""
    records = Records(app)
    customer_fields.setdefault("email", f"office@{tenant.id.hex[:8]}.example")
    customer = records.customer(tenant, **customer_fields)
    location = records.location(tenant, customer)
    made = [records.device(tenant, location, install_date=company_today(tenant) + dt.timedelta(days=due_in_days))
            for _ in range(devices)]
    return customer, location, made


def portal_member(factory, tenant: Tenant, customer) -> Member:
    return factory.member(tenant.id, Role.customer.value, customer_id=customer.id)


def booked(app, tenant: Tenant, window: BookingWindow) -> Booking:
    """A booking made in the window by a new customer with an assembly coming due."""
    customer, location, devices = customer_coming_due(app, tenant)
    with app.app_context(), Records(app).session(tenant) as session:  # booked straight away, the customer is emailed
        return services.book(session, session.get(Customer, customer.id), None, window_id=window.id,
                             location_id=location.id, device_ids=[d.id for d in devices],
                             today=company_today(tenant))


def pending_booking(app, factory, tenant: Tenant) -> Booking:
    """A booking waiting for the office (the company confirms bookings), in a window of a new technician's."""
    with Records(app).session(tenant) as session:
        services.save_confirmation_setting(session, need_confirmation=True)
    return booked(app, tenant, open_window(app, tenant, technician=factory.member(tenant.id, "technician")))


# Endpoints whose URL carries a window or booking id, for the cross-tenant sweep
# (tests/foundation/test_cross_tenant.py).
def _window(app, factory, tenant):
    return {"window_id": open_window(app, tenant, technician=factory.member(tenant.id, "technician")).id}


def _booking(app, factory, tenant):
    return {"booking_id": pending_booking(app, factory, tenant).id}


BOOKING_URLS = {"booking.close_window": _window, "booking.confirm": _booking, "booking.decline": _booking}
