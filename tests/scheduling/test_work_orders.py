"""The office turns due devices into work orders, keeps their price lines, and cancels what will not happen."""
import datetime as dt
import re
import zoneinfo

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.models.scheduling import ScheduledJob, WorkOrder
from tests.customers.test_customers import audit_entries

TODAY = dt.datetime.now(zoneinfo.ZoneInfo("America/Los_Angeles")).date()


def work_orders_of(app, tenant):
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(WorkOrder).where(WorkOrder.company_id == tenant.id)
                                    .options(so.selectinload(WorkOrder.devices)).order_by(WorkOrder.created_at)))


def test_the_office_creates_one_work_order_per_location_from_the_due_list_and_never_plans_a_device_twice(
        app, office, acme, records):
    harbor, mill = records.location(acme), records.location(acme)
    due = [records.device(acme, harbor, install_date=TODAY - dt.timedelta(days=400)) for _ in range(2)]
    due.append(records.device(acme, mill, install_date=TODAY - dt.timedelta(days=380)))

    page = office.get("/due/")
    assert 'form="plan-form"' in page.text and "Create work orders" in page.text
    response = office.submit("/due/plan", {"devices": [str(d.id) for d in due]})
    assert response.status_code == 303 and response.location.endswith("/schedule/")
    assert "2 work orders created." in office.get("/schedule/").text

    orders = work_orders_of(app, acme)
    assert sorted(len(o.devices) for o in orders) == [1, 2]
    assert {o.location_id for o in orders} == {harbor.id, mill.id}
    assert {o.status for o in orders} == {"open"}
    assert len(audit_entries(app, acme, "work_order.created")) == 2

    again = office.submit("/due/plan", {"devices": [str(due[0].id)]}, follow_redirects=True)
    assert "0 work orders created." in again.text and due[0].serial in again.text
    assert len(work_orders_of(app, acme)) == 2


def test_choosing_nothing_on_the_due_list_says_so(office, acme):
    response = office.submit("/due/plan", {}, follow_redirects=True)
    assert "Choose at least one device" in response.text


def test_a_work_order_at_a_location_lists_its_devices_and_opens_on_its_page(app, office, acme, records):
    location = records.location(acme, access_notes="Gate code 4411")
    first, second = records.device(acme, location), records.device(acme, location)
    form = office.get(f"/locations/{location.id}/work-orders/new")
    assert form.status_code == 200 and first.serial in form.text and second.serial in form.text

    response = office.submit(f"/locations/{location.id}/work-orders/new",
                             {"kind": "test", "devices": [str(first.id)], "notes": "Call ahead"})
    assert response.status_code == 303
    page = office.get(response.location)
    assert first.serial in page.text and second.serial not in page.text and "Call ahead" in page.text
    assert "Open" in page.text and "Book" in page.text
    assert any(o.notes == "Call ahead" for o in work_orders_of(app, acme))
    assert location.address_line1 in office.get("/work-orders/").text


def test_a_test_work_order_needs_a_device(office, acme, records):
    location = records.location(acme)
    records.device(acme, location)
    response = office.submit(f"/locations/{location.id}/work-orders/new", {"kind": "test"})
    assert response.status_code == 422 and "Choose at least one device to test." in response.text


def test_price_lines_add_up_in_cents_and_refuse_fractions_of_a_cent(app, office, acme, planner):
    order = planner.work_order(acme)
    added = office.htmx("POST", f"/work-orders/{order.id}/lines",
                        {"description": "Annual test, RP 3/4", "quantity": "2", "unit_price": "85.50"})
    assert added.status_code == 200 and "<html" not in added.text
    assert "$85.50" in added.text and "$171.00" in added.text

    refused = office.htmx("POST", f"/work-orders/{order.id}/lines",
                          {"description": "Trip charge", "quantity": "1", "unit_price": "10.005"})
    assert refused.status_code == 422 and "Whole cents only" in refused.text
    assert "$171.00" in refused.text  # what was saved stays on the page
    assert audit_entries(app, acme, "work_order.line_added")[0].changes["unit_price_cents"] == 8550


def test_a_canceled_work_order_leaves_the_board_and_cannot_change_again(app, office, acme, planner):
    job = planner.job(acme)
    response = office.submit(f"/work-orders/{job.work_order_id}/cancel", follow_redirects=True)
    assert "Work order canceled." in response.text and "Canceled" in response.text
    assert [o.status for o in work_orders_of(app, acme)] == ["canceled"]
    assert audit_entries(app, acme, "job.unbooked")

    again = office.submit(f"/work-orders/{job.work_order_id}/cancel", follow_redirects=True)
    assert "it cannot change any more" in again.text
    line = office.submit(f"/work-orders/{job.work_order_id}/lines",
                         {"description": "Late fee", "quantity": "1", "unit_price": "5"})
    assert line.status_code == 422 and "canceled work order" in line.text


def test_technicians_and_other_roles_cannot_reach_work_orders(login, acme, planner):
    order = planner.work_order(acme)
    for role in ("technician", "auditor", "customer", "district_admin"):
        browser = login(acme, role)
        assert browser.get("/work-orders/").status_code == 403
        assert browser.get(f"/work-orders/{order.id}").status_code == 403
        assert browser.submit("/due/plan", {"devices": []}).status_code == 403


