"""The office's pages in a real browser: active search, in-place edit, no CSP or accessibility problems, and
nothing wider than a phone."""
import datetime as dt
import re

from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.e2e.conftest import DESKTOP, PHONE

OVERFLOW = """() => [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
    .map(el => el.tagName + '.' + el.className)"""


def _records(records, acme):  # noqa: F811 (records)
    district = records.district(acme, name="Eugene Water & Electric Board")
    harbor = records.customer(acme, name="Harbor View Apartments", phone="541-555-0101",
                              email="manager@harborview.example")
    records.customer(acme, name="Hartley Farms")
    records.customer(acme, name="Oakwood Elementary")
    location = records.location(acme, harbor, address_line1="123 Main Street", district_id=district.id,
                                access_notes="Gate code 2468")
    device = records.device(acme, location, serial="AB-1001", size="2", last_test_on=dt.date(2025, 6, 1))
    records.gauge(acme, serial="K-100")
    return harbor, location, device


def test_the_office_searches_as_it_types_and_fixes_a_phone_number_in_place(visit, acme, records):  # noqa: F811 (records)
    harbor, _, _ = _records(records, acme)
    tab = visit(DESKTOP)
    tab.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    page = tab.go("/customers/")
    page.locator("#q").press_sequentially("har")
    page.wait_for_function("() => !document.querySelector('#customer-rows').innerText.includes('Oakwood')")
    assert re.search(r"/customers/\?q=har(&|$)", page.url)  # pushed, so a reload or a shared link shows the same
    assert page.locator("#customer-rows td:first-child a").all_inner_texts() == ["Harbor View Apartments",
                                                                                     "Hartley Farms"]
    row = f"#customer-{harbor.id}"
    page.click(f"{row} >> text=Edit phone/email")
    page.wait_for_selector(f"{row}.editing")
    page.fill(f"#phone-{harbor.id}", "541-555-0199")
    page.click(f"{row} >> text=Save")
    page.wait_for_selector(f"{row}:not(.editing)")
    assert "541-555-0199" in page.inner_text(row)
    tab.screenshot("after-inline-edit")
    tab.assert_clean()


def test_the_office_pages_pass_axe_and_fit_a_phone(visit, acme, records):  # noqa: F811 (records)
    harbor, location, device = _records(records, acme)
    paths = ["/customers/", f"/customers/{harbor.id}", f"/customers/{harbor.id}/edit", f"/locations/{location.id}",
             f"/customers/{harbor.id}/locations/new", f"/devices/{device.id}", f"/devices/{device.id}/edit",
             "/devices/", "/due/?window=90", "/import/", "/districts/", "/districts/new", "/gauges/", "/gauges/new"]
    for viewport in (PHONE, DESKTOP):
        tab = visit(viewport)
        tab.sign_in(acme.members["manager"].email, acme.members["manager"].password)
        for path in paths:
            page = tab.go(path)
            assert tab.axe_violations() == [], path
            if viewport is PHONE:
                assert page.evaluate(OVERFLOW) == [], path
        tab.screenshot("phone" if viewport is PHONE else "desktop")
        tab.assert_clean()
