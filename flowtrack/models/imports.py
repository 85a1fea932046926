"""A CSV file of customers, locations and devices on its way in: previewed, then imported all at once."""
from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import JSONB

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow
from flowtrack.models.customers import _check_in


class ImportStatus(str, enum.Enum):
    previewed = "previewed"
    importing = "importing"  # queued for the worker or running there
    imported = "imported"


class CustomerImport(TenantScoped, Base):
    __tablename__ = "customer_imports"
    __table_args__ = (
        sa.Index("customer_imports_company_uploaded_idx", "company_id", "uploaded_at"),
        _check_in("status", ImportStatus, "customer_imports_status_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    filename: so.Mapped[str] = so.mapped_column(sa.String(255))
    sha256: so.Mapped[str] = so.mapped_column(sa.String(64))
    uploaded_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default=ImportStatus.previewed.value)
    # The file's rows, by column name, until they are imported (then only the summary is kept).
    rows: so.Mapped[list] = so.mapped_column(JSONB, default=list)
    row_count: so.Mapped[int]
    summary: so.Mapped[dict] = so.mapped_column(JSONB, default=dict)
    imported_at: so.Mapped[dt.datetime | None]
    # The import under way: the job acts only while the upload still names its attempt, so a job queued
    # before the office retried a stopped import does nothing.
    attempt_id: so.Mapped[uuid.UUID | None]
    started_at: so.Mapped[dt.datetime | None]
    rows_checked: so.Mapped[int] = so.mapped_column(default=0)
    rows_saved: so.Mapped[int] = so.mapped_column(default=0)
    # Why the last attempt imported nothing, and its rows with problems (the first few hundred).
    error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    problems: so.Mapped[list] = so.mapped_column(JSONB, default=list)
