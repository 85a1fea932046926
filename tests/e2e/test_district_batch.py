"""The office files test reports on a district's own portal, at a desk (1280 px): one report at a time from its
ready-to-copy sheet, copying each value with the mouse or the keyboard; then the rest as a batch file in the
district's columns, arranged from the Texas preset with the keyboard."""
import csv
import io
import re

from flowtrack.models.customers import District
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_office_records import OVERFLOW
from tests.submissions.factories import portal_test
from tests.submissions.test_district_batch import _stored, _submissions


def _signed_in_office(visit, acme, viewport=DESKTOP):
    tab = visit(viewport)
    office = acme.members["manager"]
    tab.sign_in(office.email, office.password)
    tab.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=tab.base_url)
    return tab


def test_the_office_copies_a_reports_values_onto_the_districts_portal_and_marks_it_submitted(visit, app, factory,
                                                                                            acme):
    first, submission = portal_test(app, factory, acme, name="Springfield Utility Board",
                                    portal_url="https://backflow.sub.example/")
    district_id = submission.district_id
    second, following = portal_test(app, factory, acme, district=_stored(app, District, district_id))
    tab = _signed_in_office(visit, acme)
    page = tab.go(f"/submissions/districts/{district_id}")
    page.click("text=Open the first report waiting")
    page.wait_for_url(f"**/submissions/{submission.id}/sheet")
    assert page.inner_text("h1") == f"Ready to copy: DC {first.facts['device']['serial']}"
    headings = page.locator(".copy-sheet th").all_inner_texts()
    assert headings[:4] == ["Test Date", "Tester", "Tester Certification", "Test Kit Serial"]
    assert page.get_attribute("text=Open the district's portal", "href") == "https://backflow.sub.example/"
    assert tab.axe_violations() == [] and page.evaluate(OVERFLOW) == []

    page.click("button[aria-label='Copy Tester']")
    page.wait_for_selector("#copy-status:has-text('Copied Tester: ')")
    assert page.evaluate("navigator.clipboard.readText()") == first.facts["tester"]
    assert page.inner_text("button[aria-label='Copy Tester']") == "Copied"

    serial = page.locator("button[aria-label='Copy Serial Number']")
    serial.focus()
    page.keyboard.press("Enter")  # the keyboard copies too
    page.wait_for_selector(f"#copy-status:has-text('Copied Serial Number: {first.facts['device']['serial']}')")
    assert page.evaluate("navigator.clipboard.readText()") == first.facts["device"]["serial"]
    assert page.inner_text("button[aria-label='Copy Tester']") == "Copy"  # one "Copied" at a time
    tab.screenshot("sheet-copied")

    page.fill("#confirmation_number", "SUB-2231")
    page.click("text=Mark submitted and open the next")
    page.wait_for_url(f"**/submissions/{following.id}/sheet")
    assert "Marked submitted. This is the next report waiting." in page.inner_text("#flash")
    assert second.facts["device"]["serial"] in page.inner_text("h1")
    page.click("text=Mark submitted")
    page.wait_for_url(f"**/submissions/districts/{district_id}")
    assert "Nothing else is waiting to be filed one by one." in page.inner_text("#flash")
    assert [(s.status, s.confirmation_number) for s in _submissions(app, district_id)] == \
        [("submitted", "SUB-2231"), ("submitted", None)]
    tab.assert_clean()


def test_the_office_arranges_the_texas_columns_with_the_keyboard_and_uploads_a_batch(visit, app, factory, acme):
    record, submission = portal_test(app, factory, acme, name="Austin Water")
    district_id = submission.district_id
    portal_test(app, factory, acme, district=_stored(app, District, district_id))
    tab = _signed_in_office(visit, acme)
    page = tab.go(f"/submissions/districts/{district_id}")
    page.click("text=Change the columns")
    page.select_option("#preset", "tceq_20700")
    page.click("text=Use this preset")
    page.wait_for_selector("text=Save them to use them")
    assert page.input_value("#columns-0-header") == "Name of PWS"
    assert page.evaluate("document.activeElement.textContent") == "Save the columns"

    page.focus("button[aria-label='Move column 2 down']")  # PWS ID# below the mailing address, by keyboard
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.input_value("#columns-2-header") == "PWS ID#"
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Move column 3 down"
    page.focus("button[aria-label='Remove column 2']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Remove column 2"
    page.fill("#columns-2-header", "PWS Contact")
    page.keyboard.press("Enter")  # Enter in a heading saves, as in any form
    page.wait_for_url(f"**/submissions/districts/{district_id}#portal-filing")
    assert "The batch file's columns are saved." in page.inner_text("#flash")
    assert "the company's own (34)" in page.inner_text("#portal-filing")
    assert tab.axe_violations() == [] and page.evaluate(OVERFLOW) == []

    page.click("text=Make a batch of all reports to submit (2)")
    page.wait_for_selector("text=A batch of 2 reports is ready")
    with page.expect_download() as download:
        page.click("text=Download the batch file (CSV)")
    rows = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert rows[0][:4] == ["Name of PWS", "PWS ID#", "PWS Contact", "Address of Service"]
    assert len(rows) == 3 and {row[0] for row in rows[1:]} == {"Austin Water"}
    tab.screenshot("batch-made")
    page.fill("input[name=confirmation_number]", "ATX-99812")
    page.click("button:has-text('Mark the batch submitted')")
    page.wait_for_selector("text=2 reports marked submitted, confirmation ATX-99812.")
    assert re.search(r"2 reports, submitted .* confirmation ATX-99812", page.inner_text("#portal-filing"))
    assert {(s.status, s.confirmation_number) for s in _submissions(app, district_id)} == {("submitted", "ATX-99812")}
    tab.screenshot("batch-submitted")
    tab.assert_clean()


def test_the_copy_sheet_and_the_columns_fit_a_phone(visit, app, factory, acme):
    _, submission = portal_test(app, factory, acme)
    tab = _signed_in_office(visit, acme, PHONE)
    district = f"/submissions/districts/{submission.district_id}"
    for name, path in (("sheet", f"/submissions/{submission.id}/sheet"), ("columns", f"{district}/columns"),
                       ("district", district)):
        page = tab.go(path)
        assert page.evaluate(OVERFLOW) == [], path
        assert tab.axe_violations() == [], path
        tab.screenshot(name)
    tab.assert_clean()
