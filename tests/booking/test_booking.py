"""The office opens windows for customers to book their test in; a customer books one in the portal for their
assemblies coming due, and the work order is on the board for that technician at that time in the company's time
zone, or waits for the office to confirm it. Two customers taking the last place at once: one gets it."""
from __future__ import annotations

import datetime as dt
import re
import threading
import zoneinfo

import pytest
import sqlalchemy as sa

from flowtrack.models.audit import AuditEntry
from flowtrack.models.booking import Booking, BookingWindow
from flowtrack.models.scheduling import ScheduledJob, WorkOrder, WorkOrderDevice
from tests.booking.factories import (
    customer_coming_due,
    next_monday,
    open_window,
    pending_booking,
    portal_member,
)
from tests.factories import Tenant
from tests.notifications.outbox import last_email


def _portal(app, factory, tenant, customer):
    browser = app.test_client()
    browser.sign_in_as(portal_member(factory, tenant, customer))
    return browser


def _actions(app, tenant) -> list[str]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(AuditEntry.action).where(AuditEntry.company_id == tenant.id)
                                    .order_by(AuditEntry.seq)))


def _bookings(app, window_id) -> list[Booking]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(Booking).where(Booking.window_id == window_id)))


def _job_of(app, work_order_id) -> ScheduledJob:
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(ScheduledJob).where(ScheduledJob.work_order_id == work_order_id))


def _form(page: str, window: BookingWindow, location, devices) -> dict:
    """What the booking page posts when the customer ticks these assemblies and that window."""
    form_key = re.search(r'name="form_key" type="hidden" value="([^"]+)"', page)
    return {"location": str(location.id), "window": str(window.id), "devices": [str(d.id) for d in devices],
            **({"form_key": form_key.group(1)} if form_key else {})}


@pytest.fixture
def new_york(factory) -> Tenant:
    """A company on the east coast, three hours ahead of the server's usual Los Angeles."""
    tenant = Tenant(factory.company("Empire Backflow", timezone="America/New_York"))
    for role in ("manager", "scheduler", "technician", "coordinator", "customer"):
        tenant.members[role] = factory.member(tenant.id, role)
    return tenant


def test_the_office_opens_mornings_for_two_weeks_and_closes_one(app, login, acme):
    office = login(acme, "scheduler")
    monday = next_monday(acme)
    technician = acme.members["technician"]
    form = {"technician": str(technician.user_id), "first": monday.isoformat(),
            "last": (monday + dt.timedelta(days=13)).isoformat(), "weekdays": ["0", "1", "2", "3", "4"],
            "parts": ["morning"], "capacity": "2", "area": "Springfield, 97401"}
    opened = office.submit("/booking/windows", form, follow_redirects=True)
    assert "10 windows opened." in opened.text
    page = office.get("/booking/").text
    assert page.count("Morning 07:00–12:00") == 10 and "springfield, 97401" in page and "0 of 2" in page

    again = office.submit("/booking/windows", {**form, "parts": ["morning", "afternoon"]}, follow_redirects=True)
    assert "10 windows opened." in again.text and "morning: already open" in again.text  # only the afternoons

    with app.extensions["flowtrack.db"].service() as session:
        first = session.scalar(sa.select(BookingWindow).where(BookingWindow.company_id == acme.id)
                               .order_by(BookingWindow.starts_at))
    closed = office.submit(f"/booking/windows/{first.id}/close", follow_redirects=True)
    assert "Window closed" in closed.text and closed.text.count("Morning 07:00–12:00") == 9
    actions = _actions(app, acme)
    assert actions.count("booking_window.opened") == 20 and actions.count("booking_window.closed") == 1


def test_the_office_is_told_what_it_typed_wrong_and_keeps_it(app, login, acme):
    office = login(acme, "manager")
    monday = next_monday(acme)
    form = {"technician": str(acme.members["technician"].user_id), "first": monday.isoformat(),
            "last": (monday - dt.timedelta(days=3)).isoformat(), "weekdays": ["0"], "parts": ["day"],
            "capacity": "3", "area": "Eugene"}
    backwards = office.submit("/booking/windows", form)
    assert backwards.status_code == 422 and "The last day comes before the first." in backwards.text
    assert 'value="Eugene"' in backwards.text and 'value="3"' in backwards.text
    for bad, message in ((dict(capacity="0"), "Number must be between 1 and 20"),
                         (dict(capacity="1e309"), "Enter a whole number"),
                         (dict(weekdays=[]), "Tick at least one day of the week."),
                         (dict(first="", last=""), "Choose the first day."),
                         (dict(parts=[]), "Tick morning, afternoon or all day.")):
        refused = office.submit("/booking/windows", {**form, "last": monday.isoformat(), **bad})
        assert refused.status_code == 422 and message in refused.text, bad
    assert "booking_window.opened" not in _actions(app, acme)
    assert office.submit("/booking/settings", {"mode": "maybe"}).status_code == 422


