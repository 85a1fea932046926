"""A session's token is replaced every 15 minutes of use; the old one keeps working until the new one is used and a
minute after, then never again; a new token lost on its way is issued again. Signing out or revoking the session ends
both at once. The clock is moved by dating the session row back."""
import datetime as dt

import sqlalchemy as sa

from flowtrack.auth import services as auth
from flowtrack.models.accounts import AuthSession
from tests.customers.test_customers import audit_entries
from tests.run_log import remember_secret


def _signed_in(app, member):
    browser = app.test_client()
    response = browser.submit("/login", {"email": member.email, "password": member.password})
    assert response.status_code == 303
    return browser


def _cookie(browser) -> dict:
    with browser.session_transaction() as s:
        return dict(s)


def _with_cookie(app, contents: dict):
    """Another browser (a parallel request, or an attacker) sending a copy of a cookie taken earlier."""
    other = app.test_client()
    with other.session_transaction() as s:
        s.update(contents)
    return other


def _row(app, member) -> AuthSession:
    with app.extensions["flowtrack.db"].service() as s:
        return s.scalars(sa.select(AuthSession).where(AuthSession.user_id == member.user_id)
                         .order_by(AuthSession.created_at.desc())).first()


def _date_back(app, member, **ago: dt.timedelta):
    """Move the session's clock: each named timestamp becomes that long ago."""
    now = dt.datetime.now(dt.timezone.utc)
    with app.extensions["flowtrack.db"].service() as s:
        s.execute(sa.update(AuthSession).where(AuthSession.user_id == member.user_id)
                  .values(**{column: now - delta for column, delta in ago.items()}))
        s.commit()


def _rotated(app, member, browser) -> tuple[dict, dict]:
    """Fifteen minutes of use, then one more request: (the cookie before, the cookie after)."""
    before = _cookie(browser)
    _date_back(app, member, token_issued_at=dt.timedelta(minutes=15, seconds=1))
    response = browser.get("/dashboard/")
    assert response.status_code == 200
    assert any(h.startswith("flowtrack_session=") for h in response.headers.getlist("Set-Cookie"))
    after = _cookie(browser)
    remember_secret(after["sid"])
    return before, after


def test_after_fifteen_minutes_of_use_the_response_carries_a_new_token(app, acme):
    member = acme.members["manager"]
    browser = _signed_in(app, member)
    first = _cookie(browser)["sid"]
    _date_back(app, member, token_issued_at=dt.timedelta(minutes=14))
    assert browser.get("/dashboard/").status_code == 200
    assert _cookie(browser)["sid"] == first and _row(app, member).token_generation == 0

    before, after = _rotated(app, member, browser)
    assert after["sid"] != before["sid"] and after["sid_generation"] == 1
    row = _row(app, member)
    assert row.token_generation == 1 and row.revoked_at is None
    assert dt.datetime.now(dt.timezone.utc) - row.token_issued_at < dt.timedelta(seconds=30)
    # The new cookie is the session: pages open with it, and it is not rotated again until its own 15 minutes pass.
    assert browser.get("/customers/").status_code == 200
    assert _cookie(browser)["sid"] == after["sid"]


