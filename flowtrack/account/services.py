"""A person's own account: accepting an invitation, resetting a forgotten password, and their sessions.

Accepting and resetting happen before anyone is signed in, so they are narrow
uses of the service role: find the token, use it up, set the password, end
the person's sessions, audit. The sessions page runs as the app role.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.account import tokens
from flowtrack.audit import services as audit
from flowtrack.auth.passwords import hash_password
from flowtrack.auth.services import SessionPolicy, SignIn, revoke_sessions, start_session
from flowtrack.core.db import Database, utcnow
from flowtrack.core.permissions import PORTAL_ROLES
from flowtrack.models.accounts import AuthSession, Profile, User
from flowtrack.models.companies import Company
from flowtrack.notifications.services import send_email

MIN_PASSWORD_LENGTH = 12


# --- invitations ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Invitation:
    email: str
    full_name: str
    company_name: str


def invitation(db: Database, raw: str) -> Invitation | None:
    """Who a live invitation is for (without using it), or None."""
    with db.service() as session:
        token = tokens.peek(session, raw, tokens.INVITE)
        if token is None:
            return None
        row = session.execute(
            sa.select(User.email, Profile.full_name, Company.name).join(Profile, Profile.user_id == User.id)
            .join(Company, Company.id == User.company_id).where(User.id == token.user_id, User.is_active.is_(True))
        ).first()
        return Invitation(*row) if row else None


def accept_invitation(db: Database, raw: str, password: str, *, ip: str | None, user_agent: str | None) -> str | None:
    """Use the invitation and set the first password; returns the email to sign in with, or None."""
    with db.service() as session:
        token = tokens.redeem(session, raw, tokens.INVITE)
        user = session.get(User, token.user_id) if token else None
        if user is None or not user.is_active:
            session.rollback()
            return None
        _set_password(session, user, password)
        tokens.retire(session, user.id, tokens.INVITE)
        audit.record(session, "user.invitation_accepted", entity_type="user", entity_id=user.id,
                     company_id=user.company_id, actor=audit.Actor(user.id, user.email, ip, user_agent))
        session.commit()
        return user.email


def _set_password(session: so.Session, user: User, password: str) -> None:
    session.execute(sa.update(User).where(User.id == user.id)
                    .values(password_hash=hash_password(password), password_set_at=utcnow()))


# --- password reset ------------------------------------------------------------------------------------

def _reset_email(company: str, link: str) -> tuple[str, str]:
    minutes = int(tokens.LIFETIMES[tokens.PASSWORD_RESET].total_seconds() // 60)
    return ("Reset your FlowTrack password",
            f"Someone (hopefully you) asked to reset the password of your {company} account on FlowTrack.\n\n"
            f"Choose a new password here (the link works once, within {minutes} minutes):\n{link}\n\n"
            "If you did not ask for this, ignore this email: your password stays as it is.\n")


def request_password_reset(db: Database, email: str, link_for: Callable[[str], str], *, ip: str | None,
                           user_agent: str | None) -> None:
    """Email a reset link if the address belongs to an active account; say nothing either way."""
    with db.service() as session:
        user = session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower(),
                                                    User.is_active.is_(True)))
        if user is None:
            return
        company = session.get(Company, user.company_id)
        if company.tombstoned_at is not None:
            return
        raw = tokens.issue(session, user.id, tokens.PASSWORD_RESET, company_id=user.company_id)
        subject, body = _reset_email(company.name, link_for(raw))
        send_email(session, user.email, subject, body, company_id=user.company_id, sensitive=True)
        audit.record(session, "password.reset_requested", entity_type="user", entity_id=user.id,
                     company_id=user.company_id, actor=audit.Actor(None, "password reset form", ip, user_agent))
        session.commit()


def request_sign_in_link(db: Database, email: str, link_for: Callable[[str], str], *, ip: str | None,
                         user_agent: str | None) -> None:
    """Email a one-time sign-in link to the active account of a customer's portal user (a portal customer or a
    requester); say nothing either way (team
    members sign in with their password, and two-step sign-in where it applies)."""
    with db.service() as session:
        user = session.scalar(sa.select(User).join(Profile, Profile.user_id == User.id).where(
            sa.func.lower(User.email) == email.strip().lower(), User.is_active.is_(True),
            Profile.role.in_([role.value for role in PORTAL_ROLES])))
        company = session.get(Company, user.company_id) if user else None
        if user is None or company.tombstoned_at is not None:
            return
        raw = tokens.issue(session, user.id, tokens.SIGN_IN_LINK, company_id=user.company_id)
        minutes = int(tokens.LIFETIMES[tokens.SIGN_IN_LINK].total_seconds() // 60)
        send_email(session, user.email, f"Your sign-in link for {company.name}",
                   f"Sign in to your {company.name} account (the link works once, within {minutes} minutes):\n"
                   f"{link_for(raw)}\n\nIf you did not ask for it, ignore this email.\n",
                   company_id=user.company_id, sensitive=True)
        audit.record(session, "login.link_requested", entity_type="user", entity_id=user.id,
                     company_id=user.company_id, actor=audit.Actor(None, "sign-in link form", ip, user_agent))
        session.commit()


def sign_in_with_link(db: Database, raw: str, policy: SessionPolicy, *, ip: str | None,
                      user_agent: str | None) -> SignIn | None:
    """Use a sign-in link: a session, or the second step where two-step sign-in applies; None if it is spent."""
    with db.service() as session:
        token = tokens.redeem(session, raw, tokens.SIGN_IN_LINK)
        user = session.get(User, token.user_id) if token else None
        company = session.get(Company, user.company_id) if user else None
        if user is None or not user.is_active or company.tombstoned_at is not None:
            session.rollback()
            return None
        if user.mfa_enrolled_at is not None or company.require_mfa:
            session.commit()
            return SignIn(user.id, user.company_id, second_step="mfa" if user.mfa_enrolled_at else "enrol",
                          email=user.email)
        token = start_session(session, user, policy, ip=ip, user_agent=user_agent, via="email link")
        session.commit()
        return SignIn(user.id, user.company_id, token=token, email=user.email)


def reset_password(db: Database, raw: str, password: str, *, ip: str | None, user_agent: str | None) -> str | None:
    """Use the reset link: new password, every session of the person ended. Returns the email, or None."""
    with db.service() as session:
        token = tokens.redeem(session, raw, tokens.PASSWORD_RESET)
        user = session.get(User, token.user_id) if token else None
        if user is None or not user.is_active:
            session.rollback()
            return None
        _set_password(session, user, password)
        ended = revoke_sessions(session, user.id)
        tokens.retire(session, user.id, tokens.PASSWORD_RESET)
        audit.record(session, "password.reset", entity_type="user", entity_id=user.id, company_id=user.company_id,
                     actor=audit.Actor(user.id, user.email, ip, user_agent), changes={"sessions_ended": ended})
        session.commit()
        return user.email


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why a new password is refused, or None. Length over rules (NIST 800-63B)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if email and email.split("@")[0].lower() in password.lower() and len(email.split("@")[0]) >= 4:
        return "Do not use your email address in your password."
    if len(set(password)) < 4:
        return "Use a less repetitive password."
    return None


# --- sessions ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SessionView:
    id: uuid.UUID
    device: str
    ip: str | None
    created_at: dt.datetime
    last_seen_at: dt.datetime
    current: bool


_BROWSERS = (("Edge", r"Edg(e|A|iOS)?/"), ("Opera", r"OPR/"), ("Samsung Internet", r"SamsungBrowser/"),
             ("Firefox", r"(Firefox|FxiOS)/"), ("Chrome", r"(Chrome|CriOS)/"), ("Safari", r"Safari/"))
_SYSTEMS = (("iPhone", r"iPhone"), ("iPad", r"iPad"), ("Android", r"Android"), ("Windows", r"Windows"),
            ("macOS", r"Mac OS X|Macintosh"), ("ChromeOS", r"CrOS"), ("Linux", r"Linux"))


def describe_device(user_agent: str | None) -> str:
    """A person-readable name for a browser, e.g. "Chrome on Android"."""
    if not user_agent:
        return "Unknown device"
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, user_agent)), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or user_agent[:60]


def _live_sessions(user_id: uuid.UUID):
    return sa.select(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.kind == "web", AuthSession.revoked_at.is_(None),
        AuthSession.expires_at > sa.func.now(), AuthSession.idle_expires_at > sa.func.now())


def active_sessions(session: so.Session, user_id: uuid.UUID, current_id: uuid.UUID) -> list[SessionView]:
    """A person's live sessions, this one first, then the most recently used."""
    rows = session.scalars(_live_sessions(user_id).order_by(AuthSession.last_seen_at.desc()))
    views = [SessionView(r.id, describe_device(r.user_agent), r.ip, r.created_at, r.last_seen_at, r.id == current_id)
             for r in rows]
    return sorted(views, key=lambda v: not v.current)


def revoke_own_session(session: so.Session, user_id: uuid.UUID, session_id: uuid.UUID) -> bool:
    """End one of a person's own sessions; False if it is not theirs or not live."""
    target = session.scalar(_live_sessions(user_id).where(AuthSession.id == session_id))
    if target is None:
        return False
    audit.record(session, "session.revoked", entity_type="session", entity_id=session_id)
    target.revoked_at = utcnow()
    session.flush()
    return True


def revoke_own_sessions(session: so.Session, user_id: uuid.UUID, current_id: uuid.UUID, *,
                        including_current: bool) -> int:
    """End all of a person's other sessions, or all of them ("sign out everywhere")."""
    # The entry goes first: once this session is revoked, the transaction no longer sees the company.
    audit.record(session, "sessions.revoked_everywhere" if including_current else "sessions.revoked_others",
                 entity_type="user", entity_id=user_id)
    return revoke_sessions(session, user_id, keep=None if including_current else current_id)


def company_requires_mfa(session: so.Session) -> bool:
    return bool(session.scalar(sa.select(Company.require_mfa)))
