"""Exports: the full data export and audit reports, built by the worker.

Revision ID: 0005
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from flowtrack.ops.schema import tenant_table

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("progress", sa.Integer, nullable=False),
        sa.Column("params", JSONB),
        sa.Column("requested_by", UUID(as_uuid=True)),
        sa.Column("file_name", sa.String(200)),
        sa.Column("file_size", sa.BigInteger),
        sa.Column("sha256", sa.String(64)),
        sa.Column("row_count", sa.BigInteger),
        sa.Column("chain_head", sa.String(64)),
        sa.Column("error", sa.String(500)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("expires_at", TS, nullable=False),
        sa.CheckConstraint("kind IN ('data_zip', 'audit_csv', 'audit_pdf')", name="exports_kind_check"),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="exports_status_check"),
    )
    op.create_index("exports_company_created_idx", "exports", ["company_id", "created_at"])
    tenant_table(op, "exports")


def downgrade() -> None:
    op.drop_table("exports")
