"""Sign-in, server-side sessions and sign-out. Plain functions on sessions; no Flask.

Signing in happens before any tenant is known, so `sign_in` is one of the few
narrow uses of the service role: it reads one login identity by email,
checks the password and writes the new session row and audit entry. All
later work of that user runs as the app role under row-level security.
"""
from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import postgresql

from flowtrack.audit import services as audit
from flowtrack.auth.passwords import hash_password, needs_rehash, verify_password
from flowtrack.core.db import Database, rows_with_begin, token_hash, utcnow
from flowtrack.core.directory import claim_email
from flowtrack.models.accounts import AuthSession, Profile, User
from flowtrack.models.companies import Company, CompanyMoving

# A session's token is replaced after this much use; the one it replaces still works for the overlap, so that
# requests already on their way with it (a page's parallel fetches, the phone's outbox) are not signed out.
TOKEN_ROTATION = dt.timedelta(minutes=15)
TOKEN_OVERLAP = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    idle_timeout: dt.timedelta
    lifetime: dt.timedelta
    rotate_every: dt.timedelta = TOKEN_ROTATION
    token_overlap: dt.timedelta = TOKEN_OVERLAP


@dataclass
class CurrentUser:
    """The signed-in person, as Flask-Login sees them."""

    user_id: uuid.UUID
    profile_id: uuid.UUID
    session_id: uuid.UUID
    company_id: uuid.UUID
    company_name: str
    timezone: str  # the company's: the zone its people read every time in
    email: str
    full_name: str
    role: str
    may_see_invoices: bool = False  # a requester the office allowed to see the customer's invoices
    # The session's current token: when it was issued and its number (0 at sign-in, one more at each rotation).
    token_issued_at: dt.datetime | None = None
    token_generation: int = 0
    token_confirmed: bool = True  # False from a rotation until a request comes with the new token
    vendor_id: uuid.UUID | None = None  # a vendor's person: their organisation, whose assigned work is all they see
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return str(self.user_id)


