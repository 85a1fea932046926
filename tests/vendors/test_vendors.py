"""The office subcontracts a work order to an outside vendor; the vendor's tester sees that work and what it needs,
records tests with their own kit, and nothing else of the company; taken back, the work is gone from their view."""
import datetime as dt
import secrets
import zoneinfo

import sqlalchemy as sa

from flowtrack.models.scheduling import WorkOrder, WorkOrderDevice, WorkOrderLine
from flowtrack.models.vendors import Vendor
from tests.customers.factories import Records
from tests.customers.test_customers import audit_entries
from tests.field_tests.factories import submit_rp
from tests.scheduling.factories import Planner
from tests.vendors.factories import give_to_vendor, subcontract


def _place_and_devices(app, order):
    with app.extensions["flowtrack.db"].service() as session:
        order = session.get(WorkOrder, order.id)
        return order.location.address_line1, [item.device for item in order.devices]


def _kit_of(app, tenant, vendor):
    from flowtrack.models.customers import Gauge

    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(Gauge).where(Gauge.vendor_id == vendor.id))


def test_the_office_adds_a_vendor_invites_its_tester_and_subcontracts_a_work_order(app, factory, acme, login):
    office = login(acme, "manager")
    today = dt.datetime.now(zoneinfo.ZoneInfo(acme.company.timezone)).date()  # the company's, as its forms read dates
    added = office.submit("/vendors/", {"name": "Cascade Backflow Services", "phone": "541-555-0199",
                                        "contact_email": "dispatch@cascade.example"})
    assert added.status_code == 303
    with app.extensions["flowtrack.db"].service() as session:
        vendor = session.scalar(sa.select(Vendor).where(Vendor.company_id == acme.id,
                                                        Vendor.name == "Cascade Backflow Services"))
    assert added.headers["Location"].endswith(f"/vendors/{vendor.id}")
    invited = office.submit(f"/vendors/{vendor.id}/people", {  # addresses are unique across all companies
        "full_name": "Vic Vendor", "email": f"vic-{secrets.token_hex(3)}@cascade.example",
        "certification_number": "BAT-9911",
        "certification_expires_on": (today + dt.timedelta(days=200)).isoformat()})
    assert invited.status_code == 303
    page = office.get(f"/vendors/{vendor.id}").text
    assert "Vic Vendor" in page and "BAT-9911" in page and "(invited)" in page

    kit = office.submit("/gauges/new", {"make": "Watts", "serial": "CB-7", "vendor_id": str(vendor.id),
                                        "last_calibrated_on": today.isoformat(),
                                        "calibration_due_on": (today + dt.timedelta(days=300)).isoformat()})
    assert kit.status_code == 303
    assert "Cascade Backflow Services's kit" in office.get("/gauges/").text
    assert "CB-7" in office.get(f"/vendors/{vendor.id}").text

    order = Planner(app).work_order(acme, devices=2)
    assert "Subcontract to" in office.get(f"/work-orders/{order.id}").text
    assert office.submit(f"/work-orders/{order.id}/vendor", {"vendor": str(vendor.id)}).status_code == 303
    detail = office.get(f"/work-orders/{order.id}").text
    assert "Cascade Backflow Services" in detail
    assert "Cascade Backflow Services" in office.get(f"/vendors/{vendor.id}").text
    [entry] = audit_entries(app, acme, "work_order.vendor_assigned")
    assert entry.changes == {"vendor": [None, "Cascade Backflow Services"]}
    assert audit_entries(app, acme, "user.invited")[-1].changes["role"] == {"before": None, "after": "vendor"}


def test_bad_vendor_input_gets_a_message_and_keeps_what_was_typed(app, factory, acme, login):
    office = login(acme, "manager")
    refused = office.submit("/vendors/", {"name": "", "contact_email": "not an address"})
    assert refused.status_code == 422
    assert "Give the vendor&#39;s name." in refused.text and 'value="not an address"' in refused.text
    vendor = factory.vendor(acme.id, "Twice Testing")
    again = office.submit("/vendors/", {"name": "Twice Testing"})
    assert again.status_code == 422 and "already on the list" in again.text
    bad_day = office.submit(f"/vendors/{vendor.id}/people", {"full_name": "Vic", "email": "vic@example.com",
                                                              "certification_expires_on": "2026-13-45"})
    assert bad_day.status_code == 422 and "Not a date" in bad_day.text and 'value="vic@example.com"' in bad_day.text