def test_a_customer_books_a_morning_and_it_is_on_the_board_for_that_technician_in_the_companys_time(
        app, factory, login, new_york):
    window = open_window(app, new_york)  # next Monday, 07:00 to 12:00 in New York
    customer, location, devices = customer_coming_due(app, new_york, devices=2, name="Harbor Deli")
    browser = _portal(app, factory, new_york, customer)
    assert "Book a time for it online" in browser.get("/portal/").text

    page = browser.get("/portal/book")
    assert page.status_code == 200
    assert location.address_line1 in page.text and all(d.serial in page.text for d in devices)
    assert "Morning, 07:00–12:00" in page.text and "(New York time)" in page.text
    booked = browser.submit("/portal/book", _form(page.text, window, location, devices), follow_redirects=True)
    monday = next_monday(new_york)
    assert f"Booked: Monday, {monday:%B} {monday.day}, morning (07:00–12:00 E" in booked.text
    assert "Your bookings" in booked.text and "Booked</span>" in booked.text

    [booking] = _bookings(app, window.id)
    assert booking.status == "confirmed"
    job = _job_of(app, booking.work_order_id)
    zone = zoneinfo.ZoneInfo("America/New_York")
    assert job.technician_id == new_york.members["technician"].user_id
    assert job.starts_at == dt.datetime.combine(monday, dt.time(7), zone)
    assert job.ends_at == dt.datetime.combine(monday, dt.time(12), zone)
    with app.extensions["flowtrack.db"].service() as session:
        order = session.get(WorkOrder, booking.work_order_id)
        on_it = set(session.scalars(sa.select(WorkOrderDevice.device_id)
                                    .where(WorkOrderDevice.work_order_id == order.id)))
    assert (order.kind, order.status, on_it) == ("test", "scheduled", {d.id for d in devices})

    board = login(new_york, "scheduler").get(f"/schedule/?week={monday.isoformat()}").text
    assert "Harbor Deli" in board and "07:00" in board
    email = last_email(app, _member_email(app, booking.booked_by))
    assert "booked for Monday" in email.body and "07:00–12:00" in email.body
    assert {"booking.made", "work_order.created", "job.booked"} <= set(_actions(app, new_york))

    # Booked, the assemblies are not offered again, and the full window is gone from the list.
    again = browser.get("/portal/book").text
    assert "booked for Monday" in again and 'name="devices"' not in again


def _member_email(app, user_id) -> str:
    from flowtrack.models.accounts import User

    with app.extensions["flowtrack.db"].service() as session:
        return session.get(User, user_id).email


def test_a_window_for_several_visits_gives_each_its_share_of_the_morning(app, factory, acme):
    window = open_window(app, acme, capacity=2)
    starts = []
    for _ in range(2):
        customer, location, devices = customer_coming_due(app, acme)
        browser = _portal(app, factory, acme, customer)
        page = browser.get("/portal/book").text
        assert browser.submit("/portal/book", _form(page, window, location, devices)).status_code == 303
    for booking in _bookings(app, window.id):
        job = _job_of(app, booking.work_order_id)
        starts.append((job.starts_at, job.ends_at))
    zone = zoneinfo.ZoneInfo(acme.company.timezone)
    monday = next_monday(acme)
    at = lambda hour, minute=0: dt.datetime.combine(monday, dt.time(hour, minute), zone)  # noqa: E731
    assert sorted(starts) == [(at(7), at(9, 30)), (at(9, 30), at(12))]
    customer, location, devices = customer_coming_due(app, acme)
    assert "07:00–12:00" not in _portal(app, factory, acme, customer).get("/portal/book").text  # full


