"""A failed assembly in everyone's browser: the technician on a phone records a failing test and the job says so
in red; the office on a desktop finds it on the dashboard and plans the repair and retest from its list; the admin
keeps the company's details on one settings page. The failed list and the settings page read on a phone too."""
import datetime as dt

from flowtrack.models.customers import Device
from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_office_records import OVERFLOW
from tests.e2e.test_schedule import NO_PAGE_SCROLL
from tests.field_tests.factories import RP_PASSING, SIGNED
from tests.scheduling.factories import planner  # noqa: F401 (the fixture)


def test_a_failed_assembly_is_red_on_the_job_and_the_office_plans_its_repair(
        visit, app, acme, records, planner, login):  # noqa: F811
    district = records.district(acme, name="Springfield Utility Board")
    customer = records.customer(acme, name="Harbor Dairy", email="ops@harbordairy.example")
    place = records.location(acme, customer, address_line1="120 Main Street", district_id=district.id)
    rp = records.device(acme, place, device_type="RP", serial="RP-4512",
                        last_test_on=dt.date.today() - dt.timedelta(days=370))
    job = planner.assign(acme, rp)
    kit = records.gauge(acme, serial="G-1001")
    # The readings as the phone form sends them (the form itself is walked in test_field_test.py).
    phone = login(acme, "technician")
    failing = phone.submit(f"/devices/{rp.id}/tests/new", {
        "test_type": "annual", "gauge_id": str(kit.id), "line_pressure_psi": "72", "shutoff1_tight": "yes",
        **RP_PASSING, "r_relief_opened_psid": "1.9", **SIGNED})
    assert failing.status_code == 303

    technician = visit(PHONE)
    technician.sign_in(acme.members["technician"].email, acme.members["technician"].password)
    page = technician.go(f"/jobs/{job.id}")
    badge = page.locator(".stop-head .badge").first
    assert badge.inner_text() == "Failed: needs repair"
    assert "rgb(" in badge.evaluate("el => getComputedStyle(el).color")
    assert technician.axe_violations() == [] and page.evaluate(OVERFLOW) == []
    technician.screenshot("job-failed")
    page.click("button:has-text('Complete job')")
    page.wait_for_selector("text=Job completed.")

    office = visit(DESKTOP)
    office.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    page = office.go("/dashboard/")
    page.click("text=1 assembly failed and needs repair")
    page.wait_for_selector("h1:has-text('Failed: needs repair')")
    row = page.locator("tr", has_text="RP-4512")
    assert "Harbor Dairy" in row.inner_text() and "Springfield Utility Board" in row.inner_text()
    assert office.axe_violations() == [] and page.evaluate(OVERFLOW) == []
    office.screenshot("needs-repair")
    row.locator("input[type=checkbox]").check()
    page.click("button:has-text('Plan repair and retest')")
    page.wait_for_selector("text=1 work order created")
    office.screenshot("repair-planned")
    with app.extensions["flowtrack.db"].service() as session:
        assert session.get(Device, rp.id).failed_on is not None

    admin = visit(DESKTOP)
    admin.sign_in(acme.members["company_admin"].email, acme.members["company_admin"].password)
    page = admin.go("/settings/")
    page.fill("#address", "12 Valve Way\nBoise, ID 83702")
    page.fill("#phone", "208-555-0140")
    page.click("button:has-text('Save company details')")
    page.wait_for_selector("text=Company settings saved.")
    assert page.input_value("#phone") == "208-555-0140"
    assert admin.axe_violations() == [] and page.evaluate(OVERFLOW) == []
    admin.screenshot("settings")
    for tab in (technician, office, admin):
        tab.assert_clean()


def test_the_failed_list_and_the_company_settings_read_on_a_phone_and_the_settings_on_a_desktop(
        visit, acme, records, planner):  # noqa: F811
    district = records.district(acme, name="Eugene Water & Electric Board")
    customer = records.customer(acme, name="Oakwood Elementary School District Maintenance Yard")
    place = records.location(acme, customer, address_line1="4417 Northwest Industrial Parkway Building C",
                             district_id=district.id)
    last_year = dt.date.today() - dt.timedelta(days=400)
    waiting = records.device(acme, place, device_type="DCDA", size="2 1/2", serial="DCDA-20931877",
                             last_test_on=last_year)
    planned = records.device(acme, place, device_type="RP", size="3/4", serial="RP-4512", last_test_on=last_year)
    with records.session(acme) as session:  # both failed their last test (the test itself is walked above)
        for device in (waiting, planned):
            session.get(Device, device.id).failed_on = dt.date.today() - dt.timedelta(days=12)
    planner.assign(acme, planned)

    office = visit(PHONE)
    office.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    page = office.go("/due/needs-repair")
    assert "DCDA-20931877" in page.inner_text("main") and "planned" in page.inner_text("main")
    assert page.get_by_label("Plan the repair of DCDA-20931877").is_visible()
    assert office.axe_violations() == [] and page.evaluate(OVERFLOW) == [] and page.evaluate(NO_PAGE_SCROLL)
    office.screenshot("needs-repair-phone")
    page = office.go("/dashboard/")  # the month's devices not yet booked: the failed ones, long overdue
    page.click("text=overdue or due by the end of")
    page.wait_for_selector("#unbooked:checked")
    assert "DCDA-20931877" in page.inner_text("#due-rows") and "RP-4512" not in page.inner_text("#due-rows")
    assert office.axe_violations() == [] and page.evaluate(OVERFLOW) == [] and page.evaluate(NO_PAGE_SCROLL)
    office.screenshot("not-yet-booked-phone")
    office.assert_clean()

    for viewport, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        admin = visit(viewport)
        admin.sign_in(acme.members["company_admin"].email, acme.members["company_admin"].password)
        page = admin.go("/settings/")
        for heading in ("Your company", "Invoices", "Trip charge", "Logo on invoices", "Test-due reminders"):
            assert page.get_by_role("heading", name=heading, exact=True).is_visible(), heading
        assert admin.axe_violations() == [] and page.evaluate(OVERFLOW) == [] and page.evaluate(NO_PAGE_SCROLL)
        admin.screenshot(f"settings-{name}")
        page.fill("#tax_rate", "8.255")
        page.click("button:has-text('Save tax and terms')")
        page.wait_for_selector("#tax_rate-errors")
        assert page.input_value("#tax_rate") == "8.255" and "At most two decimals" in page.inner_text("#invoicing")
        assert "were not saved: see Invoices" in page.get_by_role("alert").inner_text()  # at the top, on a phone too
        assert admin.axe_violations() == [] and page.evaluate(OVERFLOW) == []
        admin.screenshot(f"settings-refused-{name}")
        page.fill("#tax_rate", "8.25")
        page.click("button:has-text('Save tax and terms')")
        page.wait_for_selector("text=Tax rate and payment terms saved")
        assert page.input_value("#tax_rate") == "8.25"
        admin.screenshot(f"settings-saved-{name}")
        assert [p for p in admin.problems if "status of 422" not in p] == []  # the refused first try, alone
