"""The sessions page: each person sees where they are signed in and ends any or all of those sessions."""
import sqlalchemy as sa

from flowtrack.account.services import describe_device
from flowtrack.models.accounts import AuthSession
from flowtrack.models.audit import AuditEntry

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")
WINDOWS_CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0.0.0 Safari/537.36")


def _signed_in_browser(app, member, user_agent, address):
    browser = app.test_client()
    browser.environ_base.update(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)
    response = browser.submit("/login", {"email": member.email, "password": member.password})
    assert response.status_code == 303
    return browser


def _live(app, member):
    with app.extensions["flowtrack.db"].service() as s:
        return s.scalars(sa.select(AuthSession).where(AuthSession.user_id == member.user_id,
                                                      AuthSession.revoked_at.is_(None))).all()


def _actions(app, company_id):
    with app.extensions["flowtrack.db"].service() as s:
        return s.scalars(sa.select(AuditEntry.action).where(AuditEntry.company_id == company_id)
                         .order_by(AuditEntry.seq)).all()


def test_the_page_lists_each_device_with_address_and_marks_this_one(app, acme):
    member = acme.members["technician"]
    phone = _signed_in_browser(app, member, IPHONE, "203.0.113.7")
    desk = _signed_in_browser(app, member, WINDOWS_CHROME, "198.51.100.20")
    page = desk.get("/account/sessions")
    assert page.status_code == 200
    assert "Safari on iPhone" in page.text and "203.0.113.7" in page.text
    assert "Chrome on Windows" in page.text and "198.51.100.20" in page.text
    assert page.text.count("This device") == 1
    assert page.text.index("Chrome on Windows") < page.text.index("Safari on iPhone")  # this device first
    assert phone.get("/account/sessions").status_code == 200


def test_ending_another_session_signs_that_device_out_at_once(app, acme):
    member = acme.members["manager"]
    phone = _signed_in_browser(app, member, IPHONE, "203.0.113.7")
    desk = _signed_in_browser(app, member, WINDOWS_CHROME, "198.51.100.20")
    phone_row = next(s for s in _live(app, member) if "iPhone" in s.user_agent)
    response = desk.submit(f"/account/sessions/{phone_row.id}/revoke")
    assert response.status_code == 303 and response.headers["Location"] == "/account/sessions"
    assert phone.get("/dashboard/").status_code == 302
    assert desk.get("/dashboard/").status_code == 200
    assert _actions(app, acme.id)[-1] == "session.revoked"


def test_signing_out_all_other_sessions_keeps_this_one(app, acme):
    member = acme.members["auditor"]
    others = [_signed_in_browser(app, member, IPHONE, f"203.0.113.{i}") for i in range(1, 4)]
    desk = _signed_in_browser(app, member, WINDOWS_CHROME, "198.51.100.20")
    page = desk.submit("/account/sessions/revoke-others", follow_redirects=True)
    assert "Signed out of 3 other sessions" in page.text
    assert [o.get("/dashboard/").status_code for o in others] == [302, 302, 302]
    assert desk.get("/dashboard/").status_code == 200
    assert len(_live(app, member)) == 1
    assert _actions(app, acme.id)[-1] == "sessions.revoked_others"


def test_signing_out_everywhere_includes_this_browser(app, acme):
    member = acme.members["customer"]
    phone = _signed_in_browser(app, member, IPHONE, "203.0.113.7")
    desk = _signed_in_browser(app, member, WINDOWS_CHROME, "198.51.100.20")
    response = desk.submit("/account/sessions/revoke-all")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert phone.get("/dashboard/").status_code == 302 and desk.get("/dashboard/").status_code == 302
    assert _live(app, member) == []
    assert _actions(app, acme.id)[-1] == "sessions.revoked_everywhere"


def test_ending_your_current_session_from_the_list_signs_you_out(app, acme):
    member = acme.members["district_admin"]
    desk = _signed_in_browser(app, member, WINDOWS_CHROME, "198.51.100.20")
    (row,) = _live(app, member)
    response = desk.submit(f"/account/sessions/{row.id}/revoke")
    assert response.headers["Location"] == "/login"
    assert desk.get("/dashboard/").status_code == 302


def test_someone_elses_session_in_the_same_company_is_not_found(app, office, acme):
    colleague = acme.members["technician"]
    phone = _signed_in_browser(app, colleague, IPHONE, "203.0.113.7")
    (row,) = _live(app, colleague)
    assert office.submit(f"/account/sessions/{row.id}/revoke").status_code == 404
    assert phone.get("/dashboard/").status_code == 200
    assert "203.0.113.7" not in office.get("/account/sessions").text


def test_devices_are_named_for_people():
    assert describe_device(IPHONE) == "Safari on iPhone"
    assert describe_device(WINDOWS_CHROME) == "Chrome on Windows"
    assert describe_device("Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 "
                           "Firefox/127.0") == "Firefox on Linux"
    assert describe_device("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36 "
                           "EdgA/126.0") == "Edge on Android"
    assert describe_device(None) == "Unknown device"
