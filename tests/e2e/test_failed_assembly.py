"""A failed assembly in everyone's browser: the technician on a phone records a failing test and the job says so
in red; the office on a desktop finds it on the dashboard and plans the repair and retest from its list; the admin
keeps the company's details on one settings page."""
import datetime as dt

from flowtrack.models.customers import Device
from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_office_records import OVERFLOW
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
    office.sign_in(acme.members["office"].email, acme.members["office"].password)
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