def test_the_vendors_tester_sees_the_work_records_a_test_and_the_company_bills_it(app, factory, acme, login,
                                                                                 run_worker):
    work = subcontract(app, factory, acme)
    kit = _kit_of(app, acme, work.vendor)
    tester = app.test_client()
    tester.sign_in_as(work.tester)
    home = tester.get("/vendor/work/")
    assert home.status_code == 200 and work.vendor.name in home.text and "Test at" not in home.text
    page = tester.get(f"/vendor/work/{work.order.id}").text
    with app.extensions["flowtrack.db"].service() as session:
        order = session.get(WorkOrder, work.order.id)
        place, devices = order.location, [item.device for item in order.devices]
    assert place.one_line in page and all(device.serial in page for device in devices)
    assert page.count("Record test") == 2

    form = tester.get(f"/devices/{devices[0].id}/tests/new?order={work.order.id}")
    assert form.status_code == 200 and kit.serial in form.text
    sent = tester.submit(f"/devices/{devices[0].id}/tests/new?order={work.order.id}", {
        "test_type": "annual", "gauge_id": str(kit.id), "line_pressure_psi": "72", "shutoff1_tight": "yes",
        **_passing_rp()})
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"/vendor/work/{work.order.id}")
    back = tester.get(f"/vendor/work/{work.order.id}").text
    assert "Passed" in back and "Test again" in back and back.count("Record test") == 1

    run_worker()  # the test is settled on the work order as the company: its fee stays, the device is tested
    with app.extensions["flowtrack.db"].service() as session:
        item = session.scalar(sa.select(WorkOrderDevice).where(WorkOrderDevice.work_order_id == work.order.id,
                                                               WorkOrderDevice.device_id == devices[0].id))
        lines = session.scalars(sa.select(WorkOrderLine).where(WorkOrderLine.work_order_id == work.order.id)).all()
        order = session.get(WorkOrder, work.order.id)
    assert item.outcome == "tested" and item.test_record_id is not None
    assert order.status == "open" and {line.kind for line in lines} >= {"test"}
    [submitted] = [e for e in audit_entries(app, acme, "test.submitted") if e.actor_user_id == work.tester.user_id]
    assert submitted.entity_id == str(item.test_record_id)


def _passing_rp():
    from tests.field_tests.factories import RP_PASSING, SIGNED

    return {**RP_PASSING, **SIGNED}


def test_a_vendor_sees_none_of_the_companys_other_work_money_or_people(app, factory, acme, login):
    work = subcontract(app, factory, acme)
    other = subcontract(app, factory, acme)  # another vendor's work order
    ours = Planner(app).work_order(acme)  # the company's own
    tester = app.test_client()
    tester.sign_in_as(work.tester)
    listed = tester.get("/vendor/work/").text
    for order in (other.order, ours):
        street, [device, *_] = _place_and_devices(app, order)
        assert street not in listed
        assert tester.get(f"/vendor/work/{order.id}").status_code == 404
        assert tester.get(f"/devices/{device.id}/tests/new").status_code == 404
    for path in ("/customers/", "/work-orders/", "/invoices/", "/team/", "/settings/", "/gauges/", "/audit/",
                 "/schedule/", "/vendors/", f"/work-orders/{work.order.id}", "/requests/"):
        assert tester.get(path).status_code == 403, path
    kit = _kit_of(app, acme, work.vendor)
    someone_elses_kit = _kit_of(app, acme, other.vendor)
    _, [device, *_] = _place_and_devices(app, work.order)
    form = tester.get(f"/devices/{device.id}/tests/new").text
    assert kit.serial in form and someone_elses_kit.serial not in form
    refused = submit_rp(tester, device, someone_elses_kit)
    assert refused.status_code == 422 and "Choose the test kit you used." in refused.text


def test_taken_back_the_work_is_gone_from_the_vendors_view_at_once(app, factory, acme, login):
    work = subcontract(app, factory, acme)
    tester = app.test_client()
    tester.sign_in_as(work.tester)
    street, [device, *_] = _place_and_devices(app, work.order)
    form = tester.get(f"/devices/{device.id}/tests/new")  # open on the phone when the office takes it back
    assert form.status_code == 200
    office = login(acme, "scheduler")
    assert office.submit(f"/work-orders/{work.order.id}/vendor", {"vendor": ""}).status_code == 303
    assert tester.get(f"/vendor/work/{work.order.id}").status_code == 404
    assert street not in tester.get("/vendor/work/").text
    late = submit_rp(tester, device, _kit_of(app, acme, work.vendor))
    assert late.status_code == 404
    [entry] = audit_entries(app, acme, "work_order.vendor_unassigned")
    assert entry.changes == {"vendor": [work.vendor.name, None]}
    assert entry.actor_user_id == acme.members["scheduler"].user_id


def test_a_closed_work_order_is_not_given_to_a_vendor(app, factory, acme, login):
    vendor = factory.vendor(acme.id)
    order = Planner(app).work_order(acme)
    with Records(app).session(acme) as session:
        from flowtrack.work_orders import services as work_orders

        work_orders.cancel(session, work_orders.get_work_order(session, order.id))
    office = login(acme, "manager")
    refused = office.submit(f"/work-orders/{order.id}/vendor", {"vendor": str(vendor.id)}, follow_redirects=True)
    assert "can no longer be given to a vendor" in refused.text
    assert not audit_entries(app, acme, "work_order.vendor_assigned")


def test_another_companys_vendor_cannot_be_chosen(app, factory, acme, bravo, login):
    theirs = factory.vendor(bravo.id)
    order = Planner(app).work_order(acme)
    office = login(acme, "manager")
    assert office.submit(f"/work-orders/{order.id}/vendor", {"vendor": str(theirs.id)}).status_code == 404
    assert office.submit(f"/work-orders/{order.id}/vendor", {"vendor": "not-an-id"}).status_code == 404
    give_to_vendor(app, acme, order, None)
    assert not audit_entries(app, acme, "work_order.vendor_assigned")
