"""A property manager, signed in as the customer's requester on a 360 px phone, asks for a test at one of the
customer's buildings with a photo of the assembly, then follows the request: its status, what was asked and the
photo sent; no invoice is shown to them anywhere."""
from tests.e2e.conftest import PHONE
from tests.field_tests.factories import camera_photo
from tests.invoices.factories import sent_invoice
from tests.service_requests.factories import portal_customer, requester

OVERFLOW = """() => [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1).map(el => el.tagName)"""


def test_a_requester_on_a_phone_asks_for_a_test_with_a_photo_and_follows_it(app, factory, visit, acme, tmp_path):
    customer, _, [(harbor, rp), (dock, dc)] = portal_customer(app, factory, acme, name="Harbor View Apartments")
    invoice = sent_invoice(app, acme, customer=customer)
    manager = requester(factory, acme, customer)
    picture = tmp_path / "assembly.jpg"
    picture.write_bytes(camera_photo())

    phone = visit(PHONE)
    phone.sign_in(manager.email, manager.password)
    page = phone.page
    page.wait_for_selector("h1:has-text('Harbor View Apartments')")  # a requester starts on the customer's account
    home = page.inner_text("main")
    assert "Ask for service" in home and dc.serial in home and invoice.label not in home and "Invoices" not in home
    assert page.evaluate(OVERFLOW) == []
    phone.screenshot("home")

    page.click("text=Ask for service")
    page.wait_for_selector("h1:has-text('Ask for service')")
    page.check("input[name=kind][value=test]")
    page.select_option("#location", str(harbor.id))
    page.check(f"input[name=devices][value='{rp.id}']")
    # Another building chosen: only its assemblies are offered, and the one ticked at the first is let go.
    page.select_option("#location", str(dock.id))
    assert page.locator(f"input[name=devices][value='{rp.id}']").is_hidden()
    assert not page.locator(f"input[name=devices][value='{rp.id}']").is_checked()
    page.check(f"input[name=devices][value='{dc.id}']")
    page.fill("#notes", "The tag in the garage says the test is due. Any weekday morning.")
    page.set_input_files("#photos", str(picture))
    assert page.evaluate(OVERFLOW) == []
    phone.screenshot("asking")
    page.click("button:has-text('Send the request')")
    page.wait_for_selector("text=You will get an email when they answer.")
    asked = page.locator(".stop").first.inner_text()
    assert "A test that is due" in asked and "Waiting for the office" in asked and dock.address_line1 in asked
    phone.screenshot("asked")

    page.locator(".stop a").first.click()
    page.wait_for_selector("h1:has-text('A test that is due')")
    facts = page.inner_text("main")
    assert "Waiting for the office" in facts and dc.serial in facts and "Any weekday morning." in facts
    photo = page.locator(".photo img").first
    photo.wait_for()
    assert page.evaluate("img => img.complete && img.naturalWidth", photo.element_handle()) > 0
    assert page.evaluate(OVERFLOW) == []
    phone.screenshot("request")
    phone.assert_clean()
