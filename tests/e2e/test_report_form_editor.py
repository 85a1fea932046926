"""The district report form editor in a real browser: typed with the keyboard alone on a phone, checked live,
previewed in its sandboxed frame, saved; no CSP or accessibility problems, nothing wider than the phone."""
from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_office_records import OVERFLOW


def test_the_admin_writes_checks_previews_and_saves_a_form_with_the_keyboard(visit, acme, records):  # noqa: F811
    district = records.district(acme, name="Eugene Water")
    tab = visit(PHONE)
    tab.sign_in(acme.members["company_admin"].email, acme.members["company_admin"].password)
    page = tab.go(f"/districts/{district.id}/report-form")
    assert tab.axe_violations() == [] and page.evaluate(OVERFLOW) == []

    page.focus("#report_template")
    page.keyboard.type("<h1>EWEB report</h1>\n<p>{{ device.serial }} {% if test.result %}")
    page.wait_for_selector("#report-form-check .form-check-problem")
    assert "(line 2)" in page.inner_text("#report-form-check")
    page.keyboard.type("{{ test.result|upper }}{% endif %}</p>")
    page.wait_for_selector("#report-form-check .form-check-ok")

    page.keyboard.press("Tab")  # to "Save the form"
    page.keyboard.press("Tab")  # "Check"
    page.keyboard.press("Tab")  # "Preview below"
    assert page.evaluate("document.activeElement.textContent") == "Preview below"
    page.keyboard.press("Enter")
    preview = page.frame(name="report-preview")
    preview.wait_for_selector("h1")
    assert preview.inner_text("p") == "SAMPLE-0001 PASS"
    assert page.evaluate(OVERFLOW) == []
    tab.screenshot("previewed")

    page.focus("text=Save the form")
    page.keyboard.press("Enter")
    page.wait_for_selector(".flash-success")
    assert "report form saved" in page.inner_text(".flash-success")
    assert tab.axe_violations() == []
    tab.assert_clean()


def test_a_refused_form_keeps_its_text_and_says_why_next_to_the_field(visit, acme, records):  # noqa: F811
    district = records.district(acme, name="Lane Water")
    tab = visit(DESKTOP)
    tab.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    page = tab.go(f"/districts/{district.id}/report-form?start=standard")
    page.fill("#report_template", "<p>{{ 1 / 0 }}</p>")
    page.click("text=Save the form")
    page.wait_for_selector("#report_template-errors")
    assert "(line 1): division by zero" in page.inner_text("#report_template-errors")
    assert page.input_value("#report_template") == "<p>{{ 1 / 0 }}</p>"
    assert tab.axe_violations() == []
    # The browser reports the refused save (422) as a failed load; nothing else may show up.
    assert [p for p in tab.problems if "status of 422" not in p] == []