def new_session(company_id: uuid.UUID, user_id: uuid.UUID | None, policy: SessionPolicy, *,
                ip: str | None, user_agent: str | None, kind: str = "web") -> tuple[AuthSession, str]:
    """A new session row and its token (only the token's hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = AuthSession(
        company_id=company_id, user_id=user_id, token_hash=token_hash(token), kind=kind,
        created_at=now, last_seen_at=now, idle_expires_at=now + policy.idle_timeout,
        expires_at=now + policy.lifetime, ip=ip, user_agent=(user_agent or "")[:400] or None,
    )
    return row, token


@dataclass(frozen=True)
class SignIn:
    """A correct password. `token` is the new session's; it is None while a second step is due:
    "mfa" (enter a code) or "enrol" (the company requires MFA and this person has none yet)."""

    user_id: uuid.UUID
    company_id: uuid.UUID
    token: str | None = None
    second_step: str | None = None
    email: str | None = None
    role: str | None = None  # for the page the person starts on


def sign_in(db: Database, email: str, password: str, policy: SessionPolicy, *,
            ip: str | None, user_agent: str | None) -> SignIn | None:
    """Check the credentials: None if wrong; else a session, or the second step that must come first.

    The answer (and the time it takes) does not tell whether the email exists.
    No session row exists before the second step, so a password alone opens nothing.
    """
    with db.service() as session:
        user = session.scalar(
            sa.select(User).where(sa.func.lower(User.email) == email.strip().lower())
            .options(so.undefer(User.password_hash))
        )
        password_ok = verify_password(user.password_hash if user else None, password)
        if user is None:
            return None
        company = session.get(Company, user.company_id)
        actor = audit.Actor(user.id, user.email, ip, user_agent)
        if not (password_ok and user.is_active and company.tombstoned_at is None):
            audit.record(session, "login.failed", entity_type="user", entity_id=user.id,
                         company_id=user.company_id, actor=actor)
            session.commit()
            return None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        role = session.scalar(sa.select(Profile.role).where(Profile.user_id == user.id))
        if user.mfa_enrolled_at is not None or company.require_mfa:
            session.commit()
            return SignIn(user.id, user.company_id, second_step="mfa" if user.mfa_enrolled_at else "enrol",
                          role=role)
        token = start_session(session, user, policy, ip=ip, user_agent=user_agent)
        session.commit()
        return SignIn(user.id, user.company_id, token=token, role=role)


def start_session(session: so.Session, user: User, policy: SessionPolicy, *, ip: str | None,
                  user_agent: str | None, method: str = "password", via: str | None = None) -> str:
    """The session row of a completed sign-in and its audit entry (service role); returns the token.
    `method` names a second factor used; `via`, a way in other than the password (an email link).
    Raises CompanyMoving while the company moves to another region: a session there would write where the move
    has already copied from."""
    company = session.get(Company, user.company_id)
    if company is not None and company.moving_to is not None:
        raise CompanyMoving(company)
    row, token = new_session(user.company_id, user.id, policy, ip=ip, user_agent=user_agent)
    session.add(row)
    user.last_login_at = utcnow()
    session.flush()
    audit.record(session, "login.succeeded", entity_type="session", entity_id=row.id, company_id=user.company_id,
                 actor=audit.Actor(user.id, user.email, ip, user_agent),
                 changes={**({"second_factor": method} if method != "password" else {}),
                          **({"via": via} if via else {})} or None)
    return token


def revoke_sessions(session: so.Session, user_id: uuid.UUID, *, keep: uuid.UUID | None = None) -> int:
    """End every live session of a person at once (except `keep`); returns how many ended."""
    query = sa.update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None),
                                         AuthSession.expires_at > sa.func.now())
    if keep is not None:
        query = query.where(AuthSession.id != keep)
    return session.execute(query.values(revoked_at=utcnow())).rowcount


# The request's first statement, built once: constructing it and computing its cache key cost more than
# running it. A scalar subquery, so the resolver runs once and the row is found through the primary key. It has
# no parameter (the token is the transaction's), so its SQL is sent with the transaction's BEGIN and token: the
# session is checked in the same round trip that opens the request's transaction.
_SESSION_COLUMNS = (AuthSession.id, AuthSession.idle_expires_at, AuthSession.expires_at, AuthSession.token_issued_at,
                    AuthSession.token_generation, AuthSession.token_confirmed, User.id, User.email, Profile.id,
                    Profile.full_name, Profile.role, Profile.may_see_invoices, Profile.vendor_id)
_COMPANY_COLUMNS = tuple(Company.__table__.columns)
_CURRENT_SESSION = (
    sa.select(*_SESSION_COLUMNS, *_COMPANY_COLUMNS)
    .join(User, User.id == AuthSession.user_id)
    .join(Profile, Profile.user_id == User.id)
    .join(Company, Company.id == AuthSession.company_id)
    .where(AuthSession.id == sa.select(sa.func.auth_session_id()).scalar_subquery(), User.is_active.is_(True))
)
_CURRENT_SESSION_SQL = str(_CURRENT_SESSION.compile(dialect=postgresql.dialect(),
                                                    compile_kwargs={"literal_binds": True})).encode()


def _current_session_row(session: so.Session) -> tuple | None:
    """The session's row with its company's, and the company in the session's identity map (so that later
    `session.get(Company, ...)` calls of the request cost no query)."""
    rows = rows_with_begin(session, _CURRENT_SESSION_SQL)
    if rows is None:
        rows = [tuple(row) for row in session.execute(_CURRENT_SESSION)]
    if not rows:
        return None
    fields, columns = rows[0][:len(_SESSION_COLUMNS)], rows[0][len(_SESSION_COLUMNS):]
    company = Company(**{column.key: value for column, value in zip(_COMPANY_COLUMNS, columns, strict=True)})
    so.make_transient_to_detached(company)
    return (*fields, session.merge(company, load=False))


def load_current_user(session: so.Session, policy: SessionPolicy) -> CurrentUser | None:
    """The user of the session whose token this DB session carries, keeping the idle timer fresh.

    One statement, sent with the request's BEGIN: the columns a request needs, and the company row.
    """
    row = _current_session_row(session)
    if row is None:
        return None
    (session_id, idle_expires_at, expires_at, token_issued_at, token_generation, token_confirmed, user_id, email,
     profile_id, full_name, role, may_see_invoices, vendor_id, company) = row
    # The identity map holds objects weakly: this reference keeps the row there for the session's life.
    session.info["company"] = company
    now = utcnow()
    # Refresh the idle deadline at most once a minute: one write per minute, not per request.
    if idle_expires_at - now < policy.idle_timeout - dt.timedelta(minutes=1):
        session.execute(sa.update(AuthSession).where(AuthSession.id == session_id)
                        .values(last_seen_at=now, idle_expires_at=min(now + policy.idle_timeout, expires_at)))
        session.commit()
    return CurrentUser(
        user_id=user_id, profile_id=profile_id, session_id=session_id, company_id=company.id,
        company_name=company.name, timezone=company.timezone, email=email, full_name=full_name, role=role,
        may_see_invoices=may_see_invoices, token_issued_at=token_issued_at, token_generation=token_generation,
        token_confirmed=token_confirmed, vendor_id=vendor_id,
    )


@dataclass(frozen=True)
class NewToken:
    """The token that replaced the one a request came with (to be put in the browser's cookie)."""

    token: str = field(repr=False)
    generation: int


def rotate_token(session: so.Session, user: CurrentUser, policy: SessionPolicy, *,
                 now: dt.datetime | None = None) -> NewToken | None:
    """A new token for the request's session when its current one has been in use for `policy.rotate_every`.

    The database rotates only the session whose current token this DB session carries, only when that token is
    due (so of two requests racing, one rotates), and keeps the old token working until the new one is first
    used (`confirm_token`) and for `policy.token_overlap` after. None when nothing was due or another request
    rotated first.
    """
    if user.token_issued_at is None or (now or utcnow()) - user.token_issued_at < policy.rotate_every:
        return None
    return _new_token(session, policy)


def confirm_token(session: so.Session, user: CurrentUser, policy: SessionPolicy) -> None:
    """A request came with the session's new token for the first time: it reached the browser, and the token it
    replaced stops working after `policy.token_overlap`."""
    if not user.token_confirmed:
        session.execute(sa.select(sa.func.confirm_session_token(policy.token_overlap)))
        session.commit()


def reissue_lost_token(session: so.Session, user: CurrentUser, policy: SessionPolicy, *,
                       now: dt.datetime | None = None) -> NewToken | None:
    """A request came with a replaced token. When the new token has gone unused for the overlap, the response
    that carried it was lost on the way (a phone in a vault): another new token, in this response. Otherwise
    (a request that left before the new token arrived) nothing: a replaced token earns a new one only while its
    successor was never used."""
    if user.token_confirmed or (now or utcnow()) - user.token_issued_at < policy.token_overlap:
        return None
    return _new_token(session, policy)


def end_session_of_orphaned_token(session: so.Session) -> uuid.UUID | None:
    """A request came with a token its session gave up for another (`reissue_lost_token`): the replaced token was
    used by someone else meanwhile, so two holders have the session. It ends for both; returns its company (None
    when the token is no session's orphan)."""
    company_id = session.scalar(sa.select(sa.func.end_session_of_orphaned_token()))
    session.commit()
    return company_id


def _new_token(session: so.Session, policy: SessionPolicy) -> NewToken | None:
    token = secrets.token_urlsafe(32)
    generation = session.scalar(sa.select(sa.func.rotate_session_token(
        token_hash(token), policy.rotate_every, policy.token_overlap)))
    session.commit()
    if generation is None:
        return None
    # The rest of this request's transactions carry the new token.
    session.info["session_token"] = token
    return NewToken(token, generation)


def sign_out(session: so.Session, user: CurrentUser) -> None:
    """Revoke the current session in the database; the token stops working at once."""
    # The entry goes first: once the session is revoked, this transaction no longer sees the tenant.
    audit.record(session, "logout", entity_type="session", entity_id=user.session_id)
    session.execute(
        sa.update(AuthSession).where(AuthSession.id == user.session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def add_member(session: so.Session, company_id: uuid.UUID, *, email: str, password: str | None, role: str,
               full_name: str, **profile_fields) -> Profile:
    """A login identity and its profile in one company (without a password: invited, not yet accepted). Raises
    EmailInAnotherRegion when the address has an account in another region."""
    claim_email(email)
    user = User(company_id=company_id, email=email.strip().lower(),
                password_hash=hash_password(password) if password else None,
                password_set_at=utcnow() if password else None)
    session.add(user)
    session.flush()
    profile = Profile(company_id=company_id, user_id=user.id, full_name=full_name, role=role, **profile_fields)
    session.add(profile)
    session.flush()
    audit.record(session, "user.created", entity_type="user", entity_id=user.id, company_id=company_id,
                 changes=audit.changes_between(None, {"email": user.email, "role": role, "full_name": full_name}))
    return profile
