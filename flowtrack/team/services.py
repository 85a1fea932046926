"""Team management for company admins: invite, change role, deactivate, sign a person out everywhere.

Plain functions on the request's app-role session (row-level security keeps
them inside the admin's company); each change is audited. Email addresses are
unique across FlowTrack (they are the login), so an address already in use
anywhere is refused without saying where.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.exc import IntegrityError

from flowtrack.account import tokens
from flowtrack.audit import services as audit
from flowtrack.auth.services import revoke_sessions
from flowtrack.core.directory import EmailInAnotherRegion, claim_email
from flowtrack.core.permissions import PORTAL_ROLES, Role
from flowtrack.models.accounts import AuthSession, Profile, User
from flowtrack.models.companies import Company
from flowtrack.models.customers import District
from flowtrack.models.security import AccountToken, RecoveryCode
from flowtrack.notifications.services import send_email

# A customer's portal people (portal customers, requesters) are invited from its customer account, where the link to
# that account is made; a vendor's people from the vendor's page.
INVITABLE_ROLES = tuple(role for role in Role if role not in PORTAL_ROLES and role is not Role.vendor)


class TeamError(Exception):
    """A change the rules refuse; the message is shown to the admin."""


class DistrictRequired(TeamError):
    """A district admin without one of the company's districts; the message belongs next to the district field."""


@dataclass
class Member:
    profile: Profile
    user: User
    invitation_expires_at: dt.datetime | None
    live_sessions: int
    district_name: str | None = None

    @property
    def status(self) -> str:
        if not self.user.is_active:
            return "deactivated"
        if self.user.password_set_at is None:
            return "invited"
        return "active"


def members(session: so.Session) -> list[Member]:
    """Everyone with a login in the company, with invitation state and live session counts."""
    invitation = (sa.select(sa.func.max(AccountToken.expires_at))
                  .where(AccountToken.user_id == User.id, AccountToken.purpose == tokens.INVITE,
                         AccountToken.used_at.is_(None), AccountToken.expires_at > sa.func.now())
                  .scalar_subquery())
    live = (sa.select(sa.func.count()).select_from(AuthSession)
            .where(AuthSession.user_id == User.id, AuthSession.revoked_at.is_(None),
                   AuthSession.expires_at > sa.func.now(), AuthSession.idle_expires_at > sa.func.now())
            .scalar_subquery())
    rows = session.execute(
        sa.select(Profile, User, invitation, live, District.name).join(User, User.id == Profile.user_id)
        .outerjoin(District, District.id == Profile.district_id)
        .order_by(User.is_active.desc(), Profile.full_name)
    )
    return [Member(profile, user, expires, count, district) for profile, user, expires, count, district in rows]


def get_member(session: so.Session, profile_id: uuid.UUID) -> Member | None:
    row = session.execute(sa.select(Profile, User).join(User, User.id == Profile.user_id)
                          .where(Profile.id == profile_id)).first()
    return Member(row[0], row[1], None, 0) if row else None


def _district_for(session: so.Session, role: Role, district_id: uuid.UUID | None) -> uuid.UUID | None:
    """The district a person of this role belongs to: a district admin must have one of the company's
    districts (all they will see); other roles have none, whatever was chosen."""
    if role is not Role.district_admin:
        return None
    if district_id is None or session.scalar(sa.select(District.id).where(District.id == district_id)) is None:
        raise DistrictRequired("Choose the water district this district admin may see.")
    return district_id


def _invitation_email(company: str, inviter: str, role: Role, link: str) -> tuple[str, str]:
    subject = f"You are invited to {company} on FlowTrack"
    body = (f"{inviter} invited you to join {company} on FlowTrack as {role.label}.\n\n"
            f"Set your password here (the link works once, within {tokens.LIFETIMES[tokens.INVITE].days} days):\n"
            f"{link}\n\nIf you did not expect this invitation, you can ignore this email.\n")
    return subject, body


