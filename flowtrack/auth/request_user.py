"""Who is signing this request: Flask-Login's loader, reading the server-side session on every request."""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app, g, request, session

from flowtrack.audit import services as audit
from flowtrack.audit.services import Actor
from flowtrack.auth.browser_session import (
    RotatingCookieSession,
    cookie_generation,
    keep_browsers_cookie,
    take_new_token,
)
from flowtrack.auth.services import (
    CurrentUser,
    SessionPolicy,
    confirm_token,
    end_session_of_orphaned_token,
    load_current_user,
    reissue_lost_token,
    rotate_token,
)
from flowtrack.core.db import bind_company
from flowtrack.core.extensions import login_manager
from flowtrack.core.web import client_ip, get_db, open_db_session
from flowtrack.models.vendors import vendor_criteria

log = logging.getLogger("flowtrack.auth")


def session_policy() -> SessionPolicy:
    settings = current_app.extensions["flowtrack.settings"]
    return SessionPolicy(idle_timeout=dt.timedelta(minutes=settings.idle_timeout_minutes),
                         lifetime=dt.timedelta(hours=settings.session_lifetime_hours))


def _load_user(_request) -> CurrentUser | None:
    open_db_session()
    policy = session_policy()
    user = load_current_user(g.db, policy)
    if user is None and session.get("sid") and not session.get("vendor"):
        user = _as_vendor(policy)
    if user is None:
        if session.get("sid"):
            _end_a_session_taken_over()
        return None
    reissued = False
    if cookie_generation() < user.token_generation:
        new = reissue_lost_token(g.db, user, policy)
        reissued = new is not None
        if new is None:
            keep_browsers_cookie()  # an older token on its way while the new one arrived: it earns nothing
    else:
        confirm_token(g.db, user, policy)
        new = rotate_token(g.db, user, policy)
    if new is not None:
        take_new_token(new.token, new.generation)
    bind_company(g.db, user.company_id)
    if user.vendor_id is not None:
        g.db.info["scope_criteria"] = vendor_criteria(user.vendor_id)
    g.db.info["audit_actor"] = Actor(user.user_id, user.email, client_ip(), request.user_agent.string)
    if reissued:
        audit.record(g.db, "session.token_reissued", entity_type="session", entity_id=user.session_id)
        g.db.commit()
    return user


def _as_vendor(policy: SessionPolicy) -> CurrentUser | None:
    """A token the app role resolves to nothing may be a vendor's person's, which resolves only on the vendor
    role's connection (migration 0038): try there once, and keep to it for the rest of the browser's session."""
    g.db.close()
    g.db = get_db().app_session(token=session["sid"], vendor=True)
    user = load_current_user(g.db, policy)
    if user is not None:
        session["vendor"] = True
    return user


def _end_a_session_taken_over() -> None:
    """The cookie's token opens no session: if it is one its session gave up, the session ends for whoever holds
    the other token, and the company's log says so."""
    company_id = end_session_of_orphaned_token(g.db)
    if company_id is None:
        return
    log.warning("a session of company %s ended: a token it had given up was presented", company_id)
    with get_db().service() as service:
        audit.record(service, "session.ended_token_reused", entity_type="session", company_id=company_id,
                     actor=Actor(None, "session guard", client_ip(), request.user_agent.string))
        service.commit()


def init_app(app) -> None:
    login_manager.request_loader(_load_user)
    app.session_interface = RotatingCookieSession()
