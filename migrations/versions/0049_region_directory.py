"""The directory of regions (flowtrack/core/directory.py, docs/regions.md): which region a company lives in, and
which region a sign-in address (by its keyed hash, never in clear) signs in to. Made in every region's database so
that all regions share one migration chain; only the home region's copy is used. No company_id column and no
foreign key: the company it names may live in another region's database.

Revision ID: 0049
Revises: 0048
"""
import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")


def upgrade() -> None:
    op.create_table(
        "directory_companies",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "directory_logins",
        sa.Column("email_key", sa.LargeBinary(32), primary_key=True),
        sa.Column("region", sa.String(8), nullable=False),
    )
    # Only sign-in, sign-up and the creation of a login identity read or write it, as the service role; the app
    # role has no grant.
    for table in ("directory_companies", "directory_logins"):
        op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{ROLE_SERVICE}"')


def downgrade() -> None:
    op.drop_table("directory_logins")
    op.drop_table("directory_companies")
