"""The day on a map: the technician opens theirs on a phone; the office orders a technician's route on the desktop and
accepts it, after a hint on the dashboard."""
import datetime as dt

from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.e2e.conftest import DESKTOP, PHONE
from tests.hints.factories import recorded_on
from tests.scheduling.factories import company_today, planner  # noqa: F401 (the fixture)

# Overflow outside the map: Leaflet's panes reach past their box, which clips them.
OVERFLOW = """() => [...document.querySelectorAll('body *')]
    .filter(el => !el.closest('.leaflet-container'))
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
    .map(el => el.tagName + '.' + el.className)"""


def _day(acme, records, planner, day, places):  # noqa: F811
    """Jobs booked for the company's technician on `day`, 7:00 to 17:00, in this route order; (name, km east) with
    None for a place with no position yet."""
    for name, east in places:
        position = {} if east is None else {"latitude": 44.05, "longitude": -123.09 + east / 80.0}
        location = records.location(acme, records.customer(acme, name=name), address_line1=f"{len(name)} {name} Way",
                                    **position)
        planner.job(acme, day=day, starts=dt.time(7), ends=dt.time(17),
                    order=planner.work_order(acme, location=location))


def test_the_technician_opens_the_map_of_their_day_on_a_phone(visit, acme, records, planner):  # noqa: F811
    _day(acme, records, planner, company_today(acme),
         [("Harbor Dairy", 0), ("Creamery Co", None), ("Mill Bakery", 4), ("Dock Works", 2)])
    tab = visit(PHONE, touch=True)
    tab.sign_in(acme.members["technician"].email, acme.members["technician"].password)
    page = tab.go("/my-day/")
    page.wait_for_selector("#day-map[data-drawn='3']")
    assert page.locator("#day-map .stop-marker").all_inner_texts() == ["1", "3", "4"]
    assert page.locator("#day-map path.route-line").count() == 1
    assert page.locator("#day-map .leaflet-tile").count() == 0  # no tile server here: a plain background
    assert "2. Creamery Co" in page.inner_text("#no-position")
    box = page.locator("#day-map").bounding_box()
    assert box["width"] <= 360 and box["height"] >= 200
    assert page.evaluate(OVERFLOW) == [] and tab.axe_violations() == []
    tab.screenshot("day-map-phone")
    page.locator("#day-map .stop-marker", has_text="3").click()
    page.wait_for_selector(".leaflet-popup-content >> text=3. Mill Bakery")
    tab.screenshot("day-map-phone-stop")
    tab.assert_clean()  # no console error, no CSP violation


def test_the_office_orders_a_technicians_route_and_accepts_it(app, visit, acme, records, planner):  # noqa: F811
    today = company_today(acme)
    failing = records.device(acme, device_type="DC", serial="DC-7001")
    for back in (120, 10):
        recorded_on(app, acme, failing, today - dt.timedelta(days=back))
    day = today + dt.timedelta(days=1)
    _day(acme, records, planner, day, [("Anchor Foods", 0), ("Cedar Court", 6), ("Birch Hall", 3),
                                       ("Dock Works", 9), ("Elm Motel", None)])

    tab = visit(DESKTOP)
    tab.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    page = tab.page
    assert "Replace DC DC-7001?" in page.inner_text("#hints")
    tab.screenshot("dashboard-hints")
    page.click("#hints >> text=Dismiss")
    page.wait_for_selector("text=Hint dismissed for everyone in the company.")
    assert "Replace DC DC-7001?" not in page.inner_text("#hints")

    page = tab.go(f"/schedule/day/{acme.members['technician'].user_id}/{day.isoformat()}")
    page.wait_for_selector("#day-map[data-drawn='4']")
    page.click("text=Order the route")
    page.wait_for_selector("#day-map[data-drawn='4']")
    assert page.inner_text("#km-saved") == "6.0 km"
    assert page.locator("#proposed-order li").all_inner_texts()[1].startswith("2Birch Hall")
    assert tab.axe_violations() == []
    tab.screenshot("route-proposal")
    page.click("text=Accept this order")
    page.wait_for_selector("text=Route ordered: 6.0 km less driving.")
    names = [text.split(", ")[0] for text in page.locator(".stops h2").all_inner_texts()]
    assert names == ["Anchor Foods", "Birch Hall", "Cedar Court", "Dock Works", "Elm Motel"]
    assert page.locator("#day-map .stop-marker").all_inner_texts() == ["1", "2", "3", "4"]
    tab.screenshot("route-accepted")
    tab.assert_clean()
