"""A district admin is invited for one of the company's water districts, and the team page shows which."""
import secrets

import sqlalchemy as sa

from flowtrack.models.accounts import Profile, User
from flowtrack.models.audit import AuditEntry
from tests.customers.factories import Records


def _profile(app, email):
    with app.extensions["flowtrack.db"].service() as s:
        return s.scalar(sa.select(Profile).join(User, User.id == Profile.user_id).where(User.email == email))


def _invite(admin, email, district=""):
    return admin.submit("/team/invite", {"full_name": "Dee District", "email": email, "role": "district_admin",
                                         "district": district})


def test_a_district_admin_is_invited_for_a_district_and_the_team_page_shows_it(app, admin, acme):
    district = Records(app).district(acme, name="Eugene Water")
    email = f"dee-{secrets.token_hex(3)}@example.com"
    assert _invite(admin, email, str(district.id)).status_code == 303
    assert _profile(app, email).district_id == district.id
    page = admin.get("/team/").text
    listed = page.split(f"{email} · District admin")[1][:200]
    assert "· Eugene Water" in listed


def test_the_district_is_required_and_must_be_the_companys(app, admin, acme, bravo):
    email = f"dee-{secrets.token_hex(3)}@example.com"
    missing = _invite(admin, email)
    assert missing.status_code == 422 and "Choose the water district" in missing.text
    foreign = Records(app).district(bravo)
    assert _invite(admin, email, str(foreign.id)).status_code == 422
    assert _profile(app, email) is None


def test_other_roles_belong_to_no_district_whatever_is_chosen(app, admin, acme):
    district = Records(app).district(acme)
    email = f"olga-{secrets.token_hex(3)}@example.com"
    response = admin.submit("/team/invite", {"full_name": "Olga", "email": email, "role": "manager",
                                             "district": str(district.id)})
    assert response.status_code == 303 and _profile(app, email).district_id is None


def test_changing_a_role_to_district_admin_asks_for_the_district_and_changing_it_back_drops_it(app, admin, acme):
    district = Records(app).district(acme, name="Springfield Utility")
    person = acme.members["auditor"]
    refused = admin.submit(f"/team/{person.profile_id}/role", {"role": "district_admin"}, follow_redirects=True)
    assert "Choose the water district" in refused.text and _profile(app, person.email).role == "auditor"
    admin.submit(f"/team/{person.profile_id}/role", {"role": "district_admin", "district": str(district.id)})
    assert (_profile(app, person.email).role, _profile(app, person.email).district_id) == ("district_admin",
                                                                                          district.id)
    admin.submit(f"/team/{person.profile_id}/role", {"role": "auditor", "district": str(district.id)})
    assert (_profile(app, person.email).role, _profile(app, person.email).district_id) == ("auditor", None)
    with app.extensions["flowtrack.db"].service() as s:
        changes = [e.changes for e in s.scalars(sa.select(AuditEntry).where(
            AuditEntry.company_id == acme.id, AuditEntry.action == "user.role_changed").order_by(AuditEntry.seq))]
    assert changes == [
        {"role": {"before": "auditor", "after": "district_admin"},
         "district": {"before": None, "after": str(district.id)}},
        {"role": {"before": "district_admin", "after": "auditor"},
         "district": {"before": str(district.id), "after": None}},
    ]


def test_a_district_with_a_district_admin_is_not_removed(app, admin, factory, acme):
    district = Records(app).district(acme, name="Lane County Water")
    factory.member(acme.id, "district_admin", district_id=district.id)
    response = admin.submit(f"/districts/{district.id}/delete", follow_redirects=True)
    assert "district admin" in response.text
    assert "Lane County Water" in admin.get("/districts/").text
