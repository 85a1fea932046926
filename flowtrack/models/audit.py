from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core.db import Base, TenantScoped, new_id


class AuditEntry(TenantScoped, Base):
    """One link of a company's tamper-evident audit chain.

    `payload_digest` covers the identity and the before/after (salted), and
    `entry_hash` covers the rest plus the digest and the previous hash, so the
    identity and payload can be stripped later without breaking the chain.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "seq", name="audit_log_company_seq_key"),
        sa.Index("audit_log_company_time_idx", "company_id", "occurred_at"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    seq: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    occurred_at: so.Mapped[dt.datetime]
    action: so.Mapped[str] = so.mapped_column(sa.String(64))
    entity_type: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    entity_id: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    actor_user_id: so.Mapped[uuid.UUID | None]
    actor_label: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    ip: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    user_agent: so.Mapped[str | None] = so.mapped_column(sa.String(400))
    changes: so.Mapped[dict[str, Any] | None]
    payload_salt: so.Mapped[bytes | None] = so.mapped_column(sa.LargeBinary)
    payload_digest: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    prev_hash: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    entry_hash: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    stripped_at: so.Mapped[dt.datetime | None]


class AuditCheckpoint(TenantScoped, Base):
    """The last entry removed by retention pruning, so the rest of the chain still verifies."""

    __tablename__ = "audit_checkpoints"

    company_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    seq: so.Mapped[int] = so.mapped_column(sa.BigInteger)
    entry_hash: so.Mapped[bytes] = so.mapped_column(sa.LargeBinary)
    pruned_at: so.Mapped[dt.datetime]
