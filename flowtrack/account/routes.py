"""A person's own account: accept an invitation, reset a forgotten password, two-step sign-in, sessions."""
import uuid

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from flowtrack.account import redact, services, tokens
from flowtrack.account.forms import ForgotPasswordForm, NewPasswordForm
from flowtrack.account.links import emailed_link
from flowtrack.auth import mfa
from flowtrack.auth.browser_session import continue_sign_in
from flowtrack.auth.forms import CodeForm, EnrolForm
from flowtrack.auth.request_user import session_policy
from flowtrack.core.directory import email_key, sign_in_region
from flowtrack.core.extensions import limiter
from flowtrack.core.forms import add_error
from flowtrack.core.permissions import ACCOUNT_SELF, public, requires
from flowtrack.core.regions import in_region
from flowtrack.core.web import client_ip, get_db
from flowtrack.models.accounts import User

bp = Blueprint("account", __name__)
bp.record_once(lambda _state: redact.install())

LINK_INVALID = "This link does not work any more: it was used already, it expired, or it was replaced by a newer one."
RESET_SENT = ("If an active account uses that address, we sent it a link to choose a new password. "
              "The link works once, within an hour.")
LINK_SENT = "If a customer account uses that address, we sent it a sign-in link. It works once, within 15 minutes."


def forgot_email_key() -> str:
    """The address asking, by its keyed hash (the limiter's Redis is the home region's: docs/regions.md)."""
    return "reset:" + email_key(request.form.get("email") or "").hex()


# --- links from emails ---------------------------------------------------------------------------------

def _token_from_link(purpose: str, endpoint: str):
    """Keep a link's token in the signed cookie and drop it from the address bar (history, Referer, logs)."""
    raw = tokens.unsign(current_app.secret_key, purpose, request.args["token"])
    if raw is None:
        return render_template("account/link_invalid.html", message=LINK_INVALID), 400
    session["account_token"] = {"purpose": purpose, "raw": raw}
    return redirect(url_for(endpoint), code=303)


def _stashed(purpose: str) -> str | None:
    stash = session.get("account_token") or {}
    return stash.get("raw") if stash.get("purpose") == purpose else None


def _password_errors(form: NewPasswordForm, email: str | None) -> bool:
    problem = services.password_problem(form.password.data or "", email)
    if problem:
        add_error(form.password, problem)
    return bool(problem)


@bp.route("/invitation", methods=["GET", "POST"])
@public
@limiter.limit("10 per 15 minutes", methods=["POST"])
def invitation():
    """Accept an invitation: choose the first password."""
    if request.method == "GET" and "token" in request.args:
        return _token_from_link(tokens.INVITE, "account.invitation")
    raw = _stashed(tokens.INVITE)
    invite = services.invitation(get_db(), raw) if raw else None
    if invite is None:
        return render_template("account/link_invalid.html", message=LINK_INVALID), 400
    form = NewPasswordForm()
    if form.validate_on_submit() and not _password_errors(form, invite.email):
        email = services.accept_invitation(get_db(), raw, form.password.data, ip=client_ip(),
                                           user_agent=request.user_agent.string)
        session.pop("account_token", None)
        if email is None:
            return render_template("account/link_invalid.html", message=LINK_INVALID), 400
        flash(f"Welcome to {invite.company_name}. Sign in with {email} and your new password.", "success")
        return redirect(url_for("auth.login"), code=303)
    status = 200 if request.method == "GET" else 422
    return render_template("account/invitation.html", form=form, invite=invite), status


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit("10 per hour", methods=["POST"])
@limiter.limit("5 per hour", key_func=forgot_email_key, methods=["POST"])
def forgot_password():
    """Ask for a reset link. The answer is the same whether or not the address has an account."""
    return _email_a_link("account/forgot.html", tokens.PASSWORD_RESET, "account.reset_password",
                         services.request_password_reset, RESET_SENT)


