"""Two-step sign-in: enrolment with a real TOTP code, the second step, replay, recovery codes, enforcement."""
import re
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import ProgrammingError

from flowtrack.auth.routes import CODE_FAILED
from flowtrack.models.accounts import AuthSession, User
from flowtrack.models.audit import AuditEntry
from tests.account.mfa_helpers import code, enrol, recovery_codes_on, secret_on


def _password_step(client, member):
    return client.submit("/login", {"email": member.email, "password": member.password})


def _sessions(app, member):
    with app.extensions["flowtrack.db"].service() as s:
        return s.scalars(sa.select(AuthSession).where(AuthSession.user_id == member.user_id)).all()


def _last_action(app, company_id, prefix):
    with app.extensions["flowtrack.db"].service() as s:
        return s.scalars(sa.select(AuditEntry).where(AuditEntry.company_id == company_id,
                                                     AuditEntry.action.startswith(prefix))
                         .order_by(AuditEntry.seq.desc())).first()


def test_enrolment_shows_a_qr_code_drawn_by_the_server(office):
    page = office.get("/account/mfa")
    assert page.status_code == 200
    assert re.search(r'<img class="qr" src="data:image/svg\+xml', page.text)
    assert "<script" not in page.text.split("</head>")[1]  # no inline script anywhere in the body
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    # The page keeps the same secret while it is being set up (a reload must not break the scan).
    assert secret_on(page.text) == secret_on(office.get("/account/mfa").text)


def test_a_wrong_code_does_not_turn_it_on(app, office, acme):
    secret = secret_on(office.get("/account/mfa").text)
    wrong = str((int(code(secret)) + 1) % 1_000_000).zfill(6)
    response = office.submit("/account/mfa", {"code": wrong})
    assert response.status_code == 422 and "not right" in response.text
    with app.extensions["flowtrack.db"].service() as s:
        assert s.get(User, acme.members["manager"].user_id).mfa_enrolled_at is None


def test_after_enrolment_a_sign_in_needs_the_password_and_then_a_real_code(app, office, client, acme):
    member = acme.members["manager"]
    secret, _ = enrol(office)
    assert _last_action(app, acme.id, "mfa.").action == "mfa.enrolled"
    sessions_before = len(_sessions(app, member))

    response = _password_step(client, member)
    assert response.status_code == 303 and response.headers["Location"] == "/login/verify"
    # The password alone opens nothing: no session row, no access.
    assert len(_sessions(app, member)) == sessions_before
    assert client.get("/dashboard/").status_code == 302
    with client.session_transaction() as cookie:
        assert "sid" not in cookie

    response = client.submit("/login/verify", {"code": code(secret, 1)})
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    assert len(_sessions(app, member)) == sessions_before + 1
    entry = _last_action(app, acme.id, "login.succeeded")
    assert entry.changes == {"second_factor": "totp"}


def test_a_code_is_accepted_once_even_within_its_window(app, office, acme):
    member = acme.members["manager"]
    secret, _ = enrol(office)
    used = code(secret, 1)
    first = app.test_client()
    _password_step(first, member)
    assert first.submit("/login/verify", {"code": used}).status_code == 303

    replay = app.test_client()
    _password_step(replay, member)
    response = replay.submit("/login/verify", {"code": used})
    assert response.status_code == 422 and CODE_FAILED in response.text
    assert replay.get("/dashboard/").status_code == 302
    assert _last_action(app, acme.id, "login.").action == "login.mfa_failed"
    # The enrolment code itself cannot be replayed either.
    assert replay.submit("/login/verify", {"code": code(secret, 0)}).status_code == 422


def test_a_recovery_code_signs_in_once(app, office, acme):
    member = acme.members["manager"]
    _, codes = enrol(office)
    first = app.test_client()
    _password_step(first, member)
    assert first.submit("/login/verify", {"code": codes[0].upper().replace("-", " ")}).status_code == 303
    assert _last_action(app, acme.id, "mfa.").changes == {"remaining": 9}

    again = app.test_client()
    _password_step(again, member)
    assert again.submit("/login/verify", {"code": codes[0]}).status_code == 422
    assert again.submit("/login/verify", {"code": codes[1]}).status_code == 303
    assert "8 of your recovery codes are left" in again.get("/account/mfa").text


def test_recovery_codes_are_stored_only_as_hashes(app, office, acme):
    _, codes = enrol(office)
    with app.extensions["flowtrack.db"].service() as s:
        stored = s.execute(sa.text("SELECT code_hash FROM recovery_codes WHERE user_id = :u"),
                           {"u": acme.members["manager"].user_id}).scalars().all()
    assert len(stored) == 10
    assert not any(c.replace("-", "").encode() in h for c in codes for h in stored)


def test_the_app_role_cannot_read_totp_secrets_recovery_codes_or_link_tokens(app, office, acme):
    enrol(office)
    db = app.extensions["flowtrack.db"]
    token = app.test_client().sign_in_as(acme.members["manager"])
    for column, table in (("totp_secret", "users"), ("totp_last_timecode", "users"),
                          ("code_hash", "recovery_codes"), ("token_hash", "account_tokens")):
        session = db.app_session(token)
        with pytest.raises(ProgrammingError, match="permission denied"):
            session.execute(sa.text(f"SELECT {column} FROM {table}")).all()
        session.close()
    session = db.app_session(token)
    assert session.execute(sa.text("SELECT count(*) FROM recovery_codes")).scalar() == 10
    session.close()


