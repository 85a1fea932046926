"""Hints the office dismissed (flowtrack/hints/): one row per hint's key, which names the facts it was shown for, so
a dismissed hint comes back when they change; and an index on failed tests, which the hint "failed two of its last
three tests" starts from.

Revision ID: 0047
Revises: 0046
"""
import os

from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")
ROLE_VENDOR = os.environ.get("FLOWTRACK_DB_VENDOR_ROLE", "flowtrack_vendor")


def _tenant_table(table: str, *, app_grants: str = "SELECT, INSERT, UPDATE, DELETE") -> None:
    """Forced row-level security on a tenant table and the roles' grants on it, with 0038's vendor policies for a
    table that shows a vendor nothing (0041's statements), copied so that the revision keeps its meaning whatever
    becomes of the app's code."""
    predicate = "company_id = (SELECT auth_company_id())"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_tenant_select ON {table} FOR SELECT USING ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_insert ON {table} FOR INSERT WITH CHECK ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_update ON {table} FOR UPDATE USING ({predicate}) "
               f"WITH CHECK ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_delete ON {table} FOR DELETE USING ({predicate})")
    nothing = "(SELECT auth_vendor_id()) IS NOT NULL AND false"
    to = f'AS RESTRICTIVE FOR {{}} TO "{ROLE_VENDOR}"'
    op.execute(f"CREATE POLICY {table}_vendor_select ON {table} {to.format('SELECT')} USING ({nothing})")
    op.execute(f"CREATE POLICY {table}_vendor_insert ON {table} {to.format('INSERT')} WITH CHECK ({nothing})")
    op.execute(f"CREATE POLICY {table}_vendor_update ON {table} {to.format('UPDATE')} USING ({nothing}) "
               f"WITH CHECK ({nothing})")
    op.execute(f"CREATE POLICY {table}_vendor_delete ON {table} {to.format('DELETE')} USING ({nothing})")
    if app_grants:
        op.execute(f'GRANT {app_grants} ON {table} TO "{ROLE_APP}"')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{ROLE_SERVICE}"')


def upgrade() -> None:
    op.execute("""
        CREATE TABLE dismissed_hints (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            key varchar(200) NOT NULL,
            kind varchar(16) NOT NULL CONSTRAINT dismissed_hints_kind_check
                CHECK (kind IN ('replace', 'visit', 'kit', 'certification', 'overdue')),
            dismissed_by uuid REFERENCES users (id) ON DELETE SET NULL,
            dismissed_at timestamptz NOT NULL,
            CONSTRAINT dismissed_hints_company_key UNIQUE (company_id, key)
        )
    """)
    op.execute("CREATE INDEX ix_dismissed_hints_dismissed_by ON dismissed_hints (dismissed_by)")
    _tenant_table("dismissed_hints", app_grants="SELECT, INSERT, DELETE")
    op.execute("CREATE INDEX test_records_failed_idx ON test_records (company_id, device_id) WHERE result = 'fail'")


def downgrade() -> None:
    op.execute("DROP INDEX test_records_failed_idx")
    op.execute("DROP TABLE dismissed_hints")
