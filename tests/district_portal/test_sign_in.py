"""A district admin starts on their district's tests, however they sign in."""
from tests.account.mfa_helpers import code, enrol


def test_with_two_step_sign_in_the_district_admin_still_lands_on_the_district(app, client, district_admin_of, eweb):
    secret, _ = enrol(district_admin_of(eweb))
    password = client.submit("/login", {"email": eweb.admin.email, "password": eweb.admin.password})
    assert password.headers["Location"] == "/login/verify"
    verified = client.submit("/login/verify", {"code": code(secret, 1)})
    assert verified.status_code == 303 and verified.headers["Location"] == "/district/"


def test_a_signed_in_district_admin_opening_the_sign_in_page_goes_to_the_district(district_admin_of, office, eweb):
    assert district_admin_of(eweb).get("/login").headers["Location"] == "/district/"
    assert office.get("/login").headers["Location"] == "/dashboard/"


def test_a_page_asked_for_before_signing_in_comes_first(client, eweb):
    response = client.submit("/login?next=/district/devices", {"email": eweb.admin.email,
                                                                "password": eweb.admin.password})
    assert response.headers["Location"] == "/district/devices"
