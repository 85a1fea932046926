"""CSV imports of customers, locations and devices: the uploaded rows between preview and import.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from flowtrack.ops.schema import tenant_table

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customer_imports",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by", UUID(as_uuid=True), sa.ForeignKey("users.id")),
        sa.Column("uploaded_at", TS, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("rows", JSONB, nullable=False, server_default="[]"),
        sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("summary", JSONB, nullable=False, server_default="{}"),
        sa.Column("imported_at", TS),
        sa.CheckConstraint("status IN ('previewed', 'imported')", name="customer_imports_status_check"),
    )
    op.create_index("ix_customer_imports_company_id", "customer_imports", ["company_id"])
    op.create_index("customer_imports_company_uploaded_idx", "customer_imports", ["company_id", "uploaded_at"])
    tenant_table(op, "customer_imports")


def downgrade() -> None:
    op.drop_table("customer_imports")