def test_work_orders_from_the_due_list_can_be_booked_at_once_spread_over_the_technicians(
        app, office, acme, records, factory):
    second = factory.member(acme.id, "technician")
    factory.member(acme.id, "technician", certification_expires_on=TODAY)  # lapsed by then: never chosen
    due = [records.device(acme, install_date=TODAY - dt.timedelta(days=400)) for _ in range(3)]
    day = TODAY + dt.timedelta(days=8)
    response = office.submit("/due/plan", {"devices": [str(d.id) for d in due],
                                                       "book_on": day.isoformat(), "technician": "auto"})
    assert response.status_code == 303 and "week=" in response.location
    assert f"3 work orders created and booked on {day:%b %-d}." in office.get(response.location).text
    with app.extensions["flowtrack.db"].service() as session:
        jobs = list(session.scalars(sa.select(ScheduledJob).join(WorkOrder).where(WorkOrder.company_id == acme.id)))
    per_technician = sorted(sum(1 for j in jobs if j.technician_id == t)
                            for t in (acme.members["technician"].user_id, second.user_id))
    assert per_technician == [1, 2] and {o.status for o in work_orders_of(app, acme)} == {"scheduled"}

    more = records.device(acme, install_date=TODAY - dt.timedelta(days=400))
    past = office.submit("/due/plan", {"devices": [str(more.id)], "book_on": "2020-01-01",
                                                   "technician": str(second.user_id)}, follow_redirects=True)
    assert "No work orders created. That day is in the past" in past.text
    assert len(work_orders_of(app, acme)) == 3


def test_a_new_work_order_offers_only_the_devices_not_already_planned_and_names_itself_by_the_place(
        app, office, acme, records):
    location = records.location(acme, address_line1="9 Orchard Lane")
    booked = records.device(acme, location, serial="PLANNED-1")
    free = records.device(acme, location, serial="FREE-2")
    office.submit(f"/locations/{location.id}/work-orders/new", {"kind": "test", "devices": [str(booked.id)]})

    page = office.get(f"/locations/{location.id}/work-orders/new").text
    assert re.search(rf'<input checked [^>]*value="{free.id}"', page)  # offered and ticked
    assert f'value="{booked.id}"' not in page  # not offered, so the form cannot fail on it
    assert "Already on unfinished work" in page and "PLANNED-1" in page
    assert '<fieldset class="field"><legend>Devices</legend>' in page
    created = office.submit(f"/locations/{location.id}/work-orders/new", {"kind": "test", "devices": [str(free.id)]})
    assert created.status_code == 303

    listing = office.get("/work-orders/").text
    assert listing.count("Testing at 9 Orchard Lane") == 2


def test_a_price_that_is_no_number_keeps_what_was_typed_with_one_message(app, office, acme, planner):
    order = planner.work_order(acme)
    refused = office.submit(f"/work-orders/{order.id}/lines", {"description": "Permit", "quantity": "1",
                                                               "unit_price": "12,5x"})
    assert refused.status_code == 422
    assert 'value="12,5x"' in refused.text and 'inputmode="decimal"' in refused.text
    assert refused.text.count("Enter a number of dollars and cents, like 85.00.") == 1
    assert "Number must be" not in refused.text
    typed_with_sign = office.submit(f"/work-orders/{order.id}/lines", {"description": "Permit", "quantity": "1",
                                                                       "unit_price": "$1,250.50"})
    assert typed_with_sign.status_code == 303
    assert "$1,250.50" in office.get(f"/work-orders/{order.id}").text


def _priced_line(app, tenant, planner):
    from flowtrack.work_orders import services
    from tests.customers.factories import Records

    order = planner.work_order(tenant)
    with Records(app).session(tenant) as session:
        line = services.add_line(session, services.get_work_order(session, order.id), description="Permit",
                                 quantity=1, unit_price_cents=2500)
    return order, line


def _line_count(app, order) -> int:
    from flowtrack.models.scheduling import WorkOrderLine

    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(WorkOrderLine)
                              .where(WorkOrderLine.work_order_id == order.id))


def test_removing_a_line_of_a_canceled_work_order_says_why_under_the_lines(app, office, acme, planner):
    order, line = _priced_line(app, acme, planner)
    office.submit(f"/work-orders/{order.id}/cancel")
    lines = _line_count(app, order)
    for send in (office.submit, lambda url, data: office.htmx("POST", url, data)):
        refused = send(f"/work-orders/{order.id}/lines/{line.id}/delete", {"unexpected": "field"})
        assert refused.status_code == 422
        assert refused.text.count("Price lines of a canceled work order cannot change.") == 1
    assert _line_count(app, order) == lines


def test_a_line_price_sent_without_a_price_says_so_and_keeps_the_old_one(app, office, acme, planner):
    order, line = _priced_line(app, acme, planner)
    for form in ({}, {"unexpected": "field"}, {"unit_price": "NaN"}):
        refused = office.htmx("POST", f"/work-orders/{order.id}/lines/{line.id}/price", form)
        assert refused.status_code == 422 and "Price not saved: " in refused.text, form
        assert "$25.00" in refused.text
    page = office.submit(f"/work-orders/{order.id}/lines/{line.id}/price", {})
    assert page.status_code == 422 and "Price not saved: Enter a price, 0 for no charge." in page.text
