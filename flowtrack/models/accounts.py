from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow


class User(TenantScoped, Base):
    """A login identity. Secret columns are deferred: the app role may not read them."""

    __tablename__ = "users"
    __table_args__ = (sa.Index("users_email_key", sa.func.lower(sa.text("email")), unique=True),)

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    password_hash: so.Mapped[str | None] = so.mapped_column(sa.String(255), deferred=True, deferred_raiseload=True)
    totp_secret: so.Mapped[str | None] = so.mapped_column(sa.String(64), deferred=True, deferred_raiseload=True)
    totp_last_timecode: so.Mapped[int | None] = so.mapped_column(sa.BigInteger, deferred=True, deferred_raiseload=True)
    is_active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    last_login_at: so.Mapped[dt.datetime | None]
    # Readable stand-ins for the secrets: an invited person has no password yet; MFA is on once confirmed.
    password_set_at: so.Mapped[dt.datetime | None]
    mfa_enrolled_at: so.Mapped[dt.datetime | None]

    profile: so.Mapped[Profile] = so.relationship(back_populates="user", uselist=False)


class Profile(TenantScoped, Base):
    """A person in a company: team member or portal user, with their role."""

    __tablename__ = "profiles"
    __table_args__ = (
        sa.Index("profiles_customer_idx", "company_id", "customer_id"),
        sa.Index("profiles_district_idx", "company_id", "district_id"),
        sa.CheckConstraint("district_id IS NULL OR role = 'district_admin'", name="profiles_district_check"),
        sa.CheckConstraint("(role = 'vendor') = (vendor_id IS NOT NULL)", name="profiles_vendor_check"),
        sa.Index("profiles_vendor_idx", "vendor_id", postgresql_where=sa.text("vendor_id IS NOT NULL")),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    user_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    full_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    role: so.Mapped[str] = so.mapped_column(sa.String(32))
    phone: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    certification_number: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    certification_expires_on: so.Mapped[dt.date | None]
    # A portal user's customer account: all they may see (their invoices, their devices' certificates).
    customer_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("customers.id"))
    # A requester whom the office allowed to see (and pay) the customer's invoices; a portal customer sees them
    # by role.
    may_see_invoices: so.Mapped[bool] = so.mapped_column(default=False)
    # A district admin's water district: all they may see (its tests and devices, read-only).
    district_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("districts.id"))
    # A vendor's person: the outside organisation whose assigned work orders are all they may see.
    vendor_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("vendors.id"))
    # A technician's working hours in the company's time zone; a job booked outside them is a conflict.
    workday_starts: so.Mapped[dt.time] = so.mapped_column(default=dt.time(7, 0))
    workday_ends: so.Mapped[dt.time] = so.mapped_column(default=dt.time(17, 0))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    user: so.Mapped[User] = so.relationship(back_populates="profile")

    def certification_valid_on(self, day: dt.date) -> bool:
        return bool(self.certification_number and self.certification_expires_on
                    and self.certification_expires_on >= day)


class AuthSession(TenantScoped, Base):
    """A server-side login session. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "auth_sessions"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    user_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary, unique=True, deferred=True, deferred_raiseload=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(16), default="web")
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    last_seen_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    idle_expires_at: so.Mapped[dt.datetime]
    expires_at: so.Mapped[dt.datetime]
    revoked_at: so.Mapped[dt.datetime | None]
    ip: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    user_agent: so.Mapped[str | None] = so.mapped_column(sa.String(400))
    # The token is replaced every few minutes of use (`rotate_session_token`, migration 0030): when the current one
    # was issued, and how many came before it (the browser's cookie carries the number of its own token).
    token_issued_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    token_generation: so.Mapped[int] = so.mapped_column(default=0)
    # The token it replaced, accepted until the new one is first used and for a short overlap after (requests
    # already on their way do not fail; a new token lost on its way is issued again: migration 0034).
    previous_token_hash: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary, unique=True, deferred=True,
                                                                    deferred_raiseload=True)
    previous_token_expires_at: so.Mapped[dt.datetime | None]
    token_confirmed: so.Mapped[bool] = so.mapped_column(default=True)  # the current token has been used
    # A new token given up for another because it never arrived (migration 0034): presented after all, it ends the
    # session, for the old token's copy took the session over.
    orphaned_token_hash: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary, unique=True, deferred=True,
                                                                    deferred_raiseload=True)

    def active_at(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now and self.idle_expires_at > now
