"""Public sign-up: a new company, its first admin and its subscription, then straight to the dashboard."""
import logging

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from flowtrack.account.services import password_problem
from flowtrack.auth.request_user import session_policy
from flowtrack.billing import stripe_api
from flowtrack.core.config import setting
from flowtrack.core.extensions import limiter
from flowtrack.core.forms import add_error
from flowtrack.core.permissions import public
from flowtrack.core.regions import fresh_cookie_session, home_region, in_region, region_label, region_names
from flowtrack.core.web import client_ip, get_db
from flowtrack.signup import services
from flowtrack.signup.forms import SignUpForm

bp = Blueprint("signup", __name__)
log = logging.getLogger("flowtrack.signup")

# Deliberately silent about which company has the address.
EMAIL_IN_USE = "This email already has a FlowTrack account. Sign in with it, or use another address."
CLOSED = ("Sign-up is not open on this installation: billing is not set up. "
          "If you run FlowTrack, see the Stripe settings in the operations guide.")
STRIPE_UNREACHABLE = ("We could not reach our payment provider, so nothing was created and nothing was charged. "
                      "Please try again in a few minutes.")
STRIPE_REFUSED = ("Our payment provider did not start the subscription, so nothing was created and nothing was "
                  "charged. Please try again later; if it keeps happening, contact us.")
DATABASE_FAILED = "Something went wrong on our side, so nothing was created and nothing was charged. Please try again."


def _billing() -> tuple[stripe_api.StripeSettings | None, bool]:
    """The Stripe settings (None: billing not connected) and whether sign-up is open."""
    try:
        settings = stripe_api.load_settings(setting)
    except stripe_api.Misconfigured as error:
        log.error("sign-up closed: %s", error)
        return None, False
    return settings, settings is not None or current_app.config["ENV_NAME"] != "production"


def _page(form: SignUpForm, stripe: stripe_api.StripeSettings | None, status: int, problem: str | None = None):
    return render_template("signup/index.html", form=form, stripe=stripe, problem=problem), status


@bp.route("/signup", methods=["GET", "POST"])
@public
@limiter.limit("10 per hour", methods=["POST"])
def signup():
    """Create a company account: the company, its admin, its subscription; the admin is signed in."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    stripe, is_open = _billing()
    if not is_open:
        return render_template("signup/closed.html", message=CLOSED), 503
    # A page that showed no choice (one region) posts none: the home region.
    form = SignUpForm(region=home_region().name)
    form.region.choices = [(name, region_label(name)) for name in region_names()]
    if not form.validate_on_submit():
        return _page(form, stripe, 200 if request.method == "GET" else 422)
    if not services.region_offered(form.plan.data, form.region.data, home_region().name):
        add_error(form.region, f"{region_label(form.region.data)} needs the Enterprise plan: choose Enterprise "
                               f"above, or {region_label(home_region().name)} here.")
        return _page(form, stripe, 422)
    problem = password_problem(form.password.data, form.email.data)
    if problem:
        add_error(form.password, problem)
        return _page(form, stripe, 422)
    details = services.SignUp(company_name=form.company_name.data.strip(), timezone=form.timezone.data,
                              plan=form.plan.data, full_name=form.full_name.data.strip(), email=form.email.data,
                              password=form.password.data)
    try:
        with in_region(form.region.data):
            token = services.sign_up(get_db(), details, session_policy(), stripe=stripe, ip=client_ip(),
                                     user_agent=request.user_agent.string)
            # A brand-new cookie session in the company's region: new session id, new CSRF token.
            fresh_cookie_session()
    except services.EmailInUse:
        add_error(form.email, EMAIL_IN_USE)
        return _page(form, stripe, 422)
    except stripe_api.BillingFailed as failure:
        log.error("sign-up failed at Stripe, nothing created: %s", failure)
        return _page(form, stripe, 503, STRIPE_UNREACHABLE if not failure.reachable else STRIPE_REFUSED)
    except SQLAlchemyError:
        log.exception("sign-up failed in the database, nothing created")
        return _page(form, stripe, 500, DATABASE_FAILED)
    session["sid"] = token
    session.permanent = True
    flash(f"Welcome to FlowTrack. {details.company_name} is ready; invite your team from the Team page.", "success")
    return redirect(url_for("dashboard.home"), code=303)