def test_the_old_token_works_while_the_new_one_is_on_its_way_then_never_again(app, acme):
    member = acme.members["technician"]
    browser = _signed_in(app, member)
    before, after = _rotated(app, member, browser)

    # A request that left with the old token while the new one was being issued still succeeds, and its
    # response leaves the browser's (new) cookie alone instead of writing the old token back over it.
    in_flight = _with_cookie(app, before)
    response = in_flight.get("/my-day/")
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie") == []
    assert _row(app, member).token_generation == 1  # the old token earned no new one

    _date_back(app, member, previous_token_expires_at=dt.timedelta(seconds=1))
    refused = _with_cookie(app, before).get("/my-day/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    assert browser.get("/my-day/").status_code == 200


def test_an_old_token_earns_nothing_once_the_new_one_was_used(app, acme):
    member = acme.members["manager"]
    browser = _signed_in(app, member)
    before, after = _rotated(app, member, browser)
    assert browser.get("/customers/").status_code == 200  # the new token arrived and is in use
    # The new token is due again while the old one is still in its overlap: the old one rotates nothing.
    _date_back(app, member, token_issued_at=dt.timedelta(minutes=16))
    response = _with_cookie(app, before).get("/dashboard/")
    assert response.status_code == 200 and response.headers.getlist("Set-Cookie") == []
    assert _row(app, member).token_generation == 1
    # The current token does.
    browser.get("/dashboard/")
    assert _row(app, member).token_generation == 2 and _cookie(browser)["sid"] != after["sid"]
    remember_secret(_cookie(browser)["sid"])


def test_a_new_token_lost_on_its_way_is_issued_again_and_the_phone_stays_signed_in(app, acme):
    member = acme.members["technician"]
    phone = _signed_in(app, member)
    before, lost = _rotated(app, member, phone)
    phone = _with_cookie(app, before)  # the response with the new token never reached the phone, in a vault
    _date_back(app, member, token_issued_at=dt.timedelta(minutes=2))  # unused for two minutes, not one
    response = phone.get("/my-day/")
    assert response.status_code == 200
    assert any(h.startswith("flowtrack_session=") for h in response.headers.getlist("Set-Cookie"))
    again = _cookie(phone)
    remember_secret(again["sid"])
    assert again["sid"] not in (before["sid"], lost["sid"]) and _row(app, member).token_generation == 2
    assert phone.get("/my-day/").status_code == 200  # the new token arrived: the replaced one has its minute
    assert _row(app, member).previous_token_expires_at < dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=61)
    _date_back(app, member, previous_token_expires_at=dt.timedelta(seconds=1))
    assert _with_cookie(app, before).get("/my-day/").status_code == 302
    assert phone.get("/my-day/").status_code == 200
    assert [e.action for e in audit_entries(app, acme, "session.token_reissued")] == ["session.token_reissued"]


def test_a_copied_old_token_that_took_the_session_over_ends_it_when_the_owners_token_shows_up(app, acme):
    member = acme.members["manager"]
    owner = _signed_in(app, member)
    stolen = _cookie(owner)
    _rotated(app, member, owner)  # the owner's browser has the new token, then sits idle
    _date_back(app, member, token_issued_at=dt.timedelta(minutes=2))
    thief = _with_cookie(app, stolen)
    assert thief.get("/dashboard/").status_code == 200  # the copy gets a token of its own: it looks like a lost one
    remember_secret(_cookie(thief)["sid"])
    # The owner comes back with the token the session gave up: two people had it, so it ends for both.
    assert owner.get("/dashboard/").status_code == 302
    assert _row(app, member).revoked_at is not None
    assert thief.get("/dashboard/").status_code == 302
    assert [e.action for e in audit_entries(app, acme, "session.ended_token_reused")] == ["session.ended_token_reused"]


def test_a_new_token_is_issued_again_once_per_rotation(app, acme):
    member = acme.members["technician"]
    phone = _signed_in(app, member)
    before, _ = _rotated(app, member, phone)
    _date_back(app, member, token_issued_at=dt.timedelta(minutes=2))
    assert _with_cookie(app, before).get("/my-day/").status_code == 200 and _row(app, member).token_generation == 2
    _date_back(app, member, token_issued_at=dt.timedelta(minutes=2))  # that one never arrived either
    response = _with_cookie(app, before).get("/my-day/")
    assert response.status_code == 200 and response.headers.getlist("Set-Cookie") == []
    assert _row(app, member).token_generation == 2


