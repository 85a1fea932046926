"""The company's hints on one page, and dismissing a hint (or showing it again) from wherever it is shown."""
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.companies.services import company_today
from flowtrack.core.permissions import HINTS_VIEW, requires
from flowtrack.hints import services

bp = Blueprint("hints", __name__, url_prefix="/hints")


@bp.get("/")
@requires(HINTS_VIEW)
def index():
    """Every hint the person may act on, with those dismissed below."""
    found = services.find(g.db, services.kinds_for(current_user.role), company_today(g.db))
    return render_template("hints/index.html", found=found)


def _back():
    """Back to the page the hint was on (a path of this site), else the hints page."""
    target = request.form.get("back", "")
    if not (target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc):
        target = url_for("hints.index")
    return redirect(target, code=303)


def _change(change, done: str, already: str):
    try:
        changed = change(g.db, request.form.get("key", ""), current_user.role)
    except services.NotAHint:
        abort(400, "That is not a hint you can change.")
    g.db.commit()
    flash(done if changed else already, "success")
    return _back()


@bp.post("/dismiss")
@requires(HINTS_VIEW)
def dismiss():
    return _change(lambda session, key, role: services.dismiss(session, key, role, current_user.user_id),
                   "Hint dismissed for everyone in the company. It comes back if its facts change.",
                   "That hint was dismissed already.")


@bp.post("/restore")
@requires(HINTS_VIEW)
def restore():
    return _change(services.restore, "The hint shows again.", "That hint was not dismissed.")
