"""Company admins invite people, change roles, deactivate, and sign people out everywhere."""
import datetime as dt
import secrets

import pytest
import sqlalchemy as sa

from flowtrack.models.accounts import AuthSession, Profile, User
from flowtrack.models.audit import AuditEntry
from flowtrack.models.security import AccountToken
from tests.notifications.outbox import emails_to, last_email, link_in
from tests.run_log import remember_secret

NEW_PASSWORD = remember_secret("a long and new passphrase")


def _service(app):
    return app.extensions["flowtrack.db"].service()


def _user(app, email):
    with _service(app) as s:
        return s.scalar(sa.select(User).where(User.email == email))


def _audit(app, company_id, action):
    with _service(app) as s:
        return s.scalars(sa.select(AuditEntry).where(AuditEntry.company_id == company_id, AuditEntry.action == action)
                         .order_by(AuditEntry.seq)).all()


@pytest.fixture
def newcomer():
    """An address nobody uses yet (addresses are unique across all companies)."""
    return f"new.tech-{secrets.token_hex(4)}@example.com"


def _invite(admin, email, role="technician", name="Nina New"):
    return admin.submit("/team/invite", {"full_name": name, "email": email, "role": role})


def _accept(client, link, password=NEW_PASSWORD):
    landing = client.get(link)
    assert landing.status_code == 303 and landing.headers["Location"] == "/invitation"
    return client.submit("/invitation", {"password": password, "confirm": password})


def test_the_admin_sees_everyone_with_role_and_status(admin, acme):
    page = admin.get("/team/")
    assert page.status_code == 200
    for member in acme.members.values():
        assert member.email in page.text
    assert "Invite someone" in page.text


