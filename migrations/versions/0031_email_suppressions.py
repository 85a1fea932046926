"""Addresses the outbox no longer mails: the mail provider reported that mail to them bounced for good, or that
the person marked it as spam. A company's row stands until its office clears it (the address was fixed); cleared
rows stay as the address's history. An outbox message to a suppressed address is kept with the status
`suppressed` and never sent.

The provider's report names an address, not a company, so the webhook (as the service role) finds the companies
whose outbox has mailed that address: `notification_emails` gets an index on the lower-cased address.

Revision ID: 0031
Revises: 0030
"""
import os

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_OWNER = os.environ.get("FLOWTRACK_DB_OWNER_ROLE", "flowtrack_owner")
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")


def _tenant_table(table: str, *, app_grants: str = "SELECT, INSERT, UPDATE, DELETE") -> None:
    """Forced row-level security on a tenant table and the roles' grants on it: the statements
    flowtrack.schema.tenant_table emitted when this revision was written, copied so that the revision keeps
    its meaning whatever becomes of the app's code."""
    predicate = "company_id = (SELECT auth_company_id())"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_tenant_select ON {table} FOR SELECT USING ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_insert ON {table} FOR INSERT WITH CHECK ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_update ON {table} FOR UPDATE USING ({predicate}) "
               f"WITH CHECK ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_delete ON {table} FOR DELETE USING ({predicate})")
    if app_grants:
        op.execute(f'GRANT {app_grants} ON {table} TO "{ROLE_APP}"')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{ROLE_SERVICE}"')


def upgrade() -> None:
    op.execute("""
        CREATE TABLE email_suppressions (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            address varchar(254) NOT NULL,
            reason varchar(12) NOT NULL CONSTRAINT email_suppressions_reason_check
                CHECK (reason IN ('bounce', 'complaint')),
            detail varchar(300),
            reported_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL,
            cleared_at timestamptz,
            cleared_by uuid REFERENCES users (id) ON DELETE SET NULL,
            CONSTRAINT email_suppressions_address_check CHECK (address = lower(address))
        )
    """)
    # One standing row per address and company; the index also finds a company's standing rows.
    op.execute("CREATE UNIQUE INDEX email_suppressions_standing_key ON email_suppressions (company_id, address) "
               "WHERE cleared_at IS NULL")
    op.execute("CREATE INDEX email_suppressions_company_idx ON email_suppressions (company_id, created_at)")
    op.execute("CREATE INDEX email_suppressions_cleared_by_idx ON email_suppressions (cleared_by) "
               "WHERE cleared_by IS NOT NULL")
    # Suppressions are cleared, never deleted, by the app.
    _tenant_table("email_suppressions", app_grants="SELECT, INSERT, UPDATE")
    op.execute("CREATE INDEX notification_emails_to_address_idx ON notification_emails (lower(to_address))")
    op.execute("ALTER TABLE notification_emails DROP CONSTRAINT notification_emails_status_check")
    op.execute("ALTER TABLE notification_emails ADD CONSTRAINT notification_emails_status_check "
               "CHECK (status IN ('outbox', 'queued', 'sent', 'failed', 'throttled', 'suppressed'))")


def downgrade() -> None:
    op.execute("ALTER TABLE notification_emails DROP CONSTRAINT notification_emails_status_check")
    # The owner is subject to the forced policies: the rewrite runs as the migrating user.
    op.execute("RESET ROLE")
    op.execute("UPDATE notification_emails SET status = 'failed' WHERE status = 'suppressed'")
    op.execute(f'SET ROLE "{ROLE_OWNER}"')
    op.execute("ALTER TABLE notification_emails ADD CONSTRAINT notification_emails_status_check "
               "CHECK (status IN ('outbox', 'queued', 'sent', 'failed', 'throttled'))")
    op.execute("DROP INDEX notification_emails_to_address_idx")
    op.execute("DROP TABLE email_suppressions")
