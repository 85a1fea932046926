"""A property manager asks for a repair from the portal on a phone; the office makes a work order of it at a desk;
the manager reads the answer on the phone."""
from tests.e2e.conftest import DESKTOP, PHONE
from tests.service_requests.factories import portal_customer

OVERFLOW = """() => [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1).map(el => el.tagName)"""


def test_a_repair_asked_on_a_phone_becomes_a_work_order_and_the_customer_sees_it(app, factory, visit, acme):
    customer, member, [(harbor, rp), (dock, _)] = portal_customer(app, factory, acme)

    phone = visit(PHONE)
    phone.sign_in(member.email, member.password)
    page = phone.go("/portal/")
    page.click("text=Ask for service")
    page.wait_for_selector("h1:has-text('Ask for service')")
    page.check("input[name=kind][value=repair]")
    page.select_option("#location", str(harbor.id))
    page.check(f"input[name=devices][value='{rp.id}']")
    page.fill("#notes", "The relief valve drips; gate code 2468.")
    assert page.evaluate(OVERFLOW) == []
    phone.screenshot("asking")
    page.click("button:has-text('Send the request')")
    page.wait_for_selector("text=You will get an email when they answer.")
    asked = page.locator(".stop").first.inner_text()
    assert "A repair" in asked and "Waiting for the office" in asked and harbor.address_line1 in asked
    phone.screenshot("asked")
    phone.assert_clean()

    desk = visit(DESKTOP)
    desk.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    queue = desk.go("/requests/")
    row = queue.locator("tr", has_text="Harbor Dairy")
    assert "A repair" in row.inner_text() and "waiting" in row.inner_text()
    row.locator("a").first.click()
    queue.wait_for_selector("h1:has-text('A repair')")
    assert rp.serial in queue.locator(".facts").inner_text()
    desk.screenshot("request")
    queue.click("button:has-text('Make the work order')")
    queue.wait_for_selector("text=Work order made; the customer is emailed.")
    queue.click("text=Open the work order")
    queue.wait_for_selector(f"text={rp.serial}")
    assert "gate code 2468" in queue.inner_text("main")
    desk.screenshot("work-order")
    desk.assert_clean()

    answered = phone.go("/portal/requests/")
    assert "Work order made" in answered.locator(".stop").first.inner_text()
    phone.screenshot("answered")
    phone.assert_clean()