def test_wrong_codes_are_rate_limited_per_person(app, office, acme):
    member = acme.members["manager"]
    secret, _ = enrol(office)
    statuses = []
    for _ in range(11):
        attacker = app.test_client()
        _password_step(attacker, member)
        statuses.append(attacker.submit("/login/verify", {"code": "000000"}).status_code)
    assert statuses[:10] == [422] * 10 and statuses[10] == 429


def test_the_second_step_expires(app, office, client, acme):
    secret, _ = enrol(office)
    _password_step(client, acme.members["manager"])
    with client.session_transaction() as cookie:
        cookie["pending_login"] = {**cookie["pending_login"], "until": int(time.time()) - 1}
    response = client.submit("/login/verify", {"code": code(secret, 1)})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get("/login/verify").status_code == 303
    assert client.get("/dashboard/").status_code == 302


def test_the_second_step_without_a_password_step_goes_back_to_sign_in(client):
    assert client.get("/login/verify").headers["Location"] == "/login"
    assert client.get("/login/enrol").headers["Location"] == "/login"


def test_when_the_company_requires_mfa_people_without_it_enrol_at_their_next_sign_in(app, admin, client, acme):
    refused = admin.submit("/team/require-mfa", {"require_mfa": "y"}, follow_redirects=True)
    assert "Set up two-step sign-in for yourself first" in refused.text
    enrol(admin)
    assert admin.submit("/team/require-mfa", {"require_mfa": "y"}).status_code == 303
    assert _last_action(app, acme.id, "company.").changes == {"require_mfa": {"before": False, "after": True}}

    member = acme.members["technician"]
    response = _password_step(client, member)
    assert response.status_code == 303 and response.headers["Location"] == "/login/enrol"
    assert client.get("/dashboard/").status_code == 302
    page = client.get("/login/enrol")
    assert page.status_code == 200 and 'src="data:image/svg+xml' in page.text
    secret = secret_on(page.text)
    done = client.submit("/login/enrol", {"code": code(secret)})
    assert done.status_code == 200 and len(recovery_codes_on(done.text)) == 10
    assert client.get("/dashboard/").status_code == 200
    with app.extensions["flowtrack.db"].service() as s:
        assert s.get(User, member.user_id).mfa_enrolled_at is not None

    # Next time it is the ordinary second step, and the code cannot be turned off while required.
    again = app.test_client()
    assert _password_step(again, member).headers["Location"] == "/login/verify"
    assert again.submit("/login/verify", {"code": code(secret, 1)}).status_code == 303
    off = again.submit("/account/mfa/disable", {"code": code(secret, 1)}, follow_redirects=True)
    assert "cannot be turned off" in off.text


def test_turning_it_off_needs_a_current_code(app, office, acme):
    member = acme.members["manager"]
    secret, _ = enrol(office)
    assert office.submit("/account/mfa/disable", {"code": "123456"}).status_code == 422
    assert office.submit("/account/mfa/disable", {"code": code(secret, 1)}).status_code == 303
    assert _last_action(app, acme.id, "mfa.").action == "mfa.disabled"
    assert _password_step(app.test_client(), member).headers["Location"] == "/dashboard/"


def test_new_recovery_codes_replace_the_old_ones(app, office, acme):
    member = acme.members["manager"]
    secret, old = enrol(office)
    page = office.submit("/account/mfa/recovery-codes", {"code": code(secret, 1)})
    new = recovery_codes_on(page.text)
    assert page.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    browser = app.test_client()
    _password_step(browser, member)
    assert browser.submit("/login/verify", {"code": old[0]}).status_code == 422
    assert browser.submit("/login/verify", {"code": new[0]}).status_code == 303


def test_an_admin_resets_a_members_lost_authenticator(app, admin, office, acme):
    member = acme.members["manager"]
    enrol(office)
    assert admin.submit(f"/team/{member.profile_id}/reset-mfa").status_code == 303
    assert office.get("/dashboard/").status_code == 302  # signed out too: the old phone may be in the wrong hands
    assert _last_action(app, acme.id, "mfa.").action == "mfa.reset_by_admin"
    assert _password_step(app.test_client(), member).headers["Location"] == "/dashboard/"


def test_a_person_deactivated_between_the_two_steps_gets_no_session(app, office, acme):
    member = acme.members["manager"]
    secret, _ = enrol(office)
    browser = app.test_client()
    assert _password_step(browser, member).headers["Location"] == "/login/verify"
    sessions_before = len(_sessions(app, member))
    with app.extensions["flowtrack.db"].service() as s:
        s.execute(sa.update(User).where(User.id == member.user_id).values(is_active=False))
        s.commit()
    assert browser.submit("/login/verify", {"code": code(secret, 1)}).status_code == 422
    assert browser.get("/dashboard/").status_code == 302
    assert len(_sessions(app, member)) == sessions_before
