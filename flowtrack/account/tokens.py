"""Single-use, expiring tokens for invitations, password resets and portal sign-in links.

A link carries a random token, signed with the app's secret key and the
token's purpose (so a reset link is no invitation, and a tampered or made-up
link is refused before the database is asked). The database keeps only the
token's SHA-256, its purpose, its expiry and when it was used. Redeeming is one
`UPDATE ... WHERE used_at IS NULL AND expires_at > now()`: two clicks on one
link can never both succeed.
"""
from __future__ import annotations

import datetime as dt
import secrets
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from itsdangerous import BadSignature, URLSafeTimedSerializer

from flowtrack.core.db import token_hash, utcnow
from flowtrack.models.security import AccountToken

INVITE = "invite"
PASSWORD_RESET = "password_reset"
SIGN_IN_LINK = "sign_in_link"  # a portal customer's sign-in without a password
LIFETIMES = {INVITE: dt.timedelta(days=7), PASSWORD_RESET: dt.timedelta(hours=1),
             SIGN_IN_LINK: dt.timedelta(minutes=15)}


def issue(session: so.Session, user_id: uuid.UUID, purpose: str, *, company_id: uuid.UUID | None = None,
          created_by: uuid.UUID | None = None) -> str:
    """A new token for a person; earlier unused tokens of the same purpose stop working."""
    now = utcnow()
    session.execute(
        sa.update(AccountToken)
        .where(AccountToken.user_id == user_id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None))
        .values(used_at=now)
    )
    raw = secrets.token_urlsafe(32)
    session.add(AccountToken(user_id=user_id, purpose=purpose, token_hash=token_hash(raw), created_at=now,
                             expires_at=now + LIFETIMES[purpose], created_by=created_by,
                             **({"company_id": company_id} if company_id else {})))
    session.flush()
    return raw


def _live(raw: str, purpose: str):
    return (AccountToken.token_hash == token_hash(raw), AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None), AccountToken.expires_at > sa.func.now())


def peek(session: so.Session, raw: str, purpose: str) -> AccountToken | None:
    """The token if it can still be used, without using it (service role)."""
    return session.scalar(sa.select(AccountToken).where(*_live(raw, purpose)))


def redeem(session: so.Session, raw: str, purpose: str) -> AccountToken | None:
    """Use the token up, or None if it is unknown, used or expired (service role)."""
    token_id = session.scalar(
        sa.update(AccountToken).where(*_live(raw, purpose)).values(used_at=utcnow()).returning(AccountToken.id)
    )
    return session.get(AccountToken, token_id) if token_id else None


def retire(session: so.Session, user_id: uuid.UUID, purpose: str | None = None) -> None:
    """Make every unused token of a person (of one purpose, or all) unusable."""
    query = sa.update(AccountToken).where(AccountToken.user_id == user_id, AccountToken.used_at.is_(None))
    if purpose:
        query = query.where(AccountToken.purpose == purpose)
    session.execute(query.values(used_at=utcnow()))


def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"flowtrack.account-token.{purpose}")


def sign(secret_key: str, purpose: str, raw: str) -> str:
    return _serializer(secret_key, purpose).dumps(raw)


def unsign(secret_key: str, purpose: str, signed: str) -> str | None:
    """The raw token of a genuine, unexpired link of this purpose, else None."""
    try:
        raw = _serializer(secret_key, purpose).loads(signed, max_age=int(LIFETIMES[purpose].total_seconds()))
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    return raw if isinstance(raw, str) else None
