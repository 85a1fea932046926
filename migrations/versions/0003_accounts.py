"""Accounts: invitations and password resets (single-use tokens), TOTP recovery codes, the email outbox.

Revision ID: 0003
Revises: 0001
"""
import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")

TS = sa.DateTime(timezone=True)


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
    # The app may not read password_hash or totp_secret, so what it shows ("invited", "two-step on")
    # comes from these two readable timestamps.
    op.add_column("users", sa.Column("password_set_at", TS))
    op.add_column("users", sa.Column("mfa_enrolled_at", TS))
    # The owner is subject to the forced policies (and may not call auth_company_id()); lift them for the
    # backfill only, inside this transaction.
    op.execute("ALTER TABLE users NO FORCE ROW LEVEL SECURITY")
    op.execute("UPDATE users SET password_set_at = created_at WHERE password_hash IS NOT NULL")
    op.execute("ALTER TABLE users FORCE ROW LEVEL SECURITY")
    op.execute(f'GRANT SELECT (password_set_at, mfa_enrolled_at), UPDATE (password_set_at, mfa_enrolled_at) '
               f'ON users TO "{ROLE_APP}"')

    op.create_table(
        "account_tokens",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False, index=True),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.Column("created_by", UUID(as_uuid=True)),
        sa.CheckConstraint("purpose IN ('invite', 'password_reset')", name="account_tokens_purpose_check"),
    )
    # Tokens are issued by the app but redeemed only by the service role (the person is not signed in).
    _tenant_table("account_tokens", app_grants="INSERT")
    op.execute(f'GRANT SELECT (id, company_id, user_id, purpose, created_at, expires_at, used_at, created_by), '
               f'UPDATE (used_at) ON account_tokens TO "{ROLE_APP}"')

    op.create_table(
        "recovery_codes",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False, index=True),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("code_hash", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.UniqueConstraint("user_id", "code_hash", name="recovery_codes_user_code_key"),
    )
    _tenant_table("recovery_codes", app_grants="INSERT, DELETE")
    op.execute(f'GRANT SELECT (id, company_id, user_id, created_at, used_at) ON recovery_codes TO "{ROLE_APP}"')

    op.create_table(
        "notification_emails",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False, index=True),
        sa.Column("to_address", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("sensitive", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS),
        sa.Column("error", sa.String(300)),
        sa.CheckConstraint("status IN ('outbox', 'queued', 'sent', 'failed', 'throttled')",
                           name="notification_emails_status_check"),
    )
    op.create_index("notification_emails_company_created_idx", "notification_emails", ["company_id", "created_at"])
    _tenant_table("notification_emails")


def downgrade() -> None:
    for table in ("notification_emails", "recovery_codes", "account_tokens"):
        op.drop_table(table)
    op.drop_column("users", "mfa_enrolled_at")
    op.drop_column("users", "password_set_at")
