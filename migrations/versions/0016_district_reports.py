"""Test reports by email: a district may ask for each test report by email, and the outbox carries
the report PDF as an attachment (a file in the storage backend, named by its key; never bytes in the row).

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("districts", sa.Column("email_reports", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("notification_emails", sa.Column("attachment_key", sa.String(200)))
    op.add_column("notification_emails", sa.Column("attachment_name", sa.String(200)))
    op.add_column("notification_emails", sa.Column("attachment_type", sa.String(100)))
    # NOT VALID: every existing row has no attachment, and checking them would read the whole (large) outbox.
    op.execute("ALTER TABLE notification_emails ADD CONSTRAINT notification_emails_attachment_check CHECK ("
               "(attachment_key IS NULL) = (attachment_name IS NULL) AND (attachment_key IS NULL) = "
               "(attachment_type IS NULL)) NOT VALID")


def downgrade() -> None:
    op.drop_constraint("notification_emails_attachment_check", "notification_emails")
    for column in ("attachment_type", "attachment_name", "attachment_key"):
        op.drop_column("notification_emails", column)
    op.drop_column("districts", "email_reports")
