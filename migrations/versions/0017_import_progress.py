"""CSV imports run in the worker: the upload records the attempt under way, its progress, and why the last
attempt imported nothing.

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customer_imports", sa.Column("attempt_id", UUID(as_uuid=True)))
    op.add_column("customer_imports", sa.Column("started_at", sa.DateTime(timezone=True)))
    op.add_column("customer_imports", sa.Column("rows_checked", sa.Integer, nullable=False, server_default="0"))
    op.add_column("customer_imports", sa.Column("rows_saved", sa.Integer, nullable=False, server_default="0"))
    op.add_column("customer_imports", sa.Column("error", sa.Text))
    op.add_column("customer_imports", sa.Column("problems", JSONB, nullable=False, server_default="[]"))
    op.drop_constraint("customer_imports_status_check", "customer_imports")
    op.create_check_constraint("customer_imports_status_check", "customer_imports",
                               "status IN ('previewed', 'importing', 'imported')")


def downgrade() -> None:
    # Refused (by the check) while an import is under way: let it finish first.
    op.drop_constraint("customer_imports_status_check", "customer_imports")
    op.create_check_constraint("customer_imports_status_check", "customer_imports",
                               "status IN ('previewed', 'imported')")
    for column in ("problems", "error", "rows_saved", "rows_checked", "started_at", "attempt_id"):
        op.drop_column("customer_imports", column)
