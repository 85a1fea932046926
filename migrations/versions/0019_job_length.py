"""A scheduled job lasts at most 25 hours (a whole local day, one that gains an hour when the clocks go back): every
window is booked within one day. With that bound the week board can find a week's jobs through the index on
their start instead of reading every job the company ever had.

Revision ID: 0019
Revises: 0018
"""
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE scheduled_jobs ADD CONSTRAINT scheduled_jobs_length_check "
               "CHECK (ends_at <= starts_at + interval '25 hours') NOT VALID")
    op.execute("ALTER TABLE scheduled_jobs VALIDATE CONSTRAINT scheduled_jobs_length_check")


def downgrade() -> None:
    op.execute("ALTER TABLE scheduled_jobs DROP CONSTRAINT scheduled_jobs_length_check")
