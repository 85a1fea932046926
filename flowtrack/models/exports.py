from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow


class Export(TenantScoped, Base):
    """A file built in the background for one company: the full data export or an audit report."""

    __tablename__ = "exports"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))  # data_zip, audit_csv, audit_pdf
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default="queued")  # queued, running, done, failed
    progress: so.Mapped[int] = so.mapped_column(default=0)
    params: so.Mapped[dict[str, Any] | None]
    requested_by: so.Mapped[uuid.UUID | None]
    file_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    file_size: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    row_count: so.Mapped[int | None] = so.mapped_column(sa.BigInteger)
    chain_head: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    error: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    finished_at: so.Mapped[dt.datetime | None]
    expires_at: so.Mapped[dt.datetime]
