"""The office's hints as people meet them: on the dashboard, the hints page, a device's, a work order's and a
request's page, and the technician's job; each saying why it shows, acted on, dismissed, and back when its facts
change."""
import datetime as dt
import re
from html import unescape

import sqlalchemy as sa

from flowtrack.hints import rules
from flowtrack.models.hints import DismissedHint
from flowtrack.models.scheduling import WorkOrder, WorkOrderDevice, WorkOrderLine
from tests.customers.test_customers import audit_entries
from tests.field_tests.factories import recorded_test
from tests.hints.factories import overdue_invoice, recorded_on
from tests.scheduling.factories import company_today
from tests.service_requests.factories import asked, portal_customer


def text(page) -> str:
    return unescape(re.sub(r"\s+", " ", page.text))


def hint_keys(page) -> list[str]:
    return re.findall(r'data-hint="([^"]+)"', page.text)


def hint_text(page, key_prefix: str) -> str:
    """What the hint whose key starts so says, as read."""
    found = re.search(rf'<li class="suggestion[^"]*" data-hint="{re.escape(key_prefix)}[^"]*">(.*?)</li>', page.text,
                      re.S)
    assert found, f"no hint {key_prefix}"
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1)))).strip()


def test_an_assembly_that_keeps_failing_is_shown_with_its_failures_and_quoting_its_replacement_settles_it(
        app, factory, acme, office, records):
    today = company_today(acme)
    place = records.location(acme, address_line1="12 Harbor Way")
    device = records.device(acme, place, device_type="DC", serial="DC-1001")
    first, second = today - dt.timedelta(days=200), today - dt.timedelta(days=20)
    recorded_on(app, acme, device, first)
    recorded_on(app, acme, device, today - dt.timedelta(days=100), failed=False)
    latest = recorded_on(app, acme, device, second)

    said = hint_text(office.get("/dashboard/"), f"replace:{device.id}:{latest.id}")
    assert said.startswith(f"Replace DC DC-1001? DC DC-1001 failed on {rules.in_words([first, second])}: 2 of its "
                           f"last three tests.")
    device_page = office.get(f"/devices/{device.id}")
    quote_it = f"/quotes/new/{place.id}?device={device.id}"
    assert "Replace DC DC-1001?" in text(device_page) and f'href="{quote_it}">Quote a replacement' in device_page.text

    assert office.submit(quote_it, {"expires_on": "2099-01-31"}).status_code == 303
    assert f"replace:{device.id}:{latest.id}" not in hint_keys(office.get("/dashboard/"))
    assert "Replace DC DC-1001?" not in text(office.get(f"/devices/{device.id}"))


def test_a_dismissed_hint_stays_dismissed_for_the_company_until_a_new_failure_and_can_be_shown_again(
        app, factory, acme, login, records):
    today = company_today(acme)
    device = records.device(acme, device_type="DC", serial="DC-2002")
    recorded_on(app, acme, device, today - dt.timedelta(days=300))
    latest = recorded_on(app, acme, device, today - dt.timedelta(days=10))
    key = f"replace:{device.id}:{latest.id}"
    manager, coordinator = login(acme, "manager"), login(acme, "coordinator")
    assert key in hint_keys(coordinator.get(f"/devices/{device.id}"))

    done = manager.submit("/hints/dismiss", {"key": key, "back": f"/devices/{device.id}"})
    assert done.status_code == 303 and done.headers["Location"] == f"/devices/{device.id}"
    assert "Hint dismissed for everyone in the company" in text(manager.get(f"/devices/{device.id}"))
    for browser in (manager, coordinator):  # for everyone in the company
        assert key not in hint_keys(browser.get(f"/devices/{device.id}"))
        assert key not in hint_keys(browser.get("/dashboard/"))
    listed = coordinator.get("/hints/")
    assert "Dismissed (1)" in listed.text and key in hint_keys(listed) and "Show again" in listed.text
    [entry] = audit_entries(app, acme, "hint.dismissed")
    assert entry.changes == {"key": key, "kind": "replace"}
    assert "already" in text(manager.submit("/hints/dismiss", {"key": key}, follow_redirects=True))

    newer = recorded_on(app, acme, device, today - dt.timedelta(days=1))  # it failed again: a new fact
    assert f"replace:{device.id}:{newer.id}" in hint_keys(manager.get(f"/devices/{device.id}"))

    coordinator.submit("/hints/dismiss", {"key": f"replace:{device.id}:{newer.id}"})
    assert coordinator.submit("/hints/restore", {"key": f"replace:{device.id}:{newer.id}"}).status_code == 303
    assert f"replace:{device.id}:{newer.id}" in hint_keys(manager.get(f"/devices/{device.id}"))
    assert [e.action for e in audit_entries(app, acme, "hint.restored")] == ["hint.restored"]


