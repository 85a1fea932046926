"""A district admin reads the devices of their own water district, with each one's latest test and next due date."""
import re

from tests.district_portal.factories import DC_FAILING


def _serials(html: str) -> list[str]:
    return re.findall(r"<strong>([A-Z0-9-]+)</strong>", html)


def test_the_districts_devices_show_their_latest_test_and_next_due_date(district_admin_of, districts, acme, bravo,
                                                                        eweb):
    tested = districts.device(eweb, serial="DC-1101", address_line1="40 Cedar Lane")
    districts.tested(acme, tested, days_ago=30)
    latest = districts.tested(acme, tested, readings=DC_FAILING, printed=True)
    districts.device(eweb, serial="DC-1102")
    districts.device(districts.area(acme), serial="DC-1103")
    districts.device(acme, serial="DC-1104")
    districts.device(districts.area(bravo), serial="DC-1105")
    page = district_admin_of(eweb).get("/district/devices")
    assert page.status_code == 200 and "Eugene Water: devices" in page.text
    assert _serials(page.text) == ["DC-1101", "DC-1102"]
    first, second = page.text.split("<tr>")[2:4]
    assert "40 CEDAR LN, SPRINGFIELD, OR 97477" in first and "Failed" in first
    assert f"/district/tests/{latest.id}/report.pdf" in first
    assert "not tested yet" in second


def test_devices_are_found_by_serial_address_and_type(district_admin_of, districts, eweb):
    districts.device(eweb, serial="DC-1201", address_line1="1 Birch Boulevard")
    districts.device(eweb, serial="PVB-1202", device_type="PVB", address_line1="2 Birch Boulevard")
    browser = district_admin_of(eweb)
    assert _serials(browser.get("/district/devices?q=dc-12").text) == ["DC-1201"]
    assert _serials(browser.get("/district/devices?q=birch blvd").text) == ["DC-1201", "PVB-1202"]
    assert _serials(browser.get("/district/devices?device_type=PVB").text) == ["PVB-1202"]
    fragment = browser.htmx("get", "/district/devices?q=PVB")
    assert "<html" not in fragment.text and _serials(fragment.text) == ["PVB-1202"]
