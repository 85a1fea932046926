"""Two-step sign-in with TOTP (RFC 6238, pyotp) and one-time recovery codes.

The app role can write `users.totp_secret` but never read it back (column
grants), so every check of a code against the stored secret is a narrow
service-role function here. A code is accepted once: the timecode of the last
accepted code is stored, and a code whose timecode is not newer is refused,
even inside its 30-second window. Recovery codes are random (60 bits) and
stored as SHA-256; each works once.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import uuid

import pyotp
import segno
import sqlalchemy as sa
import sqlalchemy.orm as so
from pyotp.exceptions import OTPVerificationError

from flowtrack.audit import services as audit
from flowtrack.auth.services import SessionPolicy, start_session
from flowtrack.core.db import Database, utcnow
from flowtrack.models.accounts import User
from flowtrack.models.companies import Company
from flowtrack.models.security import RecoveryCode

ISSUER = "FlowTrack"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread from paper
# One step either side forgives a phone clock that is 30 seconds off.
VALID_WINDOW = 1


def new_secret() -> str:
    return pyotp.random_base32()


def qr_data_uri(secret: str, email: str) -> str:
    """The enrolment QR code as an SVG data URI, drawn on our server (no third-party service sees the secret)."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def matching_timecode(secret: str, code: str, last_timecode: int | None) -> int | None:
    """The timecode the code belongs to if it is right and newer than the last one accepted, else None."""
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"\d{6}", code):
        return None
    try:
        timecode = pyotp.TOTP(secret).verify_and_get_timecode(code, valid_window=VALID_WINDOW)
    except OTPVerificationError:
        return None
    if last_timecode is not None and timecode <= last_timecode:
        return None  # a replay: this code (or a later one) was already used
    return timecode


def _normalize_recovery(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _recovery_hash(code: str) -> bytes:
    return hashlib.sha256(_normalize_recovery(code).encode()).digest()


def _new_recovery_codes(session: so.Session, user: User) -> list[str]:
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
        session.add(RecoveryCode(company_id=user.company_id, user_id=user.id, code_hash=_recovery_hash(raw)))
    session.flush()
    return codes


def enrol(session: so.Session, user: User, secret: str, code: str, *,
          actor: audit.Actor | None = None) -> list[str] | None:
    """Turn on MFA with a secret the person has just scanned, proven by a code from it.

    Returns the new recovery codes (shown once), or None if the code is wrong. Works on the app session
    of a signed-in person and on the service session of a sign-in that must enrol first.
    """
    if user.mfa_enrolled_at is not None:
        return None
    timecode = matching_timecode(secret, code, None)
    if timecode is None:
        return None
    session.execute(sa.update(User).where(User.id == user.id)
                    .values(totp_secret=secret, totp_last_timecode=timecode, mfa_enrolled_at=utcnow()))
    codes = _new_recovery_codes(session, user)
    audit.record(session, "mfa.enrolled", entity_type="user", entity_id=user.id, company_id=user.company_id,
                 actor=actor)
    return codes


def check_second_factor(session: so.Session, user_id: uuid.UUID, code: str) -> str | None:
    """Verify a TOTP or recovery code of a person and use it up (service role).

    Returns "totp" or "recovery_code", or None if the code is wrong or already used.
    """
    user = session.scalar(sa.select(User).where(User.id == user_id, User.mfa_enrolled_at.is_not(None))
                          .options(so.undefer(User.totp_secret), so.undefer(User.totp_last_timecode))
                          .with_for_update().execution_options(populate_existing=True))
    if user is None:
        return None
    timecode = matching_timecode(user.totp_secret, code, user.totp_last_timecode)
    if timecode is not None:
        user.totp_last_timecode = timecode
        return "totp"
    used = session.scalar(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.code_hash == _recovery_hash(code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).returning(RecoveryCode.id)
    )
    return "recovery_code" if used else None


def complete_sign_in(db: Database, user_id: uuid.UUID, code: str, policy: SessionPolicy, *, ip: str | None,
                     user_agent: str | None) -> str | None:
    """The second step of a sign-in: with a right code, start the session and return its token."""
    with db.service() as session:
        user = session.get(User, user_id)
        company = session.get(Company, user.company_id) if user else None
        if user is None or not user.is_active or company.tombstoned_at is not None:
            return None
        method = check_second_factor(session, user_id, code)
        actor = audit.Actor(user.id, user.email, ip, user_agent)
        if method is None:
            audit.record(session, "login.mfa_failed", entity_type="user", entity_id=user.id,
                         company_id=user.company_id, actor=actor)
            session.commit()
            return None
        token = start_session(session, user, policy, ip=ip, user_agent=user_agent, method=method)
        if method == "recovery_code":
            audit.record(session, "mfa.recovery_code_used", entity_type="user", entity_id=user.id,
                         company_id=user.company_id, actor=actor,
                         changes={"remaining": remaining_recovery_codes(session, user.id)})
        session.commit()
        return token


def enrol_and_sign_in(db: Database, user_id: uuid.UUID, secret: str, code: str, policy: SessionPolicy, *,
                      ip: str | None, user_agent: str | None) -> tuple[str, list[str]] | None:
    """Enrolment required by the company, at sign-in: enrol, then start the session (token, recovery codes)."""
    with db.service() as session:
        user = session.get(User, user_id)
        company = session.get(Company, user.company_id) if user else None
        if user is None or not user.is_active or company.tombstoned_at is not None:
            return None
        actor = audit.Actor(user.id, user.email, ip, user_agent)
        codes = enrol(session, user, secret, code, actor=actor)
        if codes is None:
            return None
        token = start_session(session, user, policy, ip=ip, user_agent=user_agent, method="totp")
        session.commit()
        return token, codes


def verify_current_code(db: Database, user_id: uuid.UUID, code: str) -> bool:
    """A signed-in person proves they still hold their second factor (before turning it off, say)."""
    with db.service() as session:
        ok = check_second_factor(session, user_id, code) is not None
        session.commit()
        return ok


def disable(session: so.Session, user: User) -> None:
    """Turn MFA off for a signed-in person (after `verify_current_code`)."""
    session.execute(sa.update(User).where(User.id == user.id)
                    .values(totp_secret=None, totp_last_timecode=None, mfa_enrolled_at=None))
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record(session, "mfa.disabled", entity_type="user", entity_id=user.id)


def regenerate_recovery_codes(session: so.Session, user: User) -> list[str]:
    """A new set of recovery codes; the old ones stop working (after `verify_current_code`)."""
    codes = _new_recovery_codes(session, user)
    audit.record(session, "mfa.recovery_codes_regenerated", entity_type="user", entity_id=user.id)
    return codes


def remaining_recovery_codes(session: so.Session, user_id: uuid.UUID) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)
                          .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)))
