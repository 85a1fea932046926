"""The admin asks customers to sign quotes by hand, then quotes the repair of a failed assembly at a desk and sends
it; the customer opens the emailed link on a phone, leaves out the optional item (the total follows), types their
name, is reminded to sign, signs with a finger and approves; the office finds the signature, the answer on the
dashboard and the work order made of it. A customer who uses the keyboard alone signs with the name they typed.
The office quotes a failed assembly from the repair list, which then names the quote."""
from flowtrack.quotes import services as quotes
from tests.customers.factories import Records
from tests.e2e.conftest import DESKTOP, PHONE
from tests.field_tests.factories import recorded_test
from tests.notifications.outbox import last_email, link_in
from tests.quotes.factories import sent_quote
from tests.scheduling.factories import Planner

OVERFLOW = """() => [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1).map(el => el.tagName)"""
SIGNED = "() => document.querySelector('#signature input[name=signature]').value.startsWith('data:image/png')"


def _sign_with_a_finger(page) -> None:
    """A zigzag drawn by touch across the signature pad (touch events, as a phone's screen sends them)."""
    canvas = page.locator("#signature canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    points = [{"x": box["x"] + 20 + step * (box["width"] - 40) / 12,
               "y": box["y"] + box["height"] * (0.7 if step % 2 else 0.3)} for step in range(13)]
    screen = page.context.new_cdp_session(page)
    screen.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [points[0]]})
    for point in points[1:]:
        screen.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    screen.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_the_customer_signs_and_approves_a_quote_on_a_phone(app, visit, acme):
    records = Records(app)
    harbor = records.customer(acme, name="Harbor Dairy", email="ap@harbordairy.example",
                              billing_address="PO Box 7, Springfield OR")
    device = records.device(acme, records.location(acme, harbor, address_line1="4 Creamery Lane"), serial="RP-77")

    desk = visit(DESKTOP)
    desk.sign_in(acme.members["company_admin"].email, acme.members["company_admin"].password)
    page = desk.go("/settings/")
    page.check("#signature_required")
    page.click("button:has-text('Save quote setting')")
    page.wait_for_selector("text=Quote setting saved.")
    assert page.is_checked("#signature_required")
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

    phone = visit(PHONE, touch=True)
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
    quote.click("#approve")  # forgot to sign: told so at the top, and at the pad, with the name and the choice kept
    quote.wait_for_selector("#not-decided:has-text('Not approved yet')")
    assert quote.input_value("#name") == "Dana Dairy" and not quote.is_checked("input[name=chosen]")
    assert "$185.50" in quote.inner_text("#quote-total")
    phone.screenshot("quote-refused")
    quote.click("#not-decided a")
    assert "Sign in the box" in quote.inner_text("#signature-errors")
    _sign_with_a_finger(quote)
    assert quote.evaluate(SIGNED) and quote.locator("#signature-errors").count() == 0
    quote.click("[data-signature-clear]")  # a false start, wiped
    assert quote.input_value("#signature input[name=signature]") == ""
    _sign_with_a_finger(quote)
    assert quote.evaluate(SIGNED) and quote.evaluate(OVERFLOW) == []
    phone.screenshot("quote-signing")
    assert phone.axe_violations() == []
    quote.click("#approve")
    quote.wait_for_selector("text=Approved by Dana Dairy")
    assert "not chosen" in quote.inner_text("main")
    assert quote.evaluate("() => document.querySelector('#signature-given').naturalWidth") > 0
    assert quote.evaluate(OVERFLOW) == []
    phone.screenshot("quote-approved")
    assert phone.axe_violations() == []
    assert [p for p in phone.problems if "status of 422" not in p] == []  # the unsigned approval refused, alone

    office = desk.go("/dashboard/")
    office.click("#quote-answers a:has-text('Quote 1')")
    office.wait_for_selector("#approval:has-text('Dana Dairy')")
    assert office.evaluate("() => document.querySelector('#signature').naturalWidth") > 0
    desk.screenshot("office-sees-the-signature")
    office.click("#work-order-link")
    office.wait_for_selector("text=Rebuild the first check")
    assert "RP-77" in office.inner_text("main")  # the assembly to repair
    assert "Insulated enclosure" not in office.inner_text("main")
    assert "Made of Quote 1" in office.inner_text("#from-quote")
    desk.screenshot("work-order")
    desk.assert_clean()


def test_a_customer_on_the_keyboard_alone_signs_with_the_name_they_typed(app, visit, acme):
    with Records(app).session(acme) as session:
        quotes.save_settings(session, signature_required=True)
    quote, token = sent_quote(app, acme, optional=False)
    tab = visit(DESKTOP)
    page = tab.go(f"/q/{token}")
    page.focus("#name")
    page.keyboard.type("Kim Keys")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Sign with the name I typed"
    page.keyboard.press("Enter")
    assert page.evaluate(SIGNED)
    tab.screenshot("signed-with-the-typed-name")
    page.focus("#approve")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Approved by Kim Keys")
    tab.assert_clean()


def test_the_office_quotes_a_failed_assembly_from_the_repair_list(app, visit, acme, factory):
    records = Records(app)
    place = records.location(acme, records.customer(acme, name="Harbor Creamery"), address_line1="9 Churn Road")
    device = records.device(acme, place, device_type="DC", serial="DC-3310")
    order_id = Planner(app).assign(acme, device).work_order_id
    recorded_test(app, factory, acme, device=device, readings={"check1_psid": "0.4", "check2_psid": "1.8"})
    phone = visit(PHONE)
    phone.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    page = phone.go("/due/needs-repair")
    page.click("text=Quote the repair")
    page.wait_for_selector("h1:has-text('New quote')")
    assert "DC · serial DC-3310 · failed its test" in page.inner_text("main")
    page.click("button:has-text('Start the quote')")
    page.wait_for_selector("text=Quote 1 started")
    assert "its test of" in page.inner_text("#quote-device")  # the failed test, a link away
    page = phone.go("/due/needs-repair")
    assert "Quote 1" in page.inner_text("main") and "Quote the repair" not in page.inner_text("main")
    assert page.evaluate(OVERFLOW) == []
    phone.screenshot("repair-list-names-the-quote")
    assert phone.axe_violations() == []
    page = phone.go(f"/work-orders/{order_id}")  # the visit that found it says the same
    assert "Quote 1" in page.inner_text("main") and "Quote the repair" not in page.inner_text("main")
    phone.assert_clean()