def test_a_hint_of_a_kind_a_role_may_not_see_cannot_be_dismissed_by_it_nor_a_made_up_one(acme, login, app):
    coordinator = login(acme, "coordinator")  # keeps the records: no money
    refused = coordinator.submit("/hints/dismiss", {"key": "overdue:1:2"})
    assert refused.status_code == 400
    assert login(acme, "manager").submit("/hints/dismiss", {"key": "<script>"}).status_code == 400
    assert login(acme, "technician").submit("/hints/dismiss", {"key": "replace:a:b"}).status_code == 403
    with app.extensions["flowtrack.db"].service() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(DismissedHint)
                              .where(DismissedHint.company_id == acme.id)) == 0


def test_devices_due_at_a_booked_visits_place_are_offered_and_added_to_the_visit(
        app, factory, acme, login, records, planner):
    today = company_today(acme)
    place = records.location(acme, address_line1="40 Creamery Lane")
    booked = records.device(acme, place, device_type="DC", serial="DC-4001")
    overdue = records.device(acme, place, device_type="PVB", serial="PVB-4002",
                             install_date=today - dt.timedelta(days=20))
    soon = records.device(acme, place, device_type="RP", serial="RP-4003", install_date=today + dt.timedelta(days=40))
    tested = records.device(acme, place, device_type="DC", serial="DC-4004")
    recorded_test(app, factory, acme, tested)  # it passed today: due again in a year
    visit_day = today + dt.timedelta(days=3)
    job = planner.assign(acme, booked, day=visit_day)
    scheduler, technician = login(acme, "scheduler"), login(acme, "technician")

    said = hint_text(scheduler.get(f"/work-orders/{job.work_order_id}"), f"visit:{job.work_order_id}:")
    assert said.startswith(f"Add 2 devices to the visit on {visit_day:%b} {visit_day.day}? PVB PVB-4002 (was due "
                           f"{rules.day_in_words(overdue.install_date)}) and RP RP-4003 (due "
                           f"{rules.day_in_words(soon.install_date)}) at 40 Creamery Lane are due within 60 days of "
                           f"the visit booked there for {rules.day_in_words(visit_day)}, and not on it.")
    assert "DC-4004" not in said and "Add them to the visit" in said
    assert "Add them to the visit" not in text(login(acme, "coordinator").get(f"/devices/{overdue.id}"))
    assert "Add 2 devices to the visit" in text(scheduler.get(f"/devices/{overdue.id}"))  # the device's page too
    field = text(technician.get(f"/jobs/{job.id}"))  # the technician sees it where it helps, and cannot dismiss
    assert "Ask the office to add them to this visit" in field and "Dismiss" not in field

    added = scheduler.submit(f"/work-orders/{job.work_order_id}/devices",
                             {"device": [str(overdue.id), str(soon.id)]}, follow_redirects=True)
    assert "Added to the visit: PVB-4002, RP-4003." in text(added)
    assert "Add 2 devices" not in text(added)
    with app.extensions["flowtrack.db"].service() as session:
        on_visit = set(session.scalars(sa.select(WorkOrderDevice.device_id)
                                       .where(WorkOrderDevice.work_order_id == job.work_order_id)))
        fees = session.scalars(sa.select(WorkOrderLine.device_id).where(
            WorkOrderLine.work_order_id == job.work_order_id, WorkOrderLine.kind == "test")).all()
    assert on_visit == {booked.id, overdue.id, soon.id} and set(fees) == on_visit
    [entry] = audit_entries(app, acme, "work_order.devices_added")
    assert entry.changes["devices"] == ["PVB-4002", "RP-4003"]
    again = scheduler.submit(f"/work-orders/{job.work_order_id}/devices", {"device": str(overdue.id)},
                             follow_redirects=True)
    assert "Already on an unfinished work order: PVB-4002." in text(again)
    elsewhere = records.device(acme, serial="DC-4999", install_date=today)
    refused = scheduler.submit(f"/work-orders/{job.work_order_id}/devices", {"device": str(elsewhere.id)},
                               follow_redirects=True)
    assert "Choose devices in service at this work order's place." in text(refused)


