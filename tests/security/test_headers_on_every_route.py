"""Every GET route, walked from the URL map, answers with the security headers, signed in or not."""
import pytest
from flask import url_for

from flowtrack.core import permissions
from flowtrack.reminders.links import opt_out_token
from tests.customers.factories import Records
from tests.foundation.test_cross_tenant import OBJECT_URLS
from tests.quotes.factories import sent_quote

# Public routes whose URL carries an argument (routes with a tenant's id come from the cross-tenant sweep).
PUBLIC_ARGUMENTS = {
    "static": lambda app, factory, tenant: {"filename": "app.css"},
    "trust.policy": lambda app, factory, tenant: {"name": "security.md"},
    "reminders.opt_out": lambda app, factory, tenant: {
        "token": opt_out_token(app.secret_key, Records(app).customer(tenant))},
    **{f"customer_quotes.link_{name}": lambda app, factory, tenant: {"token": sent_quote(app, tenant)[1]}
       for name in ("page", "total", "approve", "decline", "pdf")},
}

LINKS_WITHOUT_TOKEN = {"/invitation", "/password/reset", "/login/link/open"}


def get_urls(app, factory, tenant) -> list[tuple[str, str]]:
    """(endpoint, url) of every GET route."""
    urls, missing = [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods:
            continue
        make = OBJECT_URLS.get(rule.endpoint) or PUBLIC_ARGUMENTS.get(rule.endpoint)
        if rule.arguments and make is None:
            missing.append(rule.endpoint)
            continue
        arguments = make(app, factory, tenant) if rule.arguments else {}
        with app.test_request_context():
            urls.append((rule.endpoint, url_for(rule.endpoint, **arguments)))
    assert missing == [], "routes with arguments need an entry in OBJECT_URLS or PUBLIC_ARGUMENTS"
    return urls


def assert_security_headers(response, url):
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "script-src 'self'" in csp, url
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp, url
    assert headers.get("X-Content-Type-Options") == "nosniff", url
    assert headers.get("X-Frame-Options") == "DENY", url
    assert headers.get("Referrer-Policy") == "same-origin", url


@pytest.mark.parametrize("who", ["company_admin", "anonymous"])
def test_every_get_route_sends_the_security_headers(app, factory, acme, login, client, who):
    browser = client if who == "anonymous" else login(acme, who)
    urls = get_urls(app, factory, acme)
    assert len(urls) >= 20
    for endpoint, url in urls:
        response = browser.get(url)
        assert response.status_code < 500, url
        if who == "company_admin":
            # Pages the admin can open, not error pages; the account links without their token say so (400),
            # and the few pages of another role (a technician's own day) refuse the admin (403).
            needed = permissions.declared_permission(app.view_functions[endpoint])
            if needed not in (permissions.PUBLIC, None) and not permissions.allowed(who, needed):
                expected = (403,)
            else:
                expected = (400,) if url in LINKS_WITHOUT_TOKEN else (200, 302, 303)
            assert response.status_code in expected, f"{url}: {response.status_code}"
        assert_security_headers(response, url)


def test_error_responses_and_htmx_fragments_send_them_too(admin, office):
    assert_security_headers(admin.get("/no/such/page"), "404")
    assert_security_headers(office.get("/team/"), "403")
    assert_security_headers(office.htmx("get", "/team/"), "htmx 403")
    assert_security_headers(admin.get("/logout"), "405")
