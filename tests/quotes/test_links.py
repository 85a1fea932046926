"""The office quotes a repair from wherever it meets the failed assembly (the repair list, the failed test, the work
order that found it, the device) or a customer's request, and the pages lead to one another: the quote to what it is
about and to the work order made of it, the work order back to its quote, and the repair list to the quote instead
of offering to quote the same repair again."""
import re

from tests.field_tests.factories import recorded_test
from tests.notifications.outbox import last_email, link_in
from tests.scheduling.factories import planner  # noqa: F401 (the fixture)
from tests.service_requests.factories import asked

FAILING_DC = {"check1_psid": "0.4", "check2_psid": "1.8"}


def _hrefs(page: str) -> set[str]:
    return {href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', page)}


def test_a_failed_assembly_is_quoted_from_where_the_office_finds_it_and_the_pages_link_up(
        app, factory, office, client, acme, records, planner):  # noqa: F811
    customer = records.customer(acme, name="Harbor Creamery", email="ap@harborcreamery.example")
    place = records.location(acme, customer, address_line1="9 Churn Road")
    device = records.device(acme, place, device_type="DC", serial="DC-3310")
    order_id, device_id = planner.assign(acme, device).work_order_id, device.id
    test = recorded_test(app, factory, acme, device=device, readings=FAILING_DC)  # it fails
    quote_it = f"/quotes/new/{place.id}?device={device_id}"

    for page in ("/due/needs-repair", f"/tests/{test.id}", f"/work-orders/{order_id}", f"/devices/{device_id}"):
        assert quote_it in _hrefs(office.get(page).text), page

    started = office.submit(quote_it, {"expires_on": "2099-01-31"})
    quote_id = started.headers["Location"].rsplit("/", 1)[1]
    office.submit(f"/quotes/{quote_id}/lines", {"description": "New check disc", "quantity": "1",
                                                "unit_price": "65"})
    page = office.get(f"/quotes/{quote_id}").text
    assert {f"/devices/{device_id}", f"/tests/{test.id}", f"/locations/{place.id}"} <= _hrefs(page)
    office.submit(f"/quotes/{quote_id}/send")
    client.submit(link_in(last_email(app, "ap@harborcreamery.example").body) + "/approve",
                  {"version": "1", "name": "Cora Creamery"})

    # The repair list and the work order that found the failure name the quote rather than offering to quote the
    # repair again; the device lists it.
    for page in ("/due/needs-repair", f"/work-orders/{order_id}"):
        links = _hrefs(office.get(page).text)
        assert quote_it not in links and f"/quotes/{quote_id}" in links, page
    assert f"/quotes/{quote_id}" in _hrefs(office.get(f"/devices/{device_id}").text)
    # The quote and the work order made of it lead to each other.
    quote_page = office.get(f"/quotes/{quote_id}").text
    made = re.search(r'id="work-order-link" href="/work-orders/([^"]+)"', quote_page).group(1)
    repair = office.get(f"/work-orders/{made}").text
    assert f"/quotes/{quote_id}" in _hrefs(repair) and "approved by Cora Creamery" in repair
    assert quote_it not in _hrefs(repair)


def test_a_service_request_and_the_quote_made_for_it_link_to_each_other(app, factory, office, acme):
    request = asked(app, factory, acme)
    page = office.get(f"/requests/{request.id}").text
    quote_it = f"/quotes/new/{request.location_id}?request={request.id}"
    assert quote_it in _hrefs(page)
    started = office.submit(quote_it, {"expires_on": "2099-01-31"})
    quote_id = started.headers["Location"].rsplit("/", 1)[1]
    assert f"/requests/{request.id}" in _hrefs(office.get(f"/quotes/{quote_id}").text)
    assert f"/quotes/{quote_id}" in _hrefs(office.get(f"/requests/{request.id}").text)
