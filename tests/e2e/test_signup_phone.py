"""Sign-up in a real browser on a phone: the form fits the screen, passes axe, and lands on the dashboard."""
import re
import secrets

from tests.e2e.conftest import PHONE


def test_a_new_company_signs_up_on_a_phone(visit):
    tab = visit(PHONE)
    page = tab.go("/login")
    page.click("text=Create a company account")
    page.wait_for_url("**/signup")
    assert tab.axe_violations() == []
    overflow = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1).length""")
    assert overflow == 0
    tag = secrets.token_hex(3)
    page.fill("#company_name", f"Pocket Backflow {tag}")
    page.select_option("#timezone", "America/Denver")
    page.select_option("#plan", "basic")
    page.fill("#full_name", "Sam Ortiz")
    page.fill("#email", f"sam.{tag}@example.com")
    page.fill("#password", "short")
    page.fill("#confirm", "short")
    page.click("button[type=submit]")
    assert "Use at least 12 characters." in page.inner_text("#password-errors")
    tab.screenshot("refused")
    page.fill("#password", "copper kettle on a windy porch")
    page.fill("#confirm", "copper kettle on a windy porch")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard/$"))
    assert page.locator("h1").inner_text() == f"Pocket Backflow {tag}"
    tab.screenshot("dashboard")
    # The browser reports the refused first try (422) as a failed load; nothing else may show up.
    assert [p for p in tab.problems if "status of 422" not in p] == []
