"""Who is signing this request: Flask-Login's loader, reading the server-side session on every request."""
from __future__ import annotations

import datetime as dt

from flask import current_app, g, request

from flowtrack.audit.services import Actor
from flowtrack.auth.services import CurrentUser, SessionPolicy, load_current_user
from flowtrack.core.db import bind_company
from flowtrack.core.extensions import login_manager
from flowtrack.core.web import client_ip, open_db_session


def session_policy() -> SessionPolicy:
    settings = current_app.extensions["flowtrack.settings"]
    return SessionPolicy(idle_timeout=dt.timedelta(minutes=settings.idle_timeout_minutes),
                         lifetime=dt.timedelta(hours=settings.session_lifetime_hours))


def _load_user(_request) -> CurrentUser | None:
    open_db_session()
    user = load_current_user(g.db, session_policy())
    if user is None:
        return None
    bind_company(g.db, user.company_id)
    g.db.info["audit_actor"] = Actor(user.user_id, user.email, client_ip(), request.user_agent.string)
    return user


def init_app(app) -> None:
    login_manager.request_loader(_load_user)
