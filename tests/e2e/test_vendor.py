"""The office subcontracts a work order to an outside vendor at a desk; the vendor's tester finds it on a phone,
with the access notes, records the test with their own kit and is back on the work order; the office takes a
second one back and it is gone from the tester's list."""
from tests.customers.factories import Records
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_office_records import OVERFLOW
from tests.scheduling.factories import Planner


def test_a_subcontracted_work_order_is_tested_by_the_vendors_tester_on_a_phone(app, factory, visit, acme):
    records, planner = Records(app), Planner(app)
    vendor = factory.vendor(acme.id, "Cascade Backflow Services")
    tester = factory.member(acme.id, "vendor", vendor_id=vendor.id)
    kit = records.gauge(acme, serial="CB-7", vendor_id=vendor.id)
    school = records.location(acme, records.customer(acme, name="Oakwood Elementary School"),
                              address_line1="900 Oak Street", access_notes="Vault behind the gym; key at the desk.")
    order = planner.work_order(acme, location=school, device_type="RP", serial="OK-4001")
    elsewhere = planner.work_order(acme)

    desk = visit(DESKTOP)
    desk.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    for work in (order, elsewhere):
        page = desk.go(f"/work-orders/{work.id}")
        page.select_option("#vendor", label="Cascade Backflow Services")
        page.click("form:has(#vendor) button:has-text('Save')")
        page.wait_for_selector("text=Subcontracted to Cascade Backflow Services: their people see it now.")
    desk.screenshot("subcontracted")
    desk.assert_clean()

    phone = visit(PHONE)
    phone.sign_in(tester.email, tester.password)
    page = phone.page
    listed = page.inner_text("main")
    assert "Work for Cascade Backflow Services" in listed and "900 Oak Street" in listed
    assert page.evaluate(OVERFLOW) == []
    phone.screenshot("assigned-work")
    page.click("tr:has-text('900 Oak Street') a")
    page.wait_for_selector("h1:has-text('900 Oak Street')")
    assert "Vault behind the gym; key at the desk." in page.inner_text("main")
    assert "$" not in page.inner_text("main")  # no prices for a vendor
    phone.screenshot("work-order")
    page.click("text=Record test")
    assert page.input_value("#gauge_id") == str(kit.id)  # their only kit, chosen already
    for name, value in (("check1_psid", "6.2"), ("relief_opened_psid", "2.8"), ("check2_psid", "1.6")):
        page.fill(f"#r_{name}", value)
    page.click("#r_check2_closed_tight label:has-text('Yes')")
    page.click("#r_shutoff2_held label:has-text('Yes')")
    page.fill("#technician_signature [data-signature-typed]", "Vic Vendor")
    page.click("text=Submit test")
    page.wait_for_selector("text=RP OK-4001 passed.")
    assert "900 Oak Street" in page.inner_text("h1") and "Test again" in page.inner_text("main")
    phone.screenshot("tested")

    page = desk.go(f"/work-orders/{elsewhere.id}")
    page.select_option("#vendor", value="")
    page.click("form:has(#vendor) button:has-text('Save')")
    page.wait_for_selector("text=Taken back from the vendor: their people no longer see it.")
    mine = phone.go("/vendor/work/")
    assert mine.locator("tbody tr").count() == 1
    phone.screenshot("taken-back")
    phone.assert_clean()
    desk.assert_clean()
