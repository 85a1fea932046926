"""The public trust pages: security, privacy, the subprocessors, and the policies behind them."""
from flask import Blueprint, abort, render_template

from flowtrack.core.extensions import limiter
from flowtrack.core.permissions import public
from flowtrack.core.regions import region_label, region_names
from flowtrack.trust import subprocessors
from flowtrack.trust.claims import POLICIES, PRIVACY_CLAIMS, PRIVACY_LAST_UPDATED, policy_text, sections

bp = Blueprint("trust", __name__, url_prefix="/security")


@bp.get("/")
@public
@limiter.limit("60 per minute")
def security():
    """How FlowTrack handles your data, claim by claim."""
    return render_template("trust/security.html", sections=sections(), policies=POLICIES,
                           regions=[region_label(name) for name in region_names()])


@bp.get("/privacy")
@public
@limiter.limit("60 per minute")
def privacy():
    """What FlowTrack keeps, why and for how long, and its promises, each with the tests that check it."""
    return render_template("trust/privacy.html", claims=PRIVACY_CLAIMS, last_updated=PRIVACY_LAST_UPDATED,
                           policies=POLICIES)


@bp.get("/subprocessors")
@public
@limiter.limit("60 per minute")
def subprocessors_list():
    """The outside services that process data for FlowTrack: what for, which data, where."""
    return render_template("trust/subprocessors.html", entries=subprocessors.SUBPROCESSORS,
                           last_updated=subprocessors.LAST_UPDATED)


@bp.get("/policies/<name>")
@public
@limiter.limit("60 per minute")
def policy(name: str):
    """One policy document, as installed with the app."""
    if name not in POLICIES:
        abort(404)
    return render_template("trust/policy.html", title=POLICIES[name], text=policy_text(name))
