"""Who is signing this request: Flask-Login's loader, reading the server-side session on every request."""
from __future__ import annotations

import datetime as dt

from flask import current_app, g, request

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
    load_current_user,
    reissue_lost_token,
    rotate_token,
)
from flowtrack.core.db import bind_company
from flowtrack.core.extensions import login_manager
from flowtrack.core.web import client_ip, open_db_session


def session_policy() -> SessionPolicy:
    settings = current_app.extensions["flowtrack.settings"]
    return SessionPolicy(idle_timeout=dt.timedelta(minutes=settings.idle_timeout_minutes),
                         lifetime=dt.timedelta(hours=settings.session_lifetime_hours))


def _load_user(_request) -> CurrentUser | None:
    open_db_session()
    policy = session_policy()
    user = load_current_user(g.db, policy)
    if user is None:
        return None
    if cookie_generation() < user.token_generation:
        new = reissue_lost_token(g.db, user, policy)
        if new is None:
            keep_browsers_cookie()  # an older token on its way while the new one arrived: it earns nothing
    else:
        confirm_token(g.db, user, policy)
        new = rotate_token(g.db, user, policy)
    if new is not None:
        take_new_token(new.token, new.generation)
    bind_company(g.db, user.company_id)
    g.db.info["audit_actor"] = Actor(user.user_id, user.email, client_ip(), request.user_agent.string)
    return user


def init_app(app) -> None:
    login_manager.request_loader(_load_user)
    app.session_interface = RotatingCookieSession()
