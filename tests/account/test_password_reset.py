"""Forgotten passwords: a single-use, expiring link by email; the same answer for unknown addresses."""
import datetime as dt

import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from flowtrack.account.routes import RESET_SENT
from flowtrack.models.accounts import AuthSession, User
from flowtrack.models.audit import AuditEntry
from flowtrack.models.security import AccountToken
from tests.notifications.outbox import emails_to, last_email, link_in
from tests.run_log import remember_secret

NEW_PASSWORD = remember_secret("a brand new passphrase")


def _ask(client, email):
    return client.submit("/password/forgot", {"email": email}, follow_redirects=True)


def _reset(client, link, password=NEW_PASSWORD):
    landing = client.get(link)
    assert landing.status_code == 303 and landing.headers["Location"] == "/password/reset"
    return client.submit("/password/reset", {"password": password, "confirm": password})


def _sign_in(app, email, password):
    return app.test_client().submit("/login", {"email": email, "password": password})


def _sessions(app, user_id):
    with app.extensions["flowtrack.db"].service() as s:
        return s.scalars(sa.select(AuthSession).where(AuthSession.user_id == user_id)).all()


def test_a_person_resets_a_forgotten_password_and_every_session_ends(app, client, office, acme):
    person = acme.members["manager"]
    assert office.get("/dashboard/").status_code == 200
    page = _ask(client, person.email.upper())
    assert page.status_code == 200 and RESET_SENT in page.text

    email = last_email(app, person.email)
    assert email.status == "outbox" and email.sensitive
    assert "within 60 minutes" in email.body
    changed = _reset(client, link_in(email.body))
    assert changed.status_code == 303 and changed.headers["Location"] == "/login"

    assert office.get("/dashboard/").status_code == 302  # the session signed in before the reset is over
    assert all(s.revoked_at for s in _sessions(app, person.user_id))
    assert _sign_in(app, person.email, person.password).status_code == 422
    assert _sign_in(app, person.email, NEW_PASSWORD).status_code == 303
    with app.extensions["flowtrack.db"].service() as s:
        actions = s.scalars(sa.select(AuditEntry.action).where(AuditEntry.company_id == acme.id)).all()
    assert "password.reset_requested" in actions and "password.reset" in actions


def test_an_unknown_address_gets_the_same_answer_and_no_email(app, client, acme):
    known = _ask(app.test_client(), acme.members["manager"].email)
    unknown = _ask(client, "nobody-here@example.com")
    assert known.status_code == unknown.status_code == 200
    assert RESET_SENT in known.text and RESET_SENT in unknown.text
    assert emails_to(app, "nobody-here@example.com") == []


def test_a_deactivated_account_gets_no_reset_email(app, client, acme):
    person = acme.members["auditor"]
    with app.extensions["flowtrack.db"].service() as s:
        s.execute(sa.update(User).where(User.id == person.user_id).values(is_active=False))
        s.commit()
    assert RESET_SENT in _ask(client, person.email).text
    assert emails_to(app, person.email) == []


def test_a_reset_link_works_once(app, client, acme):
    person = acme.members["technician"]
    _ask(client, person.email)
    link = link_in(last_email(app, person.email).body)
    assert _reset(app.test_client(), link).status_code == 303
    again = _reset(app.test_client(), link, "an attacker's passphrase")
    assert again.status_code == 400 and "does not work any more" in again.text
    assert _sign_in(app, person.email, NEW_PASSWORD).status_code == 303


def test_an_expired_reset_link_is_refused(app, client, acme):
    person = acme.members["customer"]
    _ask(client, person.email)
    link = link_in(last_email(app, person.email).body)
    with app.extensions["flowtrack.db"].service() as s:
        s.execute(sa.update(AccountToken).where(AccountToken.user_id == person.user_id)
                  .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
        s.commit()
    assert _reset(app.test_client(), link).status_code == 400
    assert _sign_in(app, person.email, person.password).status_code == 303


def test_a_newer_reset_link_retires_the_older_one(app, client, acme):
    person = acme.members["district_admin"]
    _ask(client, person.email)
    first = link_in(last_email(app, person.email).body)
    _ask(client, person.email)
    second = link_in(last_email(app, person.email).body)
    assert _reset(app.test_client(), first).status_code == 400
    assert _reset(app.test_client(), second).status_code == 303


def test_the_token_is_stored_only_as_a_hash(app, client, acme):
    person = acme.members["manager"]
    _ask(client, person.email)
    link = link_in(last_email(app, person.email).body)
    with app.extensions["flowtrack.db"].service() as s:
        stored = s.scalar(sa.select(AccountToken.token_hash).where(AccountToken.user_id == person.user_id,
                                                                   AccountToken.used_at.is_(None)))
    assert len(stored) == 32 and stored.hex() not in link


def test_a_short_password_is_refused_next_to_the_field(app, client, acme):
    person = acme.members["manager"]
    _ask(client, person.email)
    client.get(link_in(last_email(app, person.email).body))
    response = client.submit("/password/reset", {"password": "short", "confirm": "short"})
    assert response.status_code == 422 and "at least 12 characters" in response.text
    mismatch = client.submit("/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"})
    assert mismatch.status_code == 422 and "The two passwords differ" in mismatch.text
    # The link was not used up by the refused attempts.
    assert client.submit("/password/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 303


def test_reset_requests_are_rate_limited_per_address(app, acme):
    person = acme.members["manager"]
    statuses = [app.test_client().submit("/password/forgot", {"email": person.email}).status_code
                for _ in range(6)]
    assert statuses == [303] * 5 + [429]
    assert len(emails_to(app, person.email)) == 5


def test_the_link_in_the_email_uses_the_configured_address_not_the_host_header(app_factory, acme):
    app = app_factory(BASE_URL="https://flowtrack.example.com")
    person = acme.members["manager"]
    attacker = app.test_client()
    with attacker.session_transaction(base_url="http://attacker.example") as cookie:
        cookie["csrf_token"] = "raw-csrf"
    csrf = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps("raw-csrf")
    response = attacker.post("/password/forgot", data={"email": person.email, "csrf_token": csrf},
                             base_url="http://attacker.example")
    assert response.status_code == 303
    body = last_email(app, person.email).body
    assert "https://flowtrack.example.com/password/reset?token=" in body and "attacker.example" not in body