def test_the_office_confirms_one_booking_and_declines_another_with_a_reason(app, factory, login, acme):
    office = login(acme, "manager")
    saved = office.submit("/booking/settings", {"mode": "confirm"}, follow_redirects=True)
    assert "wait for you to confirm" in saved.text
    window = open_window(app, acme)
    other = open_window(app, acme, part="afternoon")
    customer, location, devices = customer_coming_due(app, acme, name="Maple Dental")
    browser = _portal(app, factory, acme, customer)
    page = browser.get("/portal/book").text
    asked = browser.submit("/portal/book", _form(page, window, location, devices), follow_redirects=True)
    assert "will confirm it by email" in asked.text and "Waiting for confirmation" in asked.text
    [booking] = _bookings(app, window.id)
    assert booking.status == "pending" and booking.work_order_id is None
    # The place is held while the office decides: nobody else is offered the window.
    stranger, _, _ = customer_coming_due(app, acme)
    assert str(window.id) not in _portal(app, factory, acme, stranger).get("/portal/book").text

    queue = office.get("/booking/").text
    assert "Waiting for you to confirm (1)" in queue and "Maple Dental" in queue
    assert office.get("/dashboard/").text.count("1 booking") == 1
    office.submit(f"/booking/bookings/{booking.id}/confirm")
    [booking] = _bookings(app, window.id)
    assert booking.status == "confirmed" and _job_of(app, booking.work_order_id).starts_at == window.starts_at
    assert "confirmed your booking" in last_email(app, _member_email(app, booking.booked_by)).body
    again = office.submit(f"/booking/bookings/{booking.id}/confirm", follow_redirects=True)
    assert "Someone answered this booking already." in again.text

    # The afternoon: declined, with the reason the customer reads; the place is free again.
    customer, location, devices = customer_coming_due(app, acme)
    browser = _portal(app, factory, acme, customer)
    browser.submit("/portal/book", _form(browser.get("/portal/book").text, other, location, devices))
    [declining] = _bookings(app, other.id)
    refused = office.submit(f"/booking/bookings/{declining.id}/decline", {"reason": "  "})
    assert refused.status_code == 422 and "Say why, for the customer." in refused.text
    office.submit(f"/booking/bookings/{declining.id}/decline", {"reason": "Our technician is on leave that day."})
    email = last_email(app, _member_email(app, declining.booked_by))
    assert "could not confirm" in email.body and "on leave that day" in email.body
    page = browser.get("/portal/book").text
    assert "Declined" in page and "on leave that day" in page and str(other.id) in page  # offered again
    actions = _actions(app, acme)
    assert {"booking.made", "booking.confirmed", "booking.declined", "settings.changed"} <= set(actions)


