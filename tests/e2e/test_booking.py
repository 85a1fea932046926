"""The office opens next week's mornings for its technician at a desk; the customer, on a phone, books one for the
assemblies coming due and reads the booking in the company's local date and time; the office finds it on the
board."""
import datetime as dt
import zoneinfo

from tests.booking.factories import customer_coming_due, next_monday, portal_member
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_quotes import OVERFLOW


def test_the_customer_books_a_test_on_a_phone(app, factory, visit, acme):
    monday = next_monday(acme)
    customer, location, devices = customer_coming_due(app, acme, devices=2, name="Harbor Dairy")
    member = portal_member(factory, acme, customer)

    desk = visit(DESKTOP)
    desk.sign_in(acme.members["scheduler"].email, acme.members["scheduler"].password)
    page = desk.go("/booking/")
    page.select_option("#technician", str(acme.members["technician"].user_id))
    page.fill("#first", monday.isoformat())
    page.fill("#last", (monday + dt.timedelta(days=4)).isoformat())
    page.click("button:has-text('Open the windows')")
    page.wait_for_selector("text=5 windows opened.")
    assert page.locator("#windows tbody tr").count() == 5
    desk.screenshot("office-windows")
    assert desk.axe_violations() == []
    desk.assert_clean()

    phone = visit(PHONE)
    phone.sign_in(member.email, member.password)
    home = phone.go("/portal/")
    home.click("text=Book a time for it online")
    home.wait_for_selector("h1:has-text('Book your test')")
    assert all(d.serial in home.inner_text("main") for d in devices)
    assert home.evaluate(OVERFLOW) == []
    phone.screenshot("booking-page")
    assert phone.axe_violations() == []
    tuesday = monday + dt.timedelta(days=1)
    home.locator("fieldset.booking-day", has_text=f"{tuesday:%B} {tuesday.day}").locator("input[name=window]").check()
    home.click("button:has-text('Book this time')")
    home.wait_for_selector("text=Booked: Tuesday")
    booked = home.inner_text("#your-bookings")
    zone = dt.datetime.combine(tuesday, dt.time(7), zoneinfo.ZoneInfo(acme.company.timezone)).strftime("%Z")
    assert f"Tuesday, {tuesday:%B} {tuesday.day}, morning (07:00–12:00 {zone})" in booked and "Booked" in booked
    assert home.evaluate(OVERFLOW) == []
    phone.screenshot("booked")
    assert phone.axe_violations() == []
    phone.assert_clean()

    board = desk.go(f"/schedule/?week={monday.isoformat()}")
    board.wait_for_selector("text=Harbor Dairy")
    desk.screenshot("board")
    desk.assert_clean()
