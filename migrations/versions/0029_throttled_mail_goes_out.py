"""Mail over a company's hourly cap is held (`throttled`) and let out later, within the cap of a later hour.

`notification_emails.queued_at` is when a message took its place in its company's hourly allowance: when it was
written, or, for a throttled one, when the cron job let it out. The hourly count reads it (a message let out today
counts in today's hour, not the hour it was written), so does the search for delivery jobs that were lost. A
throttled message has none until it is let out. Only rows that can still matter get it here: those written in the
last hour, and those still waiting for delivery (rewriting every row of a large outbox would take long); they get
it as the administrative role: the owner role, under forced row-level security, would see no rows.

`notification_emails_waiting_idx` holds only the waiting messages (queued or throttled), which are few: the cron
job finds them every ten minutes without reading the outbox.

Revision ID: 0029
Revises: 0028
"""
import os

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

# The role names as flowtrack/core/config.py reads them when this revision was written.
ROLE_OWNER = os.environ.get("FLOWTRACK_DB_OWNER_ROLE", "flowtrack_owner")


def upgrade() -> None:
    op.execute("ALTER TABLE notification_emails ADD COLUMN queued_at timestamptz")
    op.execute("RESET ROLE")
    op.execute("UPDATE notification_emails SET queued_at = created_at "
               "WHERE status <> 'throttled' AND (status = 'queued' OR created_at > now() - interval '1 hour')")
    op.execute(f'SET ROLE "{ROLE_OWNER}"')
    op.execute("CREATE INDEX notification_emails_company_queued_idx ON notification_emails (company_id, queued_at)")
    op.execute("CREATE INDEX notification_emails_waiting_idx ON notification_emails (status, company_id) "
               "WHERE status IN ('queued', 'throttled')")


def downgrade() -> None:
    op.execute("DROP INDEX notification_emails_waiting_idx")
    op.execute("DROP INDEX notification_emails_company_queued_idx")
    op.execute("ALTER TABLE notification_emails DROP COLUMN queued_at")
