"""A counter per company that moves whenever something the company's hints are read from changes, other than its
devices and its work orders and jobs, which have counters of their own (0021, 0022): its tests, quotes, invoices
(a payment too), service requests, people (a certification's date) and test kits. The dashboard and the hints page
keep the company's hints in Redis under the three counters and the company's day (flowtrack/hints/services.py):
reading them means nine statements over its tests, visits, devices and debts, 100 ms of the database's time in the
large benchmark company on every look. As 0036's counters do, the trigger takes the company's audit lock before it
moves the counter, so every writer takes the two in one order.

Revision ID: 0048
Revises: 0047
"""
import os

from alembic import op

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")
ROLE_VENDOR = os.environ.get("FLOWTRACK_DB_VENDOR_ROLE", "flowtrack_vendor")

WATCHED_TABLES = ("test_records", "quotes", "invoices", "service_requests", "profiles", "gauges")
# (event, transition table): statement-level, one counter update a statement, not a row.
WATCHED = (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))


def _tenant_table(table: str) -> None:
    """Forced row-level security on a counter table and the roles' grants on it, with 0038's vendor policies for
    the change counters, which a vendor's writes move (0038's statements for device_versions), copied so that the
    revision keeps its meaning whatever becomes of the app's code."""
    predicate = "company_id = (SELECT auth_company_id())"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_tenant_select ON {table} FOR SELECT USING ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_insert ON {table} FOR INSERT WITH CHECK ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_update ON {table} FOR UPDATE USING ({predicate}) "
               f"WITH CHECK ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_delete ON {table} FOR DELETE USING ({predicate})")
    vendor = "(SELECT auth_vendor_id()) IS NOT NULL"
    to = f'AS RESTRICTIVE FOR {{}} TO "{ROLE_VENDOR}"'
    op.execute(f"CREATE POLICY {table}_vendor_select ON {table} {to.format('SELECT')} USING ({vendor} AND (true))")
    op.execute(f"CREATE POLICY {table}_vendor_insert ON {table} {to.format('INSERT')} "
               f"WITH CHECK ({vendor} AND (true))")
    op.execute(f"CREATE POLICY {table}_vendor_update ON {table} {to.format('UPDATE')} USING ({vendor} AND (true)) "
               f"WITH CHECK ({vendor} AND (true))")
    op.execute(f"CREATE POLICY {table}_vendor_delete ON {table} {to.format('DELETE')} USING ({vendor} AND false)")
    op.execute(f'GRANT SELECT, INSERT, UPDATE ON {table} TO "{ROLE_APP}"')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{ROLE_SERVICE}"')


def upgrade() -> None:
    op.execute("""
        CREATE TABLE hint_versions (
            company_id uuid PRIMARY KEY REFERENCES companies (id),
            version bigint NOT NULL DEFAULT 1
        )
    """)
    _tenant_table("hint_versions")
    # SECURITY INVOKER (the default): the writer's own rights and row-level security apply. A tombstoned company's
    # counter is left alone, so the sweep can delete it.
    op.execute("""
        CREATE FUNCTION bump_hint_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock(hashtextextended(locked.id::text, 0))
            FROM (SELECT DISTINCT changed.company_id AS id FROM changed
                  JOIN companies c ON c.id = changed.company_id AND c.tombstoned_at IS NULL ORDER BY 1) locked;
            INSERT INTO hint_versions AS v (company_id)
            SELECT DISTINCT changed.company_id FROM changed
            JOIN companies c ON c.id = changed.company_id AND c.tombstoned_at IS NULL
            ON CONFLICT (company_id) DO UPDATE SET version = v.version + 1;
            RETURN NULL;
        END $$
    """)
    for table in WATCHED_TABLES:
        for event, transition in WATCHED:
            op.execute(f"CREATE TRIGGER {table}_{event.lower()}_hint_version AFTER {event} ON {table} "
                       f"REFERENCING {transition} TABLE AS changed FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION bump_hint_version()")


def downgrade() -> None:
    for table in WATCHED_TABLES:
        for event, _ in WATCHED:
            op.execute(f"DROP TRIGGER {table}_{event.lower()}_hint_version ON {table}")
    op.execute("DROP FUNCTION bump_hint_version()")
    op.execute("DROP TABLE hint_versions")
