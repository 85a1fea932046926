"""Landing redirect and the health check."""
import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, redirect, url_for
from flask_login import current_user

from flowtrack.core.permissions import public
from flowtrack.core.web import get_db

bp = Blueprint("home", __name__)


@bp.get("/")
@public
def index():
    """Send people to their dashboard, or to sign in."""
    return redirect(url_for("dashboard.home" if current_user.is_authenticated else "auth.login"))


@bp.get("/healthz")
@public
def healthz():
    """200 when the database and Redis answer, 503 otherwise."""
    checks = {}
    try:
        with get_db().app_engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        current_app.logger.warning("health check: database unreachable")
        checks["database"] = "unreachable"
    try:
        current_app.extensions["flowtrack.redis"].ping()
        checks["redis"] = "ok"
    except Exception:
        current_app.logger.warning("health check: redis unreachable")
        checks["redis"] = "unreachable"
    healthy = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", **checks), 200 if healthy else 503
