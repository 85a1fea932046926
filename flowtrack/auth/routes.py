"""Sign in (password, then a TOTP or recovery code for those with MFA) and sign out."""
import uuid

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user

from flowtrack.auth import mfa
from flowtrack.auth.browser_session import (
    begin_session,
    continue_sign_in,
    pending_sign_in,
    pending_user_key,
    safe_next,
    start_page,
)
from flowtrack.auth.forms import CodeForm, EnrolForm, LoginForm
from flowtrack.auth.request_user import session_policy
from flowtrack.auth.services import sign_in, sign_out
from flowtrack.core.directory import sign_in_region
from flowtrack.core.extensions import limiter, login_email_key
from flowtrack.core.forms import add_error
from flowtrack.core.permissions import ACCOUNT_SELF, public, requires
from flowtrack.core.regions import in_region
from flowtrack.core.web import client_ip, get_db

bp = Blueprint("auth", __name__)

LOGIN_FAILED = "That email and password do not match an active account."
CODE_FAILED = "That code is not right, or it was already used. Wait for the next code and try again."
@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit("20 per minute", methods=["POST"])
@limiter.limit("10 per 15 minutes", key_func=login_email_key, methods=["POST"],
               deduct_when=lambda response: response.status_code != 303)
def login():
    """Show the sign-in form; on success start a fresh server-side session (or ask for the second step)."""
    if current_user.is_authenticated:
        return redirect(start_page(current_user.role))
    form = LoginForm()
    if form.validate_on_submit():
        # The directory names the address's region (docs/regions.md); the password is checked there, and the
        # new cookie session is in it.
        with in_region(sign_in_region(form.email.data)):
            result = sign_in(get_db(), form.email.data, form.password.data, session_policy(),
                             ip=client_ip(), user_agent=request.user_agent.string)
            if result:
                return continue_sign_in(result, form.email.data, request.args.get("next"))
        add_error(form.password, LOGIN_FAILED)
    elif request.method == "POST" and not form.errors:
        add_error(form.password, LOGIN_FAILED)
    status = 200 if request.method == "GET" else 422
    return render_template("auth/login.html", form=form, demo=current_app.config["ENV_NAME"] != "production"), status


def _start_over():
    session.pop("pending_login", None)
    flash("Your sign-in took too long or was not started. Sign in again.")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/login/verify", methods=["GET", "POST"])
@public
@limiter.limit("20 per minute", methods=["POST"])
@limiter.limit("10 per 15 minutes", key_func=pending_user_key, methods=["POST"],
               deduct_when=lambda response: response.status_code == 422)
def second_step():
    """Second step: a code from the authenticator app, or a recovery code."""
    pending = pending_sign_in("mfa")
    if pending is None:
        return _start_over()
    form = CodeForm()
    if form.validate_on_submit():
        token = mfa.complete_sign_in(get_db(), uuid.UUID(pending["user"]), form.code.data, session_policy(),
                                     ip=client_ip(), user_agent=request.user_agent.string)
        if token:
            begin_session(token)
            return redirect(safe_next(pending.get("next")), code=303)
        add_error(form.code, CODE_FAILED)
    status = 200 if request.method == "GET" else 422
    return render_template("auth/verify.html", form=form), status


@bp.route("/login/enrol", methods=["GET", "POST"])
@public
@limiter.limit("20 per minute", methods=["POST"])
@limiter.limit("10 per 15 minutes", key_func=pending_user_key, methods=["POST"],
               deduct_when=lambda response: response.status_code == 422)
def enrol():
    """The company requires two-step sign-in and this person has none: set it up before the first session."""
    pending = pending_sign_in("enrol")
    if pending is None:
        return _start_over()
    # The secret waits in the signed cookie until a code proves the app has it; only then is it stored.
    secret = pending.get("secret") or mfa.new_secret()
    if "secret" not in pending:
        session["pending_login"] = {**pending, "secret": secret}
    form = EnrolForm()
    if form.validate_on_submit():
        result = mfa.enrol_and_sign_in(get_db(), uuid.UUID(pending["user"]), secret, form.code.data,
                                       session_policy(), ip=client_ip(), user_agent=request.user_agent.string)
        if result:
            token, codes = result
            begin_session(token)
            # Shown once, in this response: the codes exist nowhere else in readable form.
            return render_template("account/recovery_codes.html", codes=codes,
                                   continue_url=safe_next(pending.get("next")))
        add_error(form.code, CODE_FAILED)
    status = 200 if request.method == "GET" else 422
    return render_template("auth/enrol.html", form=form, secret=secret,
                           qr=mfa.qr_data_uri(secret, pending["email"])), status


@bp.post("/logout")
@requires(ACCOUNT_SELF)
def logout():
    """End this session everywhere at once: the row is revoked in the database."""
    sign_out(g.db, current_user)
    g.db.commit()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.login"), code=303)
