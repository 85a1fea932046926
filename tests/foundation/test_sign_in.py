"""Signing in and out, server-side sessions, timeouts, rate limits and CSRF."""
import datetime as dt

import pytest
import sqlalchemy as sa

from flowtrack.auth.routes import LOGIN_FAILED
from flowtrack.models.accounts import AuthSession, User
from flowtrack.models.audit import AuditEntry


def _sign_in(client, email, password, **kwargs):
    return client.submit("/login", {"email": email, "password": password}, **kwargs)


def _sessions(app, member):
    with app.extensions["flowtrack.db"].service() as s:
        return s.scalars(sa.select(AuthSession).where(AuthSession.user_id == member.user_id)).all()


def _actions(app, company_id):
    with app.extensions["flowtrack.db"].service() as s:
        return s.scalars(sa.select(AuditEntry.action).where(AuditEntry.company_id == company_id)
                         .order_by(AuditEntry.seq)).all()


def test_an_office_worker_signs_in_and_lands_on_the_dashboard(app, client, acme):
    office = acme.members["manager"]
    page = client.get("/login")
    assert page.status_code == 200 and 'name="csrf-token"' in page.text
    response = _sign_in(client, office.email.upper(), office.password)
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    assert len(_sessions(app, office)) == 1
    assert _actions(app, acme.id)[-1] == "login.succeeded"


@pytest.mark.parametrize("role, start", [("company_admin", "/dashboard/"), ("manager", "/dashboard/"),
                                         ("technician", "/my-day/"), ("customer", "/portal/"),
                                         ("auditor", "/audit/"), ("district_admin", "/district/")])
def test_each_role_lands_where_its_work_is(app, acme, role, start):
    member = acme.members[role]
    response = _sign_in(app.test_client(), member.email, member.password)
    assert response.status_code == 303 and response.headers["Location"] == start


def test_sign_in_starts_a_new_session_id(client, acme):
    _sign_in(client, "nobody@example.com", "x")
    with client.session_transaction() as before:
        csrf_before = before.get("csrf_token")
    _sign_in(client, acme.members["manager"].email, acme.members["manager"].password)
    with client.session_transaction() as after:
        assert after["sid"]
        assert after.get("csrf_token") != csrf_before


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(app, client, acme):
    wrong = _sign_in(client, acme.members["manager"].email, "wrong password")
    unknown = _sign_in(client, "nobody-at-all@example.com", "wrong password")
    assert wrong.status_code == unknown.status_code == 422
    assert LOGIN_FAILED in wrong.text and LOGIN_FAILED in unknown.text
    assert _actions(app, acme.id)[-1] == "login.failed"


def test_a_deactivated_person_cannot_sign_in(app, client, acme):
    office = acme.members["manager"]
    with app.extensions["flowtrack.db"].service() as s:
        s.execute(sa.update(User).where(User.id == office.user_id).values(is_active=False))
        s.commit()
    assert _sign_in(client, office.email, office.password).status_code == 422
    assert _sessions(app, office) == []


def test_signing_out_revokes_the_session_in_the_database(app, client, acme):
    office = acme.members["manager"]
    _sign_in(client, office.email, office.password)
    with client.session_transaction() as s:
        stolen_cookie_session = dict(s)
    response = client.submit("/logout")
    assert response.status_code == 303
    assert _sessions(app, office)[0].revoked_at is not None
    # Replaying the old cookie contents does not bring the session back.
    with client.session_transaction() as s:
        s.update(stolen_cookie_session)
    assert client.get("/dashboard/").status_code == 302
    assert _actions(app, acme.id)[-1] == "logout"


def _age_session(app, member, **values):
    with app.extensions["flowtrack.db"].service() as s:
        s.execute(sa.update(AuthSession).where(AuthSession.user_id == member.user_id).values(**values))
        s.commit()


def test_an_idle_session_expires(app, office, acme):
    assert office.get("/dashboard/").status_code == 200
    _age_session(app, acme.members["manager"],
                 idle_expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    response = office.get("/dashboard/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_session_ends_at_its_absolute_lifetime_even_when_busy(app, office, acme):
    _age_session(app, acme.members["manager"], expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    assert office.get("/dashboard/").status_code == 302


def test_activity_extends_the_idle_deadline(app, office, acme):
    soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    _age_session(app, acme.members["manager"], idle_expires_at=soon)
    assert office.get("/dashboard/").status_code == 200
    assert _sessions(app, acme.members["manager"])[0].idle_expires_at > soon + dt.timedelta(minutes=20)


def test_repeated_failures_on_one_account_are_rate_limited_from_any_address(app, acme):
    office = acme.members["manager"]
    statuses = []
    for _ in range(11):
        attacker = app.test_client()  # a new address every time
        statuses.append(_sign_in(attacker, office.email, "guess").status_code)
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    # The owner is locked out for a while too, but gets a clear page, not an error.
    page = _sign_in(app.test_client(), office.email, office.password)
    assert page.status_code == 429 and "Too many attempts" in page.text


def test_one_address_is_rate_limited_across_accounts(client):
    statuses = [_sign_in(client, f"user{i}@example.com", "guess").status_code for i in range(21)]
    assert statuses[-1] == 429 and 429 not in statuses[:20]


def test_a_post_without_a_csrf_token_is_refused_and_changes_nothing(app, office, acme):
    response = office.post("/logout")
    assert response.status_code == 400
    assert "form expired" in response.text
    assert _sessions(app, acme.members["manager"])[0].revoked_at is None
    assert office.get("/dashboard/").status_code == 200


def test_htmx_requests_send_the_token_in_a_header(office):
    assert office.htmx("post", "/logout").status_code == 303
    unsigned = office.post("/logout", headers={"HX-Request": "true"})
    assert unsigned.status_code == 400


def test_sign_in_only_redirects_within_the_site(client, acme):
    office = acme.members["manager"]
    response = client.submit("/login?next=https://evil.example/", {"email": office.email, "password": office.password})
    assert response.headers["Location"] == "/dashboard/"
    client.submit("/logout")
    response = client.submit("/login?next=/audit/", {"email": office.email, "password": office.password})
    assert response.headers["Location"] == "/audit/"


def test_pages_that_need_a_login_send_visitors_to_sign_in(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    hx = client.get("/dashboard/", headers={"HX-Request": "true"})
    assert hx.status_code == 401 and hx.headers["HX-Redirect"] == "/login"


def test_no_password_appears_in_the_logs(app, client, acme, caplog):
    office = acme.members["manager"]
    with caplog.at_level("DEBUG"):
        _sign_in(client, office.email, office.password)
        _sign_in(client, office.email, "a-wrong-secret-guess")
    assert office.password not in caplog.text
    assert "a-wrong-secret-guess" not in caplog.text
