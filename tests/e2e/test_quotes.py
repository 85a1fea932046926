"""The office quotes the repair of a failed assembly at a desk and sends it; the customer opens the emailed link on
a phone, leaves out the optional item (the total follows), types their name and approves; the office finds the
work order made of it."""
from tests.customers.factories import Records
from tests.e2e.conftest import DESKTOP, PHONE
from tests.notifications.outbox import last_email, link_in

OVERFLOW = """() => [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1).map(el => el.tagName)"""


def test_the_customer_approves_a_quote_on_a_phone(app, visit, acme):
    records = Records(app)
    harbor = records.customer(acme, name="Harbor Dairy", email="ap@harbordairy.example",
                              billing_address="PO Box 7, Springfield OR")
    device = records.device(acme, records.location(acme, harbor, address_line1="4 Creamery Lane"), serial="RP-77")

    desk = visit(DESKTOP)
    desk.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    page = desk.go(f"/devices/{device.id}")
    page.click("text=New quote")
    page.wait_for_selector("h1:has-text('New quote')")
    page.fill("#notes", "Parts are on the van.")
    page.click("button:has-text('Start the quote')")
    page.wait_for_selector("text=Quote 1 started")
    for description, price, optional in (("Rebuild the first check", "185.50", False),
                                         ("Insulated enclosure", "189.00", True)):
        page.fill("#description", description)
        page.fill("#quantity", "1")
        page.fill("#unit_price", price)
        if optional:
            page.check("#optional")
        page.click("button:has-text('Add the line')")
        page.wait_for_selector(f"td:has-text('{description}')")
    desk.screenshot("office-quote")
    assert desk.axe_violations() == []
    desk.assert_clean()
    page.click("button:has-text('Send version 1 to the customer')")
    page.wait_for_selector("text=sent to ap@harbordairy.example")

    phone = visit(PHONE)
    quote = phone.go(link_in(last_email(app, "ap@harbordairy.example").body))
    quote.wait_for_selector("h1:has-text('Quote 1')")
    assert "$374.50" in quote.inner_text("#quote-total")
    assert quote.evaluate(OVERFLOW) == []
    phone.screenshot("quote-opened")
    assert phone.axe_violations() == []
    phone.assert_clean()
    quote.uncheck("input[name=chosen]")
    quote.wait_for_selector("#total-amount:has-text('$185.50')")
    quote.fill("#name", "Dana Dairy")
    phone.screenshot("quote-signing")
    quote.click("#approve")
    quote.wait_for_selector("text=Approved by Dana Dairy")
    assert "not chosen" in quote.inner_text("main")
    assert quote.evaluate(OVERFLOW) == []
    phone.screenshot("quote-approved")
    assert phone.axe_violations() == []
    phone.assert_clean()

    office = desk.go("/quotes/")
    office.click("text=Quote 1")
    office.wait_for_selector("#approval:has-text('Dana Dairy')")
    office.click("#work-order-link")
    office.wait_for_selector("text=Rebuild the first check")
    assert "RP-77" in office.inner_text("main")  # the assembly to repair
    assert "Insulated enclosure" not in office.inner_text("main")
    desk.screenshot("work-order")
    desk.assert_clean()