def test_of_two_requests_racing_with_a_due_token_one_rotates_it(app, factory, acme):
    member = acme.members["manager"]
    token = factory.session_token(member)
    _date_back(app, member, token_issued_at=dt.timedelta(minutes=20))
    db = app.extensions["flowtrack.db"]
    policy = auth.SessionPolicy(idle_timeout=dt.timedelta(minutes=30), lifetime=dt.timedelta(hours=12))
    first, second = db.app_session(token), db.app_session(token)
    try:
        users = [auth.load_current_user(s, policy) for s in (first, second)]
        new = auth.rotate_token(first, users[0], policy)
        assert new is not None and new.generation == 1
        remember_secret(new.token)
        assert auth.rotate_token(second, users[1], policy) is None
        # Both tokens resolve the same session for now.
        assert second.scalar(sa.select(sa.func.auth_session_id())) == users[0].session_id
        assert first.scalar(sa.select(sa.func.auth_session_id())) == users[0].session_id
    finally:
        first.close()
        second.close()


def test_signing_out_ends_the_new_and_the_old_token_at_once(app, acme):
    member = acme.members["manager"]
    browser = _signed_in(app, member)
    before, _ = _rotated(app, member, browser)
    assert browser.submit("/logout").status_code == 303
    # Well within the old token's minute, it opens nothing.
    assert _with_cookie(app, before).get("/dashboard/").status_code == 302
    assert browser.get("/dashboard/").status_code == 302


def test_signing_out_with_the_old_token_in_its_minute_ends_the_new_one_too(app, acme):
    member = acme.members["customer"]
    browser = _signed_in(app, member)
    before, after = _rotated(app, member, browser)
    assert _with_cookie(app, before).submit("/logout").status_code == 303
    assert _row(app, member).revoked_at is not None
    assert _with_cookie(app, after).get("/portal/").status_code == 302


def test_revoking_the_session_ends_both_tokens(app, acme):
    member = acme.members["manager"]
    browser = _signed_in(app, member)
    before, after = _rotated(app, member, browser)
    with app.extensions["flowtrack.db"].service() as s:
        auth.revoke_sessions(s, member.user_id)
        s.commit()
    assert _with_cookie(app, before).get("/dashboard/").status_code == 302
    assert _with_cookie(app, after).get("/dashboard/").status_code == 302


def test_an_attacker_replaying_an_old_token_after_the_overlap_is_refused(app, acme):
    member = acme.members["company_admin"]
    browser = _signed_in(app, member)
    stolen = _cookie(browser)
    _rotated(app, member, browser)
    _date_back(app, member, previous_token_expires_at=dt.timedelta(seconds=1))
    _rotated(app, member, browser)  # and the owner goes on working: another 15 minutes, another token
    attacker = _with_cookie(app, stolen)
    assert attacker.get("/dashboard/").status_code == 302
    assert attacker.get("/team/").status_code == 302
    # Not in the database either: the stolen token resolves no session and shows no row.
    db = app.extensions["flowtrack.db"]
    with db.app_session(stolen["sid"]) as s:
        assert s.scalar(sa.select(sa.func.auth_session_id())) is None
        assert s.scalar(sa.text("SELECT count(*) FROM profiles")) == 0
    assert browser.get("/team/").status_code == 200


def test_the_app_role_can_rotate_only_the_token_it_carries(app, factory, acme, bravo):
    """Injected SQL cannot replace another session's token: the database function rotates the caller's own."""
    victim = bravo.members["manager"]
    factory.session_token(victim)
    _date_back(app, victim, token_issued_at=dt.timedelta(hours=1))
    attacker_token = factory.session_token(acme.members["manager"])
    rotate = sa.text("SELECT rotate_session_token(sha256('chosen'::bytea), interval '0', interval '1 hour')")
    with app.extensions["flowtrack.db"].app_engine.connect() as c:
        assert c.execute(rotate).scalar() is None  # no token: nothing rotates
        c.rollback()
        with c.begin():
            c.execute(sa.text("SELECT set_config('app.session_token', :t, true)"), {"t": attacker_token})
            assert c.execute(rotate).scalar() == 1  # its own session, and only that one
    assert _row(app, victim).token_generation == 0
