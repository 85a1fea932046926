"""Signing a browser in: the new session's token into a fresh cookie session, or, when a second step is due,
the pending sign-in kept in the signed cookie for a few minutes (no session row exists until the step is done)."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from flowtrack.auth.services import SignIn
from flowtrack.core.permissions import Role
from flowtrack.core.regions import fresh_cookie_session

# The password step is good for this long; then the sign-in starts over.
PENDING_SECONDS = 10 * 60


# Where a role starts when no page was asked for: where its day's work is (a vendor's tester: the work given to their
# vendor). The office and the admin start on the dashboard.
START_PAGES = {Role.technician.value: "day.my_day", Role.customer.value: "portal.home",
               Role.requester.value: "portal.home", Role.auditor.value: "audit.index",
               Role.district_admin.value: "district_portal.index", Role.vendor.value: "vendors.work"}


def start_page(role: str | None) -> str:
    return url_for(START_PAGES.get(role, "dashboard.home"))


def safe_next(target: str | None) -> str:
    """Only same-site paths; anything else goes to the dashboard."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.home")


def begin_session(token: str) -> None:
    # A brand-new cookie session: new session id, new CSRF token. Its token is the session's first (generation 0).
    fresh_cookie_session()
    session["sid"] = token
    session.permanent = True


def take_new_token(token: str, generation: int) -> None:
    """The session's token was rotated during this request: the response's cookie carries the new one."""
    session["sid"] = token
    session["sid_generation"] = generation


def cookie_generation() -> int:
    """Which of its session's tokens this browser's cookie carries (0: the one it signed in with)."""
    return int(session.get("sid_generation", 0))


def keep_browsers_cookie() -> None:
    """This request came with a token already replaced (it was on its way when another request rotated it): its
    response must not write that old token back over the new cookie the browser has just received."""
    g.keep_browsers_cookie = True


class RotatingCookieSession(SecureCookieSessionInterface):
    """Flask's signed cookie session, which leaves the browser's cookie alone when `keep_browsers_cookie` said so.
    (Flask otherwise writes the cookie of a permanent session on every response.)"""

    def should_set_cookie(self, app, session) -> bool:
        if g.get("keep_browsers_cookie"):
            return False
        return super().should_set_cookie(app, session)


def continue_sign_in(result: SignIn, email: str, next_url: str | None):
    """After a right password (or a sign-in link): into the new session, or on to the second step."""
    next_url = next_url or start_page(result.role)
    if result.token:
        begin_session(result.token)
        return redirect(safe_next(next_url), code=303)
    # No session exists yet: the pending sign-in lives only in the signed cookie, for a few minutes, with its region.
    fresh_cookie_session()
    session["pending_login"] = {"user": str(result.user_id), "email": email.strip().lower(),
                                "step": result.second_step, "until": int(time.time()) + PENDING_SECONDS,
                                "next": next_url}
    return redirect(url_for("auth.second_step" if result.second_step == "mfa" else "auth.enrol"), code=303)


def pending_sign_in(step: str) -> dict | None:
    pending = session.get("pending_login")
    if not pending or pending.get("step") != step or pending.get("until", 0) < time.time():
        return None
    return pending


def pending_user_key() -> str:
    """Rate-limit key for the second step: the person signing in, whatever address they use."""
    pending = session.get("pending_login") or {}
    return "mfa:" + str(pending.get("user", request.remote_addr))
