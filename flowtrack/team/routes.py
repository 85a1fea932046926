"""Team: the company admin invites people, changes roles, deactivates, and signs people out everywhere."""
import uuid

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_login import current_user

from flowtrack.account.links import invitation_link
from flowtrack.core import permissions
from flowtrack.core.extensions import company_key, limiter
from flowtrack.core.forms import add_error
from flowtrack.core.permissions import TEAM_MANAGE, Role, requires
from flowtrack.districts import services as districts
from flowtrack.models.accounts import User
from flowtrack.models.companies import Company
from flowtrack.team import services
from flowtrack.team.forms import InviteForm, RequireMfaForm, RoleForm, TechnicianForm

bp = Blueprint("team", __name__, url_prefix="/team")


def _page(invite_form: InviteForm | None = None, status: int = 200):
    required = g.db.scalar(sa.select(Company.require_mfa))
    # The districts a district admin may be given, for the invite form and each member's role form.
    choices = districts.choices(g.db)
    return render_template(
        "team/index.html", members=services.members(g.db),
        invite_form=invite_form or InviteForm().with_districts(choices),
        mfa_form=RequireMfaForm(require_mfa=required), roles=services.INVITABLE_ROLES, districts=choices,
    ), status


@bp.get("/roles")
@requires(TEAM_MANAGE)
def roles():
    """What each role may do, from the permission matrix itself."""
    return render_template("team/roles.html", roles=list(Role), areas=permissions.by_area(),
                           matrix=permissions.MATRIX)


def _member(profile_id: uuid.UUID) -> services.Member:
    member = services.get_member(g.db, profile_id)
    if member is None:
        abort(404)
    return member


def _done(message: str):
    g.db.commit()
    flash(message, "success")
    return redirect(url_for("team.index"), code=303)


def _refused(error: services.TeamError):
    g.db.rollback()
    flash(str(error), "error")
    return redirect(url_for("team.index"), code=303)


@bp.get("/")
@requires(TEAM_MANAGE)
def index():
    """Everyone in the company, with their role, status and two-step sign-in; invite form."""
    return _page()


@bp.post("/invite")
@requires(TEAM_MANAGE)
@limiter.limit("30 per hour", key_func=company_key)
def invite():
    """Create the person without a password and email them a single-use link to set one."""
    form = InviteForm().with_districts(districts.choices(g.db))
    if not form.validate_on_submit():
        return _page(form, 422)
    try:
        services.invite(g.db, email=form.email.data, full_name=form.full_name.data, role=form.role.data,
                        invited_by=current_user.user_id, inviter_name=current_user.full_name,
                        link_for=invitation_link, district_id=form.district_id)
    except services.DistrictRequired as error:
        g.db.rollback()
        add_error(form.district, str(error))
        return _page(form, 422)
    except services.TeamError as error:
        g.db.rollback()
        add_error(form.email, str(error))
        return _page(form, 422)
    return _done(f"Invitation sent to {form.email.data.strip().lower()}.")


@bp.post("/<uuid:profile_id>/resend")
@requires(TEAM_MANAGE)
@limiter.limit("30 per hour", key_func=company_key)
def resend(profile_id: uuid.UUID):
    """Send a fresh invitation link; earlier links stop working."""
    member = _member(profile_id)
    try:
        services.resend_invitation(g.db, member, invited_by=current_user.user_id,
                                   inviter_name=current_user.full_name, link_for=invitation_link)
    except services.TeamError as error:
        return _refused(error)
    return _done(f"A new invitation was sent to {member.user.email}.")


@bp.post("/<uuid:profile_id>/role")
@requires(TEAM_MANAGE)
def change_role(profile_id: uuid.UUID):
    member = _member(profile_id)
    form = RoleForm().with_districts(districts.choices(g.db))
    if not form.validate_on_submit():
        flash("Choose one of the listed roles and districts.", "error")
        return redirect(url_for("team.index"), code=303)
    try:
        services.change_role(g.db, member, form.role.data, acting_user_id=current_user.user_id,
                             district_id=form.district_id)
    except services.TeamError as error:
        return _refused(error)
    return _done(f"{member.profile.full_name} is now {Role(form.role.data).label}.")


@bp.post("/<uuid:profile_id>/technician")
@requires(TEAM_MANAGE)
def technician(profile_id: uuid.UUID):
    member = _member(profile_id)
    form = TechnicianForm()
    if not form.validate_on_submit():
        problems = "; ".join(f"{form[name].label.text}: {errors[0]}" for name, errors in form.errors.items())
        flash(f"Not saved. {problems}", "error")
        return redirect(url_for("team.index"), code=303)
    try:
        services.update_technician(g.db, member, certification_number=form.certification_number.data,
                                   certification_expires_on=form.certification_expires_on.data,
                                   workday_starts=form.workday_starts.data, workday_ends=form.workday_ends.data)
    except services.TeamError as error:
        return _refused(error)
    return _done(f"Saved the certification and working hours of {member.profile.full_name}.")


@bp.post("/<uuid:profile_id>/deactivate")
@requires(TEAM_MANAGE)
def deactivate(profile_id: uuid.UUID):
    """Block sign-in and end every session of the person at once."""
    member = _member(profile_id)
    try:
        services.deactivate(g.db, member, acting_user_id=current_user.user_id)
    except services.TeamError as error:
        return _refused(error)
    return _done(f"{member.profile.full_name} is deactivated and signed out everywhere.")


@bp.post("/<uuid:profile_id>/reactivate")
@requires(TEAM_MANAGE)
def reactivate(profile_id: uuid.UUID):
    member = _member(profile_id)
    services.reactivate(g.db, member)
    return _done(f"{member.profile.full_name} can sign in again.")


@bp.post("/<uuid:profile_id>/sign-out")
@requires(TEAM_MANAGE)
def sign_out(profile_id: uuid.UUID):
    """End every session of a member (a lost phone, a shared computer)."""
    member = _member(profile_id)
    if member.user.id == current_user.user_id:
        flash("To sign yourself out everywhere, use your security page.", "error")
        return redirect(url_for("team.index"), code=303)
    ended = services.sign_out_everywhere(g.db, member)
    return _done(f"{member.profile.full_name} was signed out of {ended} session{'s' if ended != 1 else ''}.")


@bp.post("/<uuid:profile_id>/reset-mfa")
@requires(TEAM_MANAGE)
def reset_mfa(profile_id: uuid.UUID):
    """Remove a member's authenticator (a lost phone); they set it up again at their next sign-in."""
    member = _member(profile_id)
    try:
        services.reset_mfa(g.db, member, acting_user_id=current_user.user_id)
    except services.TeamError as error:
        return _refused(error)
    return _done(f"Two-step sign-in of {member.profile.full_name} was reset.")


@bp.post("/require-mfa")
@requires(TEAM_MANAGE)
def require_mfa():
    """Turn the company's MFA requirement on or off."""
    form = RequireMfaForm()
    if not form.validate_on_submit():
        abort(400)
    me = g.db.get(User, current_user.user_id)
    try:
        services.set_require_mfa(g.db, form.require_mfa.data, acting_user=me)
    except services.TeamError as error:
        return _refused(error)
    return _done("Two-step sign-in is now required for everyone." if form.require_mfa.data
                 else "Two-step sign-in is now optional.")