def invite(session: so.Session, *, email: str, full_name: str, role: str, invited_by: uuid.UUID,
           inviter_name: str, link_for: Callable[[str], str], customer_id: uuid.UUID | None = None,
           district_id: uuid.UUID | None = None, may_see_invoices: bool = False, vendor_id: uuid.UUID | None = None,
           certification_number: str | None = None, certification_expires_on: dt.date | None = None) -> Profile:
    """Create the person without a password and email them a link to set one. A portal user belongs to one
    customer account, and is invited from it (a requester sees its invoices only when `may_see_invoices`); a
    district admin belongs to one of the company's districts; a vendor's person to their vendor, and is invited
    from its page (with the tester certification tests need)."""
    role_ = Role(role)
    if (role_ in PORTAL_ROLES) != (customer_id is not None):
        raise TeamError("Customers are invited from their customer account.")
    if (role_ is Role.vendor) != (vendor_id is not None):
        raise TeamError("A vendor's people are invited from the vendor's page.")
    may_see_invoices = role_ is Role.requester and may_see_invoices
    district_id = _district_for(session, role_, district_id)
    email = email.strip().lower()
    try:
        claim_email(email)
    except EmailInAnotherRegion:
        raise TeamError("This email address already has a FlowTrack account.") from None
    try:
        with session.begin_nested():
            user = User(email=email, password_hash=None, is_active=True)
            session.add(user)
            session.flush()
    except IntegrityError:
        raise TeamError("This email address already has a FlowTrack account.") from None
    profile = Profile(user_id=user.id, full_name=full_name.strip(), role=role_.value, customer_id=customer_id,
                      district_id=district_id, may_see_invoices=may_see_invoices, vendor_id=vendor_id,
                      certification_number=certification_number, certification_expires_on=certification_expires_on)
    session.add(profile)
    session.flush()
    audit.record(session, "user.invited", entity_type="user", entity_id=user.id,
                 changes=audit.changes_between(None, {"email": email, "role": role_.value, "full_name": full_name,
                                                      "customer": customer_id, "district": district_id,
                                                      "may_see_invoices": may_see_invoices, "vendor": vendor_id}))
    _send_invitation(session, user, role_, invited_by, inviter_name, link_for)
    return profile


def resend_invitation(session: so.Session, member: Member, *, invited_by: uuid.UUID, inviter_name: str,
                      link_for: Callable[[str], str]) -> None:
    """A fresh link (the earlier ones stop working) for someone who has not set a password yet."""
    if member.status != "invited":
        raise TeamError("Only a pending invitation can be sent again.")
    _send_invitation(session, member.user, Role(member.profile.role), invited_by, inviter_name, link_for)
    audit.record(session, "user.invitation_resent", entity_type="user", entity_id=member.user.id)


def _send_invitation(session: so.Session, user: User, role: Role, invited_by: uuid.UUID, inviter_name: str,
                     link_for: Callable[[str], str]) -> None:
    raw = tokens.issue(session, user.id, tokens.INVITE, created_by=invited_by)
    company = session.scalar(sa.select(Company.name))
    subject, body = _invitation_email(company, inviter_name, role, link_for(raw))
    send_email(session, user.email, subject, body, sensitive=True)


def change_role(session: so.Session, member: Member, role: str, *, acting_user_id: uuid.UUID,
                district_id: uuid.UUID | None = None) -> None:
    """A new role (and, for a district admin, the district they may see; moving one to another district is a
    change of the same kind)."""
    new_role = Role(role)
    if member.user.id == acting_user_id:
        raise TeamError("You cannot change your own role; ask another admin.")
    portal = new_role in PORTAL_ROLES or Role(member.profile.role) in PORTAL_ROLES
    if portal and new_role.value != member.profile.role:
        raise TeamError("A customer's portal people are invited from, and belong to, their customer account.")
    if (new_role is Role.vendor) != (member.profile.role == Role.vendor.value):
        raise TeamError("A vendor's person stays with their vendor: deactivate them, and invite the company's own "
                        "people from this page.")
    profile = member.profile
    before = {"role": profile.role, "district": profile.district_id}
    after = {"role": new_role.value, "district": _district_for(session, new_role, district_id)}
    if after == before:
        return
    profile.role, profile.district_id = after["role"], after["district"]
    session.flush()
    audit.record(session, "user.role_changed", entity_type="user", entity_id=member.user.id,
                 changes=audit.changes_between(before, after))