def test_a_kit_or_certification_running_out_before_a_booked_job_is_shown_to_who_can_act(
        app, factory, acme, login, records, planner):
    today = company_today(acme)
    expires, kit_due, job_day = (today + dt.timedelta(days=n) for n in (5, 6, 9))
    dana = factory.member(acme.id, "technician", certification_expires_on=expires)
    kit = records.gauge(acme, make="Midwest", serial="G-KIT-7", calibration_due_on=kit_due)
    recorded_on(app, acme, records.device(acme, device_type="DC"), today, failed=False, gauge=kit, by=dana)
    job = planner.job(acme, technician=dana, day=job_day)

    said = text(login(acme, "scheduler").get("/dashboard/"))
    assert "Technician Person's certification expires before a booked job" in said
    assert (f"tester certification expires on {expires:%b} {expires.day}, {expires.year}, before the job booked "
            f"for {job_day:%b} {job_day.day}, {job_day.year}") in said
    assert "Test kit Midwest G-KIT-7 is due for calibration before a booked job" in said
    assert f"which Technician Person tested with last, is due for calibration on {kit_due:%b} {kit_due.day}" in said
    order_page = login(acme, "manager").get(f"/work-orders/{job.work_order_id}")
    kit_key = f"kit:{dana.user_id}:{kit.id}:{kit_due.isoformat()}"
    assert {f"certification:{dana.user_id}:{expires.isoformat()}", kit_key} <= set(hint_keys(order_page))
    keeper = login(acme, "inventory_manager")  # keeps the kits: sees the kit's hint, and can record its calibration
    assert hint_keys(keeper.get("/dashboard/")) == [kit_key]
    assert f'href="/gauges/{kit.id}/edit">Record its calibration' in keeper.get("/dashboard/").text
    dana_phone = app.test_client()
    dana_phone.sign_in_as(dana)
    field = text(dana_phone.get(f"/jobs/{job.id}"))
    assert "Renew it before the job, or tell the office." in field
    assert "Take another calibrated kit, or have this one calibrated before the job." in field

    recalibrated = {"make": "Midwest", "serial": "G-KIT-7", "last_calibrated_on": today.isoformat(),
                    "calibration_due_on": (today + dt.timedelta(days=365)).isoformat()}
    assert keeper.submit(f"/gauges/{kit.id}/edit", recalibrated).status_code == 303
    assert hint_keys(keeper.get("/dashboard/")) == []