def _email_a_link(template: str, purpose: str, endpoint: str, send, sent: str):
    """The form that emails a single-use link (reset, sign-in): the same answer whether or not it was sent."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # The account is in the address's region; the link is built there, and names it.
        with in_region(sign_in_region(form.email.data)):
            send(get_db(), form.email.data, emailed_link(endpoint, purpose), ip=client_ip(),
                 user_agent=request.user_agent.string)
        flash(sent, "success")
        return redirect(url_for("auth.login"), code=303)
    return render_template(template, form=form), 200 if request.method == "GET" else 422


@bp.route("/login/link", methods=["GET", "POST"])
@public
@limiter.limit("10 per hour", methods=["POST"])
@limiter.limit("5 per hour", key_func=forgot_email_key, methods=["POST"])
def sign_in_link():
    """A customer asks for a one-time sign-in link instead of a password. The answer is the same either way."""
    return _email_a_link("account/sign_in_link.html", tokens.SIGN_IN_LINK, "account.open_sign_in_link",
                         services.request_sign_in_link, LINK_SENT)


@bp.route("/login/link/open", methods=["GET", "POST"])
@public
@limiter.limit("10 per 15 minutes", methods=["POST"])
def open_sign_in_link():
    """The link from the email: one button signs in (opening the link alone spends nothing: mail scanners
    follow links)."""
    if request.method == "GET" and "token" in request.args:
        return _token_from_link(tokens.SIGN_IN_LINK, "account.open_sign_in_link")
    raw = _stashed(tokens.SIGN_IN_LINK)
    if raw is None:
        return render_template("account/link_invalid.html", message=LINK_INVALID), 400
    form = FlaskForm()
    if not form.validate_on_submit():
        return render_template("account/open_link.html", form=form)
    result = services.sign_in_with_link(get_db(), raw, session_policy(), ip=client_ip(),
                                        user_agent=request.user_agent.string)
    session.pop("account_token", None)
    if result is None:
        return render_template("account/link_invalid.html", message=LINK_INVALID), 400
    return continue_sign_in(result, result.email, url_for("portal.home"))


@bp.route("/password/reset", methods=["GET", "POST"])
@public
@limiter.limit("10 per 15 minutes", methods=["POST"])
def reset_password():
    """Choose a new password with a reset link; every session of the account ends."""
    if request.method == "GET" and "token" in request.args:
        return _token_from_link(tokens.PASSWORD_RESET, "account.reset_password")
    raw = _stashed(tokens.PASSWORD_RESET)
    if raw is None:
        return render_template("account/link_invalid.html", message=LINK_INVALID), 400
    form = NewPasswordForm()
    if form.validate_on_submit() and not _password_errors(form, None):
        email = services.reset_password(get_db(), raw, form.password.data, ip=client_ip(),
                                        user_agent=request.user_agent.string)
        session.clear()  # whoever was signed in on this browser is not any more: all sessions ended
        if email is None:
            return render_template("account/link_invalid.html", message=LINK_INVALID), 400
        flash("Your password was changed and every session of your account was ended. Sign in again.", "success")
        return redirect(url_for("auth.login"), code=303)
    status = 200 if request.method == "GET" else 422
    return render_template("account/reset.html", form=form), status


# --- sessions ------------------------------------------------------------------------------------------

@bp.get("/account/sessions")
@requires(ACCOUNT_SELF)
def sessions():
    """Where you are signed in: device, address, last activity; end any or all."""
    me = g.db.get(User, current_user.user_id)
    return render_template("account/sessions.html", me=me,
                           sessions=services.active_sessions(g.db, current_user.user_id, current_user.session_id))


@bp.post("/account/sessions/<uuid:session_id>/revoke")
@requires(ACCOUNT_SELF)
def revoke_session(session_id: uuid.UUID):
    if not services.revoke_own_session(g.db, current_user.user_id, session_id):
        abort(404)
    g.db.commit()
    if session_id == current_user.session_id:
        session.clear()
        flash("You are signed out.")
        return redirect(url_for("auth.login"), code=303)
    flash("That session has ended.", "success")
    return redirect(url_for("account.sessions"), code=303)


@bp.post("/account/sessions/revoke-others")
@requires(ACCOUNT_SELF)
def revoke_other_sessions():
    ended = services.revoke_own_sessions(g.db, current_user.user_id, current_user.session_id,
                                         including_current=False)
    g.db.commit()
    flash(f"Signed out of {ended} other session{'s' if ended != 1 else ''}.", "success")
    return redirect(url_for("account.sessions"), code=303)


@bp.post("/account/sessions/revoke-all")
@requires(ACCOUNT_SELF)
def revoke_all_sessions():
    """Sign out everywhere, this browser included."""
    services.revoke_own_sessions(g.db, current_user.user_id, current_user.session_id, including_current=True)
    g.db.commit()
    session.clear()
    flash("You are signed out everywhere.")
    return redirect(url_for("auth.login"), code=303)


# --- two-step sign-in ----------------------------------------------------------------------------------

def _mfa_page(me: User, *, enrol_form=None, code_form=None, status: int = 200):
    context = {"me": me, "enrol_form": enrol_form or EnrolForm(), "code_form": code_form or CodeForm()}
    if me.mfa_enrolled_at is None:
        # The secret waits in the signed cookie until a code proves the app has it; only then is it stored.
        secret = session.get("mfa_secret") or mfa.new_secret()
        session["mfa_secret"] = secret
        context.update(secret=secret, qr=mfa.qr_data_uri(secret, me.email))
    else:
        context["remaining"] = mfa.remaining_recovery_codes(g.db, me.id)
    return render_template("account/mfa.html", **context), status


@bp.get("/account/mfa")
@requires(ACCOUNT_SELF)
def mfa_settings():
    """Two-step sign-in: set it up with a QR code, or see its state and recovery codes left."""
    return _mfa_page(g.db.get(User, current_user.user_id))


@bp.post("/account/mfa")
@requires(ACCOUNT_SELF)
@limiter.limit("10 per 15 minutes")
def mfa_enrol():
    me = g.db.get(User, current_user.user_id)
    form = EnrolForm()
    secret = session.get("mfa_secret")
    if me.mfa_enrolled_at is not None or secret is None:
        return redirect(url_for("account.mfa_settings"), code=303)
    codes = mfa.enrol(g.db, me, secret, form.code.data) if form.validate_on_submit() else None
    if codes is None:
        if not form.code.errors:
            add_error(form.code, "That code is not right. Check the app and try the next code.")
        return _mfa_page(me, enrol_form=form, status=422)
    g.db.commit()
    session.pop("mfa_secret", None)
    # Shown once, in this response: the codes exist nowhere else in readable form.
    return render_template("account/recovery_codes.html", codes=codes, continue_url=url_for("account.mfa_settings"))


def _second_factor_ok(me: User, form: CodeForm) -> bool:
    if form.validate_on_submit() and mfa.verify_current_code(get_db(), me.id, form.code.data):
        return True
    add_error(form.code, "That code is not right, or it was already used.")
    return False


@bp.post("/account/mfa/disable")
@requires(ACCOUNT_SELF)
@limiter.limit("10 per 15 minutes")
def mfa_disable():
    """Turn two-step sign-in off (needs a current code; refused where the company requires it)."""
    me = g.db.get(User, current_user.user_id)
    if me.mfa_enrolled_at is None:
        return redirect(url_for("account.mfa_settings"), code=303)
    if services.company_requires_mfa(g.db):
        flash("Your company requires two-step sign-in; it cannot be turned off.", "error")
        return redirect(url_for("account.mfa_settings"), code=303)
    form = CodeForm()
    if not _second_factor_ok(me, form):
        return _mfa_page(me, code_form=form, status=422)
    mfa.disable(g.db, me)
    g.db.commit()
    flash("Two-step sign-in is off.", "success")
    return redirect(url_for("account.mfa_settings"), code=303)


@bp.post("/account/mfa/recovery-codes")
@requires(ACCOUNT_SELF)
@limiter.limit("10 per 15 minutes")
def mfa_recovery_codes():
    """New recovery codes (needs a current code); the old ones stop working."""
    me = g.db.get(User, current_user.user_id)
    if me.mfa_enrolled_at is None:
        return redirect(url_for("account.mfa_settings"), code=303)
    form = CodeForm()
    if not _second_factor_ok(me, form):
        return _mfa_page(me, code_form=form, status=422)
    codes = mfa.regenerate_recovery_codes(g.db, me)
    g.db.commit()
    return render_template("account/recovery_codes.html", codes=codes, continue_url=url_for("account.mfa_settings"))
