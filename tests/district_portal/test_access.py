"""Only district admins open the district view; they open nothing of the office's, and change nothing."""
import pytest
from flask import url_for

from tests.district_portal.factories import DISTRICT_URLS
from tests.field_tests.factories import recorded_test
from tests.security.test_headers_on_every_route import assert_security_headers

OTHER_ROLES = ["company_admin", "manager", "technician", "auditor", "customer"]
OFFICE_PAGES = ["/customers/", "/devices/", "/tests/", "/due/", "/districts/", "/gauges/", "/work-orders/",
                "/schedule/", "/invoices/", "/team/", "/audit/", "/portal/"]


def _district_urls(app, factory, tenant) -> list[tuple[str, str]]:
    """(method, URL) of every route of the district view."""
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("district_portal."):
            arguments = DISTRICT_URLS[rule.endpoint](app, factory, tenant) if rule.arguments else {}
            with app.test_request_context():
                urls.append(("POST" if "POST" in rule.methods else "GET", url_for(rule.endpoint, **arguments)))
    return urls


def test_the_district_view_changes_nothing_but_the_districts_answers(app):
    writing = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("district_portal.")
               and rule.methods - {"GET", "HEAD", "OPTIONS"}}
    assert writing == {"district_portal.accept", "district_portal.reject"}


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_no_other_role_opens_the_district_view(app, factory, acme, login, role):
    browser = login(acme, role)
    urls = _district_urls(app, factory, acme)
    assert len(urls) == 7
    for method, url in urls:
        assert browser.open(url, method=method, headers={"X-CSRFToken": browser.csrf_token()}).status_code == 403, \
            f"{role} {url}"


def test_a_district_admin_opens_none_of_the_offices_pages_and_changes_nothing(app, factory, district_admin_of, acme,
                                                                                eweb):
    browser = district_admin_of(eweb)
    for path in OFFICE_PAGES:
        assert browser.get(path).status_code == 403, path
    record = recorded_test(app, factory, acme)
    assert browser.get(f"/tests/{record.id}").status_code == 403
    assert browser.get(f"/tests/{record.id}/report.pdf").status_code == 403
    assert browser.get(f"/devices/{record.device_id}").status_code == 403
    assert browser.submit(f"/devices/{record.device_id}/edit", {"serial": "TAKEN-OVER"}).status_code == 403
    assert browser.submit(f"/tests/{record.id}/amend", {"amendment_reason": "mine now"}).status_code == 403


def test_every_district_page_sends_the_security_headers_to_its_district_admin(app, factory, district_admin_of,
                                                                             districts, acme, eweb):
    """The shared sweep walks the pages as an admin (refused here); these are the answers a district admin gets."""
    record = districts.tested(acme, districts.device(eweb), printed=True)
    browser = district_admin_of(eweb)
    for url in ["/district/", "/district/devices", "/district/tests.csv", f"/district/tests/{record.id}/report.pdf"]:
        response = browser.get(url)
        assert response.status_code == 200, url
        assert_security_headers(response, url)
        assert_security_headers(browser.htmx("get", url), url)
