"""HTTPS in production: plain HTTP is redirected first of all; behind PROXY_FIX trusted proxies, the
client's scheme and address are the ones the proxies saw, and nothing else a client sends is believed."""
import re

import pytest
import sqlalchemy as sa

from flowtrack.models.audit import AuditEntry

PRODUCTION = {"ENV": "production", "SECRET_KEY": "p" * 48}
HOST = "flowtrack.example"


@pytest.fixture
def production(app_factory):
    return app_factory(**PRODUCTION)


def test_plain_http_is_sent_to_the_same_address_over_https(production):
    browser = production.test_client()
    response = browser.get("/security/policies/security.md?x=1", base_url=f"http://{HOST}")
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{HOST}/security/policies/security.md?x=1"


def test_a_plain_http_form_post_is_redirected_before_any_other_check(production):
    # No CSRF token and no session: the redirect comes first, and 308 makes the browser repeat the POST over HTTPS.
    response = production.test_client().post("/login", data={"email": "a@b.c"}, base_url=f"http://{HOST}")
    assert response.status_code == 308
    assert response.headers["Location"] == f"https://{HOST}/login"


def test_https_requests_are_served_and_the_health_check_answers_on_plain_http(production):
    browser = production.test_client()
    assert browser.get("/login", base_url=f"https://{HOST}").status_code == 200
    assert browser.get("/healthz", base_url=f"http://{HOST}").status_code == 200


def test_development_and_tests_serve_plain_http(client):
    assert client.get("/login").status_code == 200


def test_without_trusted_proxies_a_forwarded_scheme_is_not_believed(production):
    response = production.test_client().get("/login", base_url=f"http://{HOST}",
                                            headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 301


def test_behind_a_trusted_proxy_its_https_is_believed(app_factory):
    app = app_factory(PROXY_FIX=1, **PRODUCTION)
    response = app.test_client().get("/login", base_url=f"http://{HOST}", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    # A client cannot fake the proxy's view: with one trusted hop only the value the proxy appended counts.
    response = app.test_client().get("/login", base_url=f"http://{HOST}",
                                     headers={"X-Forwarded-Proto": "https, http"})
    assert response.status_code == 301


def _sign_in_from(app, member, forwarded_for: str) -> str:
    """Sign in over HTTPS with an X-Forwarded-For header; the address the audit log recorded."""
    browser = app.test_client()
    https = {"base_url": f"https://{HOST}",
             "headers": {"Referer": f"https://{HOST}/login", "X-Forwarded-For": forwarded_for}}
    page = browser.get("/login", **https)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    response = browser.post("/login", data={"email": member.email, "password": member.password,
                                            "csrf_token": token}, **https)
    assert response.status_code == 303
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(AuditEntry.ip).where(AuditEntry.action == "login.succeeded",
                                                             AuditEntry.actor_user_id == member.user_id)
                              .order_by(AuditEntry.seq.desc()).limit(1))


@pytest.mark.parametrize("hops, seen", [(1, "203.0.113.7"), (2, "198.51.100.9")])
def test_the_client_address_is_taken_from_the_configured_number_of_proxies(app_factory, acme, hops, seen):
    # The client wrote 192.0.2.66 itself; the first proxy appended 198.51.100.9, the second 203.0.113.7.
    app = app_factory(PROXY_FIX=hops, **PRODUCTION)
    assert _sign_in_from(app, acme.members["manager"], "192.0.2.66, 198.51.100.9, 203.0.113.7") == seen


def test_without_trusted_proxies_the_address_is_the_connections_own(production, acme):
    assert _sign_in_from(production, acme.members["manager"], "192.0.2.66") != "192.0.2.66"


def test_a_negative_number_of_proxies_is_refused(app_factory):
    with pytest.raises(RuntimeError, match="FLOWTRACK_PROXY_FIX"):
        app_factory(PROXY_FIX=-1)