def test_a_customer_owing_an_old_invoice_is_flagged_on_their_request_and_on_the_work_order_made_of_it(
        app, factory, acme, login):
    customer, member, [(place, device), _] = portal_customer(app, factory, acme)
    overdue_invoice(app, acme, customer, days=65)
    request = asked(app, factory, acme, customer=customer, member=member, place=place, devices=[device])
    manager, scheduler = login(acme, "manager"), login(acme, "scheduler")

    page = text(manager.get(f"/requests/{request.id}"))
    assert "Harbor Dairy has an invoice 65 days overdue" in page
    assert "Harbor Dairy owes $240.00 on invoice" in page and "(65 days overdue), and asked for service." in page
    assert "The overdue invoice" in page
    assert "overdue" not in " ".join(hint_keys(scheduler.get(f"/requests/{request.id}")))  # no money for them
    key = f"overdue:{customer.id}:"
    assert any(k.startswith(key) for k in hint_keys(manager.get("/dashboard/")))

    manager.submit(f"/requests/{request.id}/convert", {"kind": "repair", "devices": [str(device.id)]})
    with app.extensions["flowtrack.db"].service() as session:
        order_id = session.scalar(sa.select(WorkOrder.id).where(WorkOrder.customer_id == customer.id))
    order_page = manager.get(f"/work-orders/{order_id}")
    assert "has new work booked or planned" in text(order_page) and "The overdue invoice" in text(order_page)
    [flag] = [k for k in hint_keys(order_page) if k.startswith(key)]
    manager.submit("/hints/dismiss", {"key": flag})  # the office works for them all the same: on every page
    assert not any(k.startswith(key) for k in hint_keys(manager.get("/dashboard/")))
    another = asked(app, factory, acme, customer=customer, member=member, place=place, devices=[device])
    assert not any(k.startswith(key) for k in hint_keys(manager.get(f"/requests/{another.id}")))


def test_one_invoice_just_under_60_days_overdue_flags_nothing(app, factory, acme, office):
    customer, member, [(place, device), _] = portal_customer(app, factory, acme)
    overdue_invoice(app, acme, customer, days=59)
    request = asked(app, factory, acme, customer=customer, member=member, place=place, devices=[device])
    assert hint_keys(office.get(f"/requests/{request.id}")) == []


def test_the_dashboard_shows_the_most_pressing_few_and_links_to_all_in_a_fixed_number_of_queries(
        app, factory, acme, office, records, count_queries):
    today = company_today(acme)

    def failing_device():
        device = records.device(acme, device_type="DC")
        for back in (40, 20):
            recorded_on(app, acme, device, today - dt.timedelta(days=back))

    failing_device()
    office.get("/dashboard/")
    with count_queries() as few:
        office.get("/dashboard/")
    for _ in range(5):
        failing_device()
    office.get("/dashboard/")  # the devices' counts are read again once, the devices having changed
    with count_queries() as many:
        page = office.get("/dashboard/")
    assert len(many) == len(few)
    assert len(hint_keys(page)) == 4 and 'href="/hints/">All 6 hints</a>' in page.text
    assert len(hint_keys(office.get("/hints/"))) == 6


def test_the_companys_hints_are_kept_until_what_they_are_read_from_changes_even_past_the_app(
        app, factory, acme, login, count_queries):
    customer, member, [(place, device), _] = portal_customer(app, factory, acme)
    invoice = overdue_invoice(app, acme, customer, days=65)
    asked(app, factory, acme, customer=customer, member=member, place=place, devices=[device])
    manager = login(acme, "manager")
    key = f"overdue:{customer.id}:"
    with count_queries() as reading:
        assert any(k.startswith(key) for k in hint_keys(manager.get("/hints/")))
    with count_queries() as kept:
        assert any(k.startswith(key) for k in hint_keys(manager.get("/hints/")))
    assert len(kept) <= len(reading) - 3  # read once (the debts, the requests, the work orders...), then kept

    # Paid by a statement past the app (a script, a console): the invoices' trigger moves the company's counter.
    with app.extensions["flowtrack.db"].service() as session:
        session.execute(sa.text("UPDATE invoices SET paid_cents = total_cents, status = 'paid' WHERE id = :id"),
                        {"id": invoice.id})
        session.commit()
    assert not any(k.startswith(key) for k in hint_keys(manager.get("/hints/")))
    assert not any(k.startswith(key) for k in hint_keys(manager.get("/dashboard/")))