def update_technician(session: so.Session, member: Member, *, certification_number: str | None,
                      certification_expires_on: dt.date | None, workday_starts: dt.time, workday_ends: dt.time) -> None:
    """A technician's certification and working hours (the board checks jobs against both)."""
    if member.profile.role != Role.technician.value:
        raise TeamError("Certification and working hours are kept for technicians.")
    if workday_ends <= workday_starts:
        raise TeamError("The working day must end after it starts.")
    if bool(certification_number) != bool(certification_expires_on):
        raise TeamError("Give both the certification number and its expiry date, or neither.")
    profile = member.profile
    fields = ("certification_number", "certification_expires_on", "workday_starts", "workday_ends")
    before = {name: getattr(profile, name) for name in fields}
    profile.certification_number = (certification_number or "").strip() or None
    profile.certification_expires_on = certification_expires_on
    profile.workday_starts, profile.workday_ends = workday_starts, workday_ends
    after = {name: getattr(profile, name) for name in fields}
    if after != before:
        audit.record(session, "user.technician_details_changed", entity_type="user", entity_id=member.user.id,
                     changes=audit.changes_between(before, after))


def deactivate(session: so.Session, member: Member, *, acting_user_id: uuid.UUID) -> int:
    """Block the person's sign-in and end all their sessions at once; returns how many sessions ended."""
    if member.user.id == acting_user_id:
        raise TeamError("You cannot deactivate yourself.")
    if not member.user.is_active:
        return 0
    member.user.is_active = False
    ended = revoke_sessions(session, member.user.id)
    tokens.retire(session, member.user.id)
    session.flush()
    audit.record(session, "user.deactivated", entity_type="user", entity_id=member.user.id,
                 changes={"is_active": {"before": True, "after": False}, "sessions_ended": ended})
    return ended


def reactivate(session: so.Session, member: Member) -> None:
    if member.user.is_active:
        return
    member.user.is_active = True
    session.flush()
    audit.record(session, "user.reactivated", entity_type="user", entity_id=member.user.id,
                 changes={"is_active": {"before": False, "after": True}})


def sign_out_everywhere(session: so.Session, member: Member) -> int:
    """An admin ends every session of a member (a lost phone, a shared computer)."""
    # The entry goes first: signing out oneself ends this transaction's view of the company.
    audit.record(session, "sessions.revoked_by_admin", entity_type="user", entity_id=member.user.id)
    return revoke_sessions(session, member.user.id)


def reset_mfa(session: so.Session, member: Member, *, acting_user_id: uuid.UUID) -> None:
    """Remove a member's authenticator and recovery codes (a lost phone); they enrol again."""
    if member.user.id == acting_user_id:
        raise TeamError("Turn off your own two-step sign-in from your security page.")
    if member.user.mfa_enrolled_at is None:
        return
    session.execute(sa.update(User).where(User.id == member.user.id)
                    .values(totp_secret=None, totp_last_timecode=None, mfa_enrolled_at=None))
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == member.user.id))
    revoke_sessions(session, member.user.id)
    audit.record(session, "mfa.reset_by_admin", entity_type="user", entity_id=member.user.id)


def set_require_mfa(session: so.Session, required: bool, *, acting_user: User) -> None:
    """Require two-step sign-in for everyone; those without it enrol at their next sign-in."""
    company = session.scalar(sa.select(Company))
    if company.require_mfa == required:
        return
    if required and acting_user.mfa_enrolled_at is None:
        raise TeamError("Set up two-step sign-in for yourself first.")
    company.require_mfa = required
    session.flush()
    audit.record(session, "company.mfa_requirement_changed", entity_type="company", entity_id=company.id,
                 changes=audit.changes_between({"require_mfa": not required}, {"require_mfa": required}))
