"""A district admin signs in, filters their district's tests with the keyboard, downloads the CSV and a report,
on a phone and on a desktop."""
import csv
import io

import pytest
from pypdf import PdfReader

from tests.customers.factories import Records
from tests.district_portal.factories import DC_FAILING, districts  # noqa: F401 (the fixture)
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_office_records import OVERFLOW


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_district_admin_filters_the_tests_and_downloads_the_csv_and_a_report(visit, acme, districts,  # noqa: F811
                                                                               viewport):
    area = districts.area(acme, "Eugene Water")
    passed = districts.tested(acme, districts.device(area, serial="DC-E2E1", address_line1="12 Main Street"),
                              printed=True)
    districts.tested(acme, districts.device(area, serial="DC-E2E2"), readings=DC_FAILING)
    tab = visit(viewport)
    tab.sign_in(area.admin.email, area.admin.password)
    page = tab.page
    assert "Eugene Water: tests" in page.inner_text("h1")
    assert page.locator("#district-tests tr").count() == 2
    assert tab.axe_violations() == [] and page.evaluate(OVERFLOW) == []

    page.focus("#result")
    page.keyboard.press("ArrowDown")  # "Passed", chosen from the keyboard; htmx swaps the rows in place
    page.wait_for_url("**result=pass**")
    page.wait_for_function("document.querySelectorAll('#district-tests tr').length === 1")
    assert "DC-E2E1" in page.inner_text("#district-tests")

    with page.expect_download() as download:
        page.click("text=Download CSV")
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert [row["serial"] for row in rows] == ["DC-E2E1"] and rows[0]["address"].startswith("12 MAIN ST")

    with page.expect_download() as download:
        page.click(f"a[href='/district/tests/{passed.id}/report.pdf']")
    text = "".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    assert "DC-E2E1" in text

    page.click("nav[aria-label=District] >> text=Devices")
    page.wait_for_url("**/district/devices")
    assert page.locator("#district-devices tr").count() == 2
    assert tab.axe_violations() == [] and page.evaluate(OVERFLOW) == []
    tab.screenshot("devices")
    tab.assert_clean()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_an_admin_invites_a_district_admin_for_one_of_the_companys_districts(visit, app, acme, viewport):
    Records(app).district(acme, name="Eugene Water")
    tab = visit(viewport)
    admin = acme.members["company_admin"]
    tab.sign_in(admin.email, admin.password)
    page = tab.go("/team/")
    assert tab.axe_violations() == [] and page.evaluate(OVERFLOW) == []
    email = f"dana-{viewport['width']}@eweb.example"
    page.fill("#full_name", "Dana District")
    page.fill("#email", email)
    assert not page.is_visible("#district")  # only a district admin has a district
    page.select_option("#role", "district_admin")
    assert page.is_visible("#district")
    page.click("text=Send invitation")
    page.wait_for_selector("text=Choose the water district")  # asked for, next to the field
    page.select_option("#district", label="Eugene Water")
    page.click("text=Send invitation")
    page.wait_for_selector(f"text=Invitation sent to {email}")
    member = page.locator(f"li:has-text('{email}')")
    assert "Eugene Water" in member.locator(".muted").inner_text()
    member.locator("summary").click()
    assert member.locator("select[name=district]").input_value() != ""  # the role form keeps the district
    member.locator("select[name=role]").select_option("manager")
    assert not member.locator("select[name=district]").is_visible()
    member.locator("select[name=role]").select_option("district_admin")
    assert tab.axe_violations() == [] and page.evaluate(OVERFLOW) == []
    tab.screenshot("invited")
    # The browser reports the refused first try (422) as a failed load; nothing else may show up.
    assert [p for p in tab.problems if "status of 422" not in p] == []
