"""A test kit that tests were recorded with is retired, not deleted: it stays on those tests and their reports,
and from `gauges.retired_on` on it is no longer offered on the test form (a test of an earlier day, amended or
sent late from a phone, may still name it).

Revision ID: 0032
Revises: 0031
"""
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE gauges ADD COLUMN retired_on date")


def downgrade() -> None:
    op.execute("ALTER TABLE gauges DROP COLUMN retired_on")