def test_two_customers_taking_the_last_place_at_once_one_gets_it(app, factory, acme):
    window = open_window(app, acme)
    afternoon = open_window(app, acme, part="afternoon")
    racers = []
    for _ in range(2):
        customer, location, devices = customer_coming_due(app, acme)
        browser = _portal(app, factory, acme, customer)
        racers.append((browser, _form(browser.get("/portal/book").text, window, location, devices)))
    ready = threading.Barrier(2)
    answers: list = []

    def book(browser, form):
        ready.wait(timeout=10)
        answers.append(browser.submit("/portal/book", form))

    threads = [threading.Thread(target=book, args=racer) for racer in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(answer.status_code for answer in answers) == [303, 409]
    lost = next(answer for answer in answers if answer.status_code == 409)
    assert "That window was just taken: pick another." in lost.text
    # The page again, the assemblies still to book and the times still open.
    assert 'name="devices"' in lost.text and str(afternoon.id) in lost.text and str(window.id) not in lost.text
    [booking] = _bookings(app, window.id)
    assert booking.status == "confirmed"


def test_an_assembly_already_on_a_work_order_cannot_be_booked_again(app, factory, planner, acme):
    window = open_window(app, acme)
    customer, location, devices = customer_coming_due(app, acme, devices=2)
    with planner.records.session(acme) as session:
        from flowtrack.models.customers import CustomerLocation
        from flowtrack.work_orders import services as work_orders

        work_orders.create_work_order(session, session.get(CustomerLocation, location.id), [devices[0].id],
                                      created_by=None)
    browser = _portal(app, factory, acme, customer)
    page = browser.get("/portal/book").text
    assert "list to book" in page and f'value="{devices[0].id}"' not in page
    refused = browser.submit("/portal/book", _form(page, window, location, devices))
    assert refused.status_code == 422 and f"Already booked: {devices[0].serial}." in refused.text
    nothing = browser.submit("/portal/book", _form(page, window, location, []))
    assert nothing.status_code == 422 and "Tick at least one assembly to test." in nothing.text
    no_time = browser.submit("/portal/book", {**_form(page, window, location, devices[1:]), "window": ""})
    assert no_time.status_code == 422 and "Choose a time." in no_time.text
    assert _bookings(app, window.id) == []


def test_another_customers_assembly_or_another_companys_window_is_not_found(app, factory, acme, bravo):
    window = open_window(app, acme)
    theirs = open_window(app, bravo)
    customer, location, devices = customer_coming_due(app, acme)
    _, other_place, others = customer_coming_due(app, acme)
    browser = _portal(app, factory, acme, customer)
    page = browser.get("/portal/book").text
    assert str(theirs.id) not in page and others[0].serial not in page
    for form in (_form(page, theirs, location, devices),     # another company's window
                 _form(page, window, location, others),      # another customer's assembly
                 _form(page, window, other_place, others)):  # another customer's place
        assert browser.submit("/portal/book", form).status_code == 404
    assert _bookings(app, window.id) == []


def test_a_window_for_other_cities_is_not_offered_and_cannot_be_booked(app, factory, acme):
    window = open_window(app, acme, area=("eugene",))
    customer, location, devices = customer_coming_due(app, acme)  # in Springfield
    browser = _portal(app, factory, acme, customer)
    page = browser.get("/portal/book").text
    assert str(window.id) not in page and "No time is open for booking at this place" in page
    refused = browser.submit("/portal/book", _form(page, window, location, devices))
    assert refused.status_code == 409 and "not offered at this place" in refused.text


def test_each_side_is_closed_to_the_other_roles(app, factory, login, acme):
    booking = pending_booking(app, factory, acme)
    for role in ("technician", "coordinator", "customer", "auditor", "vendor"):
        browser = login(acme, role)
        assert browser.get("/booking/").status_code == 403, role
        assert browser.submit(f"/booking/bookings/{booking.id}/confirm").status_code == 403, role
    for role in ("manager", "scheduler", "technician"):
        assert login(acme, role).get("/portal/book").status_code == 403, role
    assert login(acme, "requester").get("/portal/book").status_code == 200


def test_the_reminder_invites_a_customer_who_can_sign_in_to_book_online(app, factory, acme):
    from flowtrack.companies.jobs import company_session
    from flowtrack.reminders import services as reminders
    from tests.scheduling.factories import company_today

    customer, _, _ = customer_coming_due(app, acme, due_in_days=30, email="pat@harborbooks.example")
    unsigned, _, _ = customer_coming_due(app, acme, due_in_days=30, email="lee@harborbooks.example")
    portal_member(factory, acme, customer)
    open_window(app, acme)
    with app.app_context(), company_session(acme.id, db=app.extensions["flowtrack.db"]) as session:
        reminders.run_reminders(session, company_today(acme), opt_out_link=lambda c: "https://x.test/stop")
        session.commit()
    body = last_email(app, "pat@harborbooks.example").body
    assert "Book a time for the test online" in body and "/portal/book" in body
    assert "/portal/book" not in last_email(app, "lee@harborbooks.example").body  # no sign-in to book with


def test_the_demo_customer_has_booked_next_tuesday_morning(app, client):
    from flowtrack.ops.seed import DEMO_PASSWORD, seed_demo
    from tests.factories import file_store

    with app.app_context():
        seed_demo(app.extensions["flowtrack.db"], production=False, storage=file_store(app))
    for email, status in (("customer@acme.test", "Booked"), ("customer@bravo.test", "Waiting for confirmation")):
        browser = app.test_client()
        browser.submit("/login", {"email": email, "password": DEMO_PASSWORD})
        page = browser.get("/portal/book").text
        assert "Your bookings" in page and re.search(rf"Tuesday, .*, morning \(\d\d:\d\d–12:00 .*{status}", page, re.S)
    office = app.test_client()
    office.submit("/login", {"email": "scheduler@bravo.test", "password": DEMO_PASSWORD})
    assert "Waiting for you to confirm (1)" in office.get("/booking/").text


def test_the_booking_form_sent_twice_books_once(app, factory, acme):
    window = open_window(app, acme, capacity=3)
    customer, location, devices = customer_coming_due(app, acme)
    browser = _portal(app, factory, acme, customer)
    form = _form(browser.get("/portal/book").text, window, location, devices)
    assert [browser.submit("/portal/book", form).status_code for _ in range(2)] == [303, 303]
    assert len(_bookings(app, window.id)) == 1
