from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow


class AccountToken(TenantScoped, Base):
    """A single-use, expiring token for an invitation or a password reset; only its hash is stored."""

    __tablename__ = "account_tokens"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    user_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: so.Mapped[str] = so.mapped_column(sa.String(20))  # invite, password_reset, sign_in_link
    token_hash: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary, unique=True, deferred=True,
                                                    deferred_raiseload=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    expires_at: so.Mapped[dt.datetime]
    used_at: so.Mapped[dt.datetime | None]
    created_by: so.Mapped[uuid.UUID | None]


class RecoveryCode(TenantScoped, Base):
    """A one-time code that stands in for a TOTP code when the phone is lost; only its hash is stored."""

    __tablename__ = "recovery_codes"
    __table_args__ = (sa.UniqueConstraint("user_id", "code_hash", name="recovery_codes_user_code_key"),)

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    user_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary, deferred=True, deferred_raiseload=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    used_at: so.Mapped[dt.datetime | None]
