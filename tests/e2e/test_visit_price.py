"""The office prices a visit on a desktop: the work order's lines come from the price list, a price the list
lacks is flagged and set in place, and the invoice made from the finished work copies the lines to the cent."""
from flowtrack.invoices import services as invoices
from flowtrack.models.customers import CustomerLocation
from flowtrack.models.scheduling import WorkOrderStatus
from flowtrack.work_orders import services as work_orders
from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.e2e.conftest import DESKTOP
from tests.e2e.test_office_records import OVERFLOW


def test_the_office_sets_a_missing_price_on_the_work_order_and_invoices_the_visit(visit, acme, records):  # noqa: F811
    with records.session(acme) as session:
        invoices.set_price(session, kind="test", device_type="RP", unit_price_cents=9500)
        invoices.set_price(session, kind="trip", unit_price_cents=4500, taxable=False)
    location = records.location(acme, address_line1="44 Cannery Row")
    rp = records.device(acme, location, device_type="RP", size="1", serial="RP-7001")
    avb = records.device(acme, location, device_type="AVB", size="3/4", serial="AVB-7002")
    with records.session(acme) as session:
        order = work_orders.create_work_order(session, session.get(CustomerLocation, location.id),
                                              [rp.id, avb.id], created_by=None)

    office = visit(DESKTOP)
    office.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    page = office.go(f"/work-orders/{order.id}")
    lines = page.locator("#lines")
    assert "Backflow test, RP 1″, serial RP-7001" in lines.inner_text()
    flagged = lines.locator("tr", has_text="AVB-7002")
    assert "No price on the list" in flagged.inner_text()
    assert "$140.00" in lines.inner_text()  # 95.00 + 0.00 + the 45.00 trip
    office.screenshot("missing-price")
    assert office.axe_violations() == [] and page.evaluate(OVERFLOW) == []

    flagged.locator("input[name=unit_price]").fill("55")
    flagged.locator("button:has-text('Set price')").click()
    page.wait_for_selector("#lines >> text=$195.00")
    assert "No price on the list" not in page.inner_text("#lines")
    office.screenshot("priced")

    with records.session(acme) as session:  # the technician's day is done
        stored = work_orders.get_work_order(session, order.id)
        for item in stored.devices:
            item.outcome = "tested"
        stored.status = WorkOrderStatus.completed.value
    page = office.go(f"/work-orders/{order.id}")
    page.click("text=Create invoice")
    page.wait_for_selector("text=drafted from the work order")
    main = page.inner_text("main")
    for expected in ("Backflow test, RP 1″, serial RP-7001", "Backflow test, AVB 3/4″, serial AVB-7002",
                     "Trip charge", "$195.00"):
        assert expected in main, expected
    assert "No price on the list" not in main
    office.screenshot("invoice-draft")
    office.assert_clean()
