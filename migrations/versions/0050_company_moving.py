"""A company on its way to another region (flowtrack/ops/move.py): `moving_to` names the region while its rows
are copied. No one signs in to it and no writing job runs for it, in the region it leaves nor in the copy
waiting in the region it goes to. Only the move command (as the service role) sets or clears it: the app role's
column grants on `companies` do not include it.

Revision ID: 0050
Revises: 0049
"""
import sqlalchemy as sa
from alembic import op

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("companies", sa.Column("moving_to", sa.String(8), nullable=True))


def downgrade() -> None:
    op.drop_column("companies", "moving_to")
