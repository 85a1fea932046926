"""Foundation: companies, login identities, profiles, server-side sessions, audit chain, RLS.

Revision ID: 0001
Revises:
"""
import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_OWNER = os.environ.get("FLOWTRACK_DB_OWNER_ROLE", "flowtrack_owner")
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")

TS = sa.DateTime(timezone=True)


def _tenant_table(table: str, *, app_grants: str = "SELECT, INSERT, UPDATE, DELETE", key: str = "company_id") -> None:
    """Forced row-level security on a tenant table and the roles' grants on it: the statements
    flowtrack.schema.tenant_table emitted when this revision was written, copied so that the revision keeps
    its meaning whatever becomes of the app's code."""
    predicate = f"{key} = (SELECT auth_company_id())"
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
    op.create_table(
        "companies",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("plan", sa.String(20), nullable=False),
        sa.Column("stripe_customer_id", sa.String(255), unique=True),
        sa.Column("stripe_subscription_id", sa.String(255), unique=True),
        sa.Column("subscription_status", sa.String(32), nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean, nullable=False),
        sa.Column("current_period_end", TS),
        sa.Column("deletion_clock_starts_at", TS),
        sa.Column("tombstoned_at", TS),
        sa.Column("require_mfa", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("plan IN ('basic', 'professional', 'enterprise')", name="companies_plan_check"),
    )
    op.create_table(
        "users",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False, index=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("totp_secret", sa.String(64)),
        sa.Column("totp_last_timecode", sa.BigInteger),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_login_at", TS),
    )
    op.create_index("users_email_key", "users", [sa.text("lower(email)")], unique=True)
    op.create_table(
        "profiles",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False, index=True),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("phone", sa.String(40)),
        sa.Column("certification_number", sa.String(64)),
        sa.Column("certification_expires_on", sa.Date),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            "role IN ('company_admin', 'office', 'technician', 'auditor', 'customer', 'district_admin')",
            name="profiles_role_check"),
    )
    op.create_table(
        "auth_sessions",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False, index=True),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), index=True),
        sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("idle_expires_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_agent", sa.String(400)),
        # Background jobs act for a company with no person behind them.
        sa.CheckConstraint("kind = 'job' OR user_id IS NOT NULL", name="auth_sessions_user_check"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False, index=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity_type", sa.String(64)),
        sa.Column("entity_id", sa.String(64)),
        sa.Column("actor_user_id", UUID(as_uuid=True)),
        sa.Column("actor_label", sa.String(254)),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_agent", sa.String(400)),
        sa.Column("changes", JSONB),
        sa.Column("payload_salt", sa.LargeBinary),
        sa.Column("payload_digest", sa.LargeBinary, nullable=False),
        sa.Column("prev_hash", sa.LargeBinary, nullable=False),
        sa.Column("entry_hash", sa.LargeBinary, nullable=False),
        sa.Column("stripped_at", TS),
        sa.UniqueConstraint("company_id", "seq", name="audit_log_company_seq_key"),
    )
    op.create_index("audit_log_company_time_idx", "audit_log", ["company_id", "occurred_at"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("entry_hash", sa.LargeBinary, nullable=False),
        sa.Column("pruned_at", TS, nullable=False),
    )

    # The tenant resolver. It runs as the service role (BYPASSRLS) so that reading
    # auth_sessions inside a policy does not recurse; it trusts no setting but the
    # token, whose hash must match a live session row.
    # The tenant resolver. It runs as the service role (BYPASSRLS) so that reading
    # auth_sessions inside a policy does not recurse; it trusts no setting but the
    # token, whose hash must match a live session row.
    for name, column in (("auth_company_id", "company_id"), ("auth_session_id", "id")):
        op.execute(f"""
            CREATE FUNCTION {name}() RETURNS uuid
            LANGUAGE sql STABLE SECURITY DEFINER
            SET search_path = pg_catalog, public, pg_temp
            AS $$
                SELECT s.{column} FROM public.auth_sessions s
                WHERE s.token_hash = sha256(convert_to(current_setting('app.session_token', true), 'UTF8'))
                  AND s.revoked_at IS NULL
                  AND s.expires_at > now()
                  AND s.idle_expires_at > now()
            $$
        """)
        # Handing a function to another role needs the migrating (administrative) user itself.
        op.execute("RESET ROLE")
        op.execute(f'ALTER FUNCTION {name}() OWNER TO "{ROLE_SERVICE}"')
        op.execute(f"REVOKE ALL ON FUNCTION {name}() FROM PUBLIC")
        op.execute(f'GRANT EXECUTE ON FUNCTION {name}() TO "{ROLE_APP}"')
        op.execute(f'SET ROLE "{ROLE_OWNER}"')

    _tenant_table("companies", key="id", app_grants="SELECT")
    op.execute(f'GRANT UPDATE (name, timezone, require_mfa) ON companies TO "{ROLE_APP}"')

    # Secrets of a login identity are written by the app but never read back by it.
    _tenant_table("users", app_grants="INSERT")
    op.execute(f'GRANT SELECT (id, company_id, email, is_active, created_at, last_login_at) ON users TO "{ROLE_APP}"')
    op.execute(f'GRANT UPDATE (email, is_active, password_hash, totp_secret, totp_last_timecode, last_login_at) '
               f'ON users TO "{ROLE_APP}"')

    _tenant_table("profiles")

    _tenant_table("auth_sessions", app_grants="INSERT")
    op.execute(f'GRANT SELECT (id, company_id, user_id, kind, created_at, last_seen_at, idle_expires_at, expires_at, '
               f'revoked_at, ip, user_agent) ON auth_sessions TO "{ROLE_APP}"')
    op.execute(f'GRANT UPDATE (last_seen_at, idle_expires_at, revoked_at) ON auth_sessions TO "{ROLE_APP}"')

    # Append-only for the app: only the service role (sweep, retention) may rewrite it.
    _tenant_table("audit_log", app_grants="SELECT, INSERT")
    _tenant_table("audit_checkpoints", app_grants="SELECT")


def downgrade() -> None:
    for table in ("audit_checkpoints", "audit_log", "auth_sessions", "profiles", "users", "companies"):
        op.drop_table(table)
    op.execute("DROP FUNCTION auth_company_id()")
    op.execute("DROP FUNCTION auth_session_id()")