def test_an_invited_person_sets_a_password_with_the_emailed_link_and_signs_in(newcomer, app, admin, client, acme):
    response = _invite(admin, newcomer)
    assert response.status_code == 303
    user = _user(app, newcomer)
    assert user.company_id == acme.id and user.password_set_at is None and user.is_active
    assert "invited" in admin.get("/team/").text

    email = last_email(app, newcomer)
    assert email.status == "outbox"  # no SMTP configured: it waits in the outbox
    assert acme.company.name in email.subject and "Technician" in email.body
    link = link_in(email.body)
    assert "token=" in link

    invitation = client.get(link, follow_redirects=True)
    assert invitation.status_code == 200 and newcomer in invitation.text
    accepted = client.submit("/invitation", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert accepted.status_code == 303 and accepted.headers["Location"] == "/login"
    assert _user(app, newcomer).password_set_at is not None

    signed_in = client.submit("/login", {"email": newcomer, "password": NEW_PASSWORD})
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/my-day/"  # a technician's start
    assert [e.action for e in _audit(app, acme.id, "user.invitation_accepted")] == ["user.invitation_accepted"]
    assert _audit(app, acme.id, "user.invited")[0].changes["role"]["after"] == "technician"


def test_an_invitation_link_works_once(newcomer, app, admin, acme):
    _invite(admin, newcomer)
    link = link_in(last_email(app, newcomer).body)
    assert _accept(app.test_client(), link).status_code == 303
    again = _accept(app.test_client(), link, "someone else's passphrase")
    assert again.status_code == 400 and "does not work any more" in again.text
    # The first password still stands.
    assert app.test_client().submit("/login", {"email": newcomer,
                                               "password": NEW_PASSWORD}).status_code == 303


def test_an_expired_invitation_link_is_refused(newcomer, app, admin):
    _invite(admin, newcomer)
    link = link_in(last_email(app, newcomer).body)
    user = _user(app, newcomer)
    with _service(app) as s:
        s.execute(sa.update(AccountToken).where(AccountToken.user_id == user.id)
                  .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
        s.commit()
    client = app.test_client()
    assert client.get(link).status_code == 303  # the signature is still fine; the database says no
    page = client.get("/invitation")
    assert page.status_code == 400 and "does not work any more" in page.text
    assert client.submit("/invitation", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 400
    assert _user(app, newcomer).password_set_at is None


def test_a_tampered_or_made_up_link_is_refused(newcomer, app, admin, client):
    _invite(admin, newcomer)
    link = link_in(last_email(app, newcomer).body)
    tampered = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    assert client.get(tampered).status_code == 400
    assert client.get("/invitation?token=not-a-token").status_code == 400
    assert client.get("/invitation").status_code == 400


def test_a_reset_link_is_not_an_invitation(newcomer, app, admin, client):
    _invite(admin, newcomer)
    link = link_in(last_email(app, newcomer).body)
    assert client.get(link.replace("/invitation", "/password/reset")).status_code == 400


def test_sending_an_invitation_again_retires_the_old_link(newcomer, app, admin, acme):
    _invite(admin, newcomer)
    first = link_in(last_email(app, newcomer).body)
    with _service(app) as s:
        profile_id = s.scalar(sa.select(Profile.id).join(User).where(User.email == newcomer))
    assert admin.submit(f"/team/{profile_id}/resend").status_code == 303
    second = link_in(last_email(app, newcomer).body)
    assert first != second and len(emails_to(app, newcomer)) == 2
    assert _accept(app.test_client(), first).status_code == 400
    assert _accept(app.test_client(), second).status_code == 303


def test_an_address_that_already_has_an_account_is_refused_without_saying_where(app, admin, bravo):
    taken = bravo.members["manager"].email
    response = _invite(admin, taken)
    assert response.status_code == 422
    assert "already has a FlowTrack account" in response.text and bravo.company.name not in response.text
    assert emails_to(app, taken) == []


def test_the_invite_form_validates_next_to_the_fields(admin):
    response = admin.submit("/team/invite", {"full_name": "", "email": "not-an-email", "role": "emperor"})
    assert response.status_code == 422
    assert response.text.count('class="errors"') == 3
    assert _invite(admin, f"c-{secrets.token_hex(3)}@example.com", role="customer").status_code == 422


def test_changing_a_role_changes_what_the_person_may_do_and_is_audited(app, admin, auditor, acme):
    person = acme.members["auditor"]
    assert auditor.get("/audit/").status_code == 200
    assert admin.submit(f"/team/{person.profile_id}/role", {"role": "technician"}).status_code == 303
    assert auditor.get("/audit/").status_code == 403
    entry = _audit(app, acme.id, "user.role_changed")[-1]
    assert entry.changes == {"role": {"before": "auditor", "after": "technician"}}
    assert entry.actor_user_id == acme.members["company_admin"].user_id


def test_an_admin_cannot_change_their_own_role_or_deactivate_themselves(app, admin, acme):
    me = acme.members["company_admin"]
    response = admin.submit(f"/team/{me.profile_id}/role", {"role": "manager"}, follow_redirects=True)
    assert "cannot change your own role" in response.text
    response = admin.submit(f"/team/{me.profile_id}/deactivate", follow_redirects=True)
    assert "cannot deactivate yourself" in response.text
    assert admin.get("/team/").status_code == 200


def test_deactivating_someone_ends_their_sessions_at_once(app, admin, office, acme):
    person = acme.members["manager"]
    phone = app.test_client()
    phone.sign_in_as(person)
    assert office.get("/dashboard/").status_code == 200 and phone.get("/dashboard/").status_code == 200

    assert admin.submit(f"/team/{person.profile_id}/deactivate").status_code == 303
    assert office.get("/dashboard/").status_code == 302
    assert phone.get("/dashboard/").status_code == 302
    with _service(app) as s:
        assert all(r.revoked_at for r in s.scalars(sa.select(AuthSession).where(AuthSession.user_id == person.user_id)))
    assert app.test_client().submit("/login", {"email": person.email, "password": person.password}).status_code == 422
    assert _audit(app, acme.id, "user.deactivated")[-1].changes["sessions_ended"] == 2

    assert admin.submit(f"/team/{person.profile_id}/reactivate").status_code == 303
    assert app.test_client().submit("/login", {"email": person.email, "password": person.password}).status_code == 303


def test_an_admin_signs_a_member_out_everywhere(app, admin, technician, acme):
    person = acme.members["technician"]
    assert technician.get("/dashboard/").status_code == 200
    response = admin.submit(f"/team/{person.profile_id}/sign-out", follow_redirects=True)
    assert "signed out of 1 session" in response.text
    assert technician.get("/dashboard/").status_code == 302
    entry = _audit(app, acme.id, "sessions.revoked_by_admin")[-1]
    assert entry.entity_id == str(person.user_id)
    # The person can sign in again: signing out is not deactivation.
    assert app.test_client().submit("/login", {"email": person.email, "password": person.password}).status_code == 303


def test_a_member_of_another_company_is_not_found(app, admin, bravo):
    stranger = bravo.members["manager"]
    for action in ("deactivate", "sign-out", "resend", "reset-mfa"):
        assert admin.submit(f"/team/{stranger.profile_id}/{action}").status_code == 404
    with _service(app) as s:
        assert s.get(User, stranger.user_id).is_active


def test_invitations_are_rate_limited_per_company(app, admin):
    statuses = [_invite(admin, f"person{i}-{secrets.token_hex(3)}@example.com").status_code for i in range(31)]
    assert statuses[:30] == [303] * 30 and statuses[30] == 429


def test_the_admin_keeps_a_technicians_certification_and_working_hours(app, admin, acme):
    technician = acme.members["technician"]
    page = admin.get("/team/")
    assert f'id="cert-{technician.profile_id}"' in page.text

    saved = admin.submit(f"/team/{technician.profile_id}/technician", {
        "certification_number": "OR-BPA-2291", "certification_expires_on": "2027-09-30",
        "workday_starts": "06:30", "workday_ends": "15:00"}, follow_redirects=True)
    assert "Saved the certification and working hours of Technician Person." in saved.text
    assert "certification OR-BPA-2291 until Sep 30, 2027" in saved.text and "works 06:30–15:00" in saved.text
    with _service(app) as s:
        profile = s.get(Profile, technician.profile_id)
        assert (profile.certification_number, profile.workday_starts) == ("OR-BPA-2291", dt.time(6, 30))
    assert _audit(app, acme.id, "user.technician_details_changed")

    backwards = admin.submit(f"/team/{technician.profile_id}/technician", {
        "certification_number": "OR-BPA-2291", "certification_expires_on": "2027-09-30",
        "workday_starts": "15:00", "workday_ends": "06:30"}, follow_redirects=True)
    assert "The working day must end after it starts." in backwards.text
    half = admin.submit(f"/team/{technician.profile_id}/technician", {
        "certification_number": "OR-1", "workday_starts": "07:00", "workday_ends": "16:00"}, follow_redirects=True)
    assert "Give both the certification number and its expiry date" in half.text
    office = admin.submit(f"/team/{acme.members['manager'].profile_id}/technician", {
        "workday_starts": "07:00", "workday_ends": "16:00"}, follow_redirects=True)
    assert "kept for technicians" in office.text
