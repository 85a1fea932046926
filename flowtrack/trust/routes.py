"""The public security page and the policies behind it."""
from flask import Blueprint, abort, render_template

from flowtrack.core.extensions import limiter
from flowtrack.core.permissions import public
from flowtrack.trust.claims import POLICIES, policy_text, sections

bp = Blueprint("trust", __name__, url_prefix="/security")


@bp.get("/")
@public
@limiter.limit("60 per minute")
def security():
    """How FlowTrack handles your data, claim by claim."""
    return render_template("trust/security.html", sections=sections(), policies=POLICIES)


@bp.get("/policies/<name>")
@public
@limiter.limit("60 per minute")
def policy(name: str):
    """One policy document, as installed with the app."""
    if name not in POLICIES:
        abort(404)
    return render_template("trust/policy.html", title=POLICIES[name], text=policy_text(name))
