"""Main journeys of every role in a real browser, on a phone and on a desktop."""
import io
import zipfile

import pytest
from pypdf import PdfReader

from tests.e2e.conftest import DESKTOP, PHONE

ROLES = ["company_admin", "manager", "technician", "auditor", "customer", "district_admin"]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("role", ROLES)
def test_every_role_signs_in_and_sees_a_clean_dashboard(visit, acme, role, viewport):
    tab = visit(viewport)
    member = acme.members[role]
    tab.sign_in(member.email, member.password)
    start = {"technician": "/my-day/", "customer": "/portal/", "auditor": "/audit/", "district_admin": "/district/"}
    assert tab.page.url.endswith(start.get(role, "/dashboard/"))
    page = tab.go("/dashboard/")
    assert page.locator("h1").inner_text() == acme.company.name
    # Nothing wider than the screen except inside the scrollable table wrappers.
    overflow = page.evaluate("""() => [...document.querySelectorAll('body *')].filter(el => {
        if (el.closest('.table-wrap')) return false;
        const r = el.getBoundingClientRect(); return r.right > window.innerWidth + 1; }).length""")
    assert overflow == 0
    if viewport is PHONE:
        page.click("label.nav-toggle-label")
    page.click("text=Sign out")
    page.wait_for_url("**/login")
    tab.screenshot("signed-out")
    tab.assert_clean()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_office_finds_its_pages_in_a_few_menu_groups(visit, acme, viewport):
    tab = visit(viewport)
    tab.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    page = tab.page
    nav = page.locator("nav.nav")
    if viewport is PHONE:
        page.click("label.nav-toggle-label")
    assert [s.strip() for s in nav.locator("summary").all_inner_texts()] == ["Work", "Customers", "Equipment", "Money"]
    assert not nav.locator("text=Work orders").is_visible()  # inside its closed group
    nav.locator("summary", has_text="Work").click()
    nav.locator("a", has_text="Work orders").click()
    page.wait_for_url("**/work-orders/")
    if viewport is PHONE:
        page.click("label.nav-toggle-label")
    assert "current" in nav.locator("details", has_text="Work").get_attribute("class")
    assert tab.axe_violations() == []
    tab.screenshot("menu")
    tab.assert_clean()


def test_the_main_pages_have_no_serious_accessibility_violations(visit, acme):
    tab = visit(DESKTOP)
    tab.go("/login")
    assert tab.axe_violations() == []
    admin = acme.members["company_admin"]
    tab.sign_in(admin.email, admin.password)
    for path in ("/dashboard/", "/audit/", "/account/export/", "/security/"):
        tab.go(path)
        assert tab.axe_violations() == [], path
    tab.assert_clean()


def test_an_auditor_filters_the_log_and_exports_csv_and_pdf(visit, acme, run_worker):
    tab = visit(DESKTOP)
    auditor = acme.members["auditor"]
    tab.sign_in(auditor.email, auditor.password)
    page = tab.go("/audit/")
    page.click("summary")
    page.fill("#action", "user.created")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**action=user.created**")
    assert page.locator("#audit-rows tr").count() == len(acme.members)
    page.locator("#audit-rows a").first.click()
    page.wait_for_selector("#audit-detail >> text=Entry #")
    tab.screenshot("filtered")
    for fmt in ("csv", "pdf"):
        page.check(f"input[name=format][value={fmt}]")
        page.click("text=Build report")
        page.wait_for_selector("#reports-list >> text=Waiting for a worker")
        run_worker()
        with page.expect_download() as download:
            # The newest report is the first item; wait for its own link, not an older report's.
            page.locator("#reports-list li").first.locator("a.button").click(timeout=15_000)
        data = open(download.value.path(), "rb").read()
        if fmt == "csv":
            assert f"# Entries: {len(acme.members)}".encode() in data and b"user.created" in data
        else:
            text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
            assert "user.created" in text
    tab.screenshot("reports")
    tab.assert_clean()


def test_an_admin_exports_all_data_and_downloads_the_zip(visit, acme, run_worker):
    tab = visit(PHONE)
    admin = acme.members["company_admin"]
    tab.sign_in(admin.email, admin.password)
    page = tab.go("/account/export/")
    page.click("text=Export all data")
    page.wait_for_selector("#exports-list >> text=Waiting for a worker")
    assert not page.is_visible("text=No exports yet.")  # the list has one now
    run_worker()
    with page.expect_download() as download:
        page.locator("#exports-list a.button").first.click(timeout=15_000)
    archive = zipfile.ZipFile(download.value.path())
    assert "manifest.json" in archive.namelist() and "csv/profiles.csv" in archive.namelist()
    tab.screenshot("export-done")
    tab.assert_clean()


def test_anyone_reads_the_security_page_on_a_phone(visit):
    tab = visit(PHONE)
    page = tab.go("/security/")
    assert "How FlowTrack handles your data" in page.inner_text("h1")
    page.click("text=Backups and recovery")
    assert "restore drill" in page.inner_text("main")
    tab.screenshot("security")
    tab.assert_clean()
