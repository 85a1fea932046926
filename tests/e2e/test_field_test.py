"""A technician records a test on a phone: live pass/fail while typing, a retest after a repair, the report."""
import re

from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.e2e.conftest import PHONE
from tests.e2e.test_office_records import OVERFLOW
from tests.field_tests.factories import camera_photo
from tests.scheduling.factories import planner  # noqa: F401 (the fixture)


def test_a_technician_tests_an_rp_on_a_phone_and_gets_the_report(visit, acme, records, planner, run_worker,  # noqa: F811
                                                                   tmp_path):
    district = records.district(acme, name="Springfield Utility Board")
    location = records.location(acme, records.customer(acme, name="Harbor Dairy"), address_line1="120 Main Street",
                                district_id=district.id)
    device = records.device(acme, location, device_type="RP", serial="RP-4512")
    planner.assign(acme, device)
    kit = records.gauge(acme, serial="G-1001")
    tab = visit(PHONE)
    tab.sign_in(acme.members["technician"].email, acme.members["technician"].password)
    page = tab.go(f"/devices/{device.id}")
    page.click("text=Record a test")
    page.wait_for_url(re.compile(r".*/tests/new$"))
    assert tab.axe_violations() == []
    assert page.evaluate(OVERFLOW) == []
    page.select_option("#gauge_id", value=str(kit.id))
    page.fill("#r_check1_psid", "4.1")
    page.wait_for_selector("#verdict >> text=4.1 psid, needs at least 5.0")
    page.fill("#r_relief_opened_psid", "2.8")
    page.fill("#r_check2_psid", "1.6")
    page.check("input[name=r_check2_closed_tight][value=yes]")
    page.check("input[name=r_shutoff2_held][value=yes]")
    page.wait_for_selector("#verdict >> text=Fails")
    tab.screenshot("failed-first-test")
    page.click("text=Repairs and retest")
    page.check("input[name=repairs][value='replaced disc']")
    for name, value in (("check1_psid", "6.3"), ("relief_opened_psid", "2.8"), ("check2_psid", "1.6")):
        page.fill(f"#retest_r_{name}", value)
    page.check("input[name=retest_r_check2_closed_tight][value=yes]")
    page.check("input[name=retest_r_shutoff2_held][value=yes]")
    page.wait_for_selector("#verdict >> text=Retest: Passes")
    picture = tmp_path / "IMG_0001.JPG"
    picture.write_bytes(camera_photo(gps=True))
    page.set_input_files("#photo", str(picture))
    page.wait_for_selector("#test-photos img")
    assert tab.axe_violations() == []
    page.click("text=Submit test")
    page.wait_for_selector("text=Sign the test before you submit it.")
    assert page.input_value("#retest_r_check1_psid") == "6.3"
    assert page.locator("#test-photos img").count() == 1  # the photo waits with the form
    page.fill("#technician_signature [data-signature-typed]", "Theo Tech")  # lettered onto the pad, no drawing
    tab.screenshot("signed")
    page.click("text=Submit test")
    page.wait_for_url(re.compile(r".*/tests/[0-9a-f-]{36}$"))
    assert "Passed" in page.inner_text("h1")
    assert page.locator("img.signed").evaluate("image => image.naturalWidth") > 0
    assert page.locator(".photo img").count() == 1
    run_worker()
    page.wait_for_selector("text=Download the test report (PDF)", timeout=10000)
    with page.expect_download() as download:
        page.click("text=Download the test report (PDF)")
    assert download.value.suggested_filename.startswith("test-report-RP-4512-")
    tab.screenshot("recorded")
    assert [p for p in tab.problems if "status of 422" not in p] == []  # the unsigned submit was refused
