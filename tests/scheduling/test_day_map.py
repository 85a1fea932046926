"""The day on a map: the technician's on the phone and the office's view of it, points in route order with the places
that have no position yet listed beside; the office orders the route and accepts the proposal, or the day says why
it cannot be ordered."""
import datetime as dt
import json
import re
from html import unescape

import sqlalchemy as sa

from flowtrack.models.scheduling import ScheduledJob
from flowtrack.schedule import services as schedule
from tests.customers.test_customers import audit_entries
from tests.scheduling.factories import company_today

EUGENE = (44.05, -123.09)


def at_km(east: float) -> dict:
    """A place so many km east of a corner of Eugene, Oregon."""
    return {"latitude": EUGENE[0], "longitude": EUGENE[1] + east / 80.0}


def read(page) -> str:
    """The page's words as read, without its tags."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)))


def map_points(page) -> list[dict]:
    found = re.search(r"data-points='([^']*)'", page.text)
    return json.loads(unescape(found.group(1))) if found else []


def a_day(acme, records, planner, day, places, *, starts=dt.time(7), ends=dt.time(17)):
    """Jobs booked for the company's technician on `day` at places named and positioned as given (None: no position),
    in that route order."""
    jobs = []
    for name, position in places:
        location = records.location(acme, records.customer(acme, name=name), **(position or {}))
        jobs.append(planner.job(acme, day=day, starts=starts, ends=ends,
                                order=planner.work_order(acme, location=location)))
    return jobs


def positions(app, jobs) -> list[int]:
    with app.extensions["flowtrack.db"].service() as session:
        stored = {job.id: job.route_position for job in session.scalars(
            sa.select(ScheduledJob).where(ScheduledJob.id.in_([job.id for job in jobs])))}
    return [stored[job.id] for job in jobs]


def test_the_technician_sees_the_day_on_a_map_in_route_order_and_the_places_with_no_position_yet(
        acme, technician, records, planner):
    today = company_today(acme)
    a_day(acme, records, planner, today, [("Harbor Dairy", at_km(0)), ("Creamery Co", None),
                                          ("Mill Bakery", at_km(4))])
    page = technician.get("/my-day/")
    assert page.status_code == 200
    points = map_points(page)
    assert [(p["n"], p["name"]) for p in points] == [(1, "Harbor Dairy"), (3, "Mill Bakery")]
    assert points[0]["lat"] == EUGENE[0] and points[0]["time"] == "07:00–17:00"
    assert 'data-tiles=""' in page.text and "on a plain background" in page.text
    no_position = unescape(page.text.split('id="no-position"', 1)[1].split("</div>", 1)[0])
    assert "No position yet" in no_position and "2. Creamery Co" in no_position
    assert "/static/vendor/leaflet/leaflet.js" in page.text and "/static/day_map.js" in page.text
    assert "img-src 'self' data: blob:;" in page.headers["Content-Security-Policy"]


def test_a_day_with_no_position_anywhere_draws_no_map_and_an_empty_day_shows_none(
        acme, technician, records, planner):
    today = company_today(acme)
    a_day(acme, records, planner, today, [("Creamery Co", None)])
    page = technician.get("/my-day/")
    assert map_points(page) == [] and "leaflet.js" not in page.text and "No position yet" in page.text
    empty = technician.get(f"/my-day/?date={(today + dt.timedelta(days=40)).isoformat()}")
    assert "The day on a map" not in empty.text


def test_with_a_tile_server_set_the_map_draws_on_its_tiles_and_the_page_may_load_them(app_factory, acme, records,
                                                                                        planner):
    app = app_factory(MAP_TILE_URL="https://{s}.tiles.example.org/{z}/{x}/{y}.png",
                      MAP_TILE_ATTRIBUTION="© Example contributors")
    a_day(acme, records, planner, company_today(acme), [("Harbor Dairy", at_km(0))])
    browser = app.test_client()
    browser.sign_in_as(acme.members["technician"])
    page = browser.get("/my-day/")
    assert 'data-tiles="https://{s}.tiles.example.org/{z}/{x}/{y}.png"' in page.text
    assert "img-src 'self' data: blob: https://*.tiles.example.org;" in page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]


def test_the_office_orders_a_technicians_route_sees_the_km_saved_and_accepts_it(app, acme, office, records, planner):
    day = company_today(acme) + dt.timedelta(days=1)
    a, c, b, d, nowhere = a_day(acme, records, planner, day, [
        ("Anchor Foods", at_km(0)), ("Cedar Court", at_km(6)), ("Birch Hall", at_km(3)), ("Dock Works", at_km(9)),
        ("Elm Motel", None)])
    technician_id = acme.members["technician"].user_id
    day_page = office.get(f"/schedule/day/{technician_id}/{day.isoformat()}")
    route_url = f"/schedule/day/{technician_id}/{day.isoformat()}/route"
    assert day_page.status_code == 200 and f'href="{route_url}">Order the route' in day_page.text
    assert [p["name"] for p in map_points(day_page)] == ["Anchor Foods", "Cedar Court", "Birch Hall", "Dock Works"]

    proposal = office.get(route_url)
    said = read(proposal)
    assert "Now 15.0 km" in said and "Proposed 9.0 km" in said and 'Saved 6.0 km' in said
    order = re.findall(r'<span class="stop-number">\d+</span><strong>([^<]+)</strong>', proposal.text)
    assert order == ["Anchor Foods", "Birch Hall", "Cedar Court", "Dock Works", "Elm Motel"]
    assert "(now stop 3)" in said and "no position yet" in said
    assert [p["name"] for p in map_points(proposal)] == ["Anchor Foods", "Birch Hall", "Cedar Court", "Dock Works"]
    accepted_order = re.search(r'name="order" value="([^"]+)"', proposal.text).group(1)

    done = office.submit(route_url, {"order": accepted_order}, follow_redirects=True)
    assert "Route ordered: 6.0 km less driving." in done.text
    assert positions(app, [a, b, c, d, nowhere]) == [0, 1, 2, 3, 4]
    [entry] = audit_entries(app, acme, "job.route_ordered")
    assert entry.changes["km_saved"] == "6.0" and entry.changes["day"] == day.isoformat()
    again = read(office.get(route_url))
    assert "The current order is already the shortest found." in again and "Accept this order" not in again


def test_a_job_booked_for_a_fixed_time_keeps_a_place_that_reaches_it_in_time(app, acme, office, records, planner):
    day = company_today(acme) + dt.timedelta(days=1)
    start = a_day(acme, records, planner, day, [("Anchor Foods", at_km(0))], starts=dt.time(7), ends=dt.time(8))
    near = a_day(acme, records, planner, day, [("Cedar Court", at_km(3))])
    far = a_day(acme, records, planner, day, [("Dock Works", at_km(9))], starts=dt.time(7), ends=dt.time(8))
    technician_id = acme.members["technician"].user_id
    with records.session(acme) as session:  # the office's order reaches Dock Works after its hour
        schedule.reorder(session, technician_id, day, [j.work_order_id for j in (*start, *near, *far)])
    page = office.get(f"/schedule/day/{technician_id}/{day.isoformat()}/route")
    assert "In the current order the technician reaches Dock Works too late for the booked window." in read(page)
    order = re.findall(r'class="stop-number">\d+</span><strong>([^<]+)</strong>', page.text)
    assert order.index("Dock Works") < order.index("Cedar Court")


def test_a_day_that_changed_under_way_or_cannot_be_ordered_says_why(app, acme, office, records, planner):
    day = company_today(acme) + dt.timedelta(days=1)
    first, second = a_day(acme, records, planner, day, [("Anchor Foods", at_km(0)), ("Birch Hall", at_km(3))])
    technician_id = acme.members["technician"].user_id
    route_url = f"/schedule/day/{technician_id}/{day.isoformat()}/route"

    changed = office.submit(route_url, {"order": str(first.id)})
    assert changed.status_code == 409 and "The day changed since the order was proposed" in changed.text
    assert office.submit(route_url, {"order": "not-a-job"}).status_code == 400

    other_day = day + dt.timedelta(days=1)
    a_day(acme, records, planner, other_day, [("Anchor Foods", at_km(0)), ("Creamery Co", None)])
    lonely = office.get(f"/schedule/day/{technician_id}/{other_day.isoformat()}/route")
    assert "Fewer than two of the day&#39;s stops have a position" in lonely.text

    hours = dict(starts=dt.time(9), ends=dt.time(9, 20))
    clash = day + dt.timedelta(days=2)
    a_day(acme, records, planner, clash, [("Anchor Foods", at_km(0)), ("Far Farm", at_km(30))], **hours)
    assert "No order reaches every stop inside its booked window" in \
        office.get(f"/schedule/day/{technician_id}/{clash.isoformat()}/route").text

    today = company_today(acme)
    begun = a_day(acme, records, planner, today, [("Anchor Foods", at_km(0)), ("Birch Hall", at_km(3))])
    technician = app.test_client()
    technician.sign_in_as(acme.members["technician"])
    technician.submit(f"/jobs/{begun[0].id}/start")
    under_way = office.get(f"/schedule/day/{technician_id}/{today.isoformat()}/route")
    assert "The day is under way" in unescape(under_way.text)
    refused = office.submit(f"/schedule/day/{technician_id}/{today.isoformat()}/route",
                            {"order": ",".join(str(j.id) for j in reversed(begun))})
    assert refused.status_code == 409 and positions(app, begun) == [0, 1]
