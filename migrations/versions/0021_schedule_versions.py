"""A counter per company that moves whenever something the week board shows changes, kept by triggers so that
every write counts, whichever code makes it (pages, jobs, imports, fixes by hand). The board caches its
rendered week under the counter's value (flowtrack/schedule/board_cache.py); a new value is a new cache entry.

What the board shows: jobs, work orders (status, customer, place), how many devices each order has, the
names and addresses on its cards, the technicians (profiles, whether their login is active) and the
company's time zone. Inserts of customers and places are left out: no order points at a new one yet, and an
import inserts thousands. A tombstoned company's counter is left alone, so the sweep can delete it.

Revision ID: 0021
Revises: 0020
"""
import os

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")

# (table, event, transition table): statement-level, one counter update a statement, not a row.
WATCHED = (
    ("scheduled_jobs", "INSERT", "NEW"), ("scheduled_jobs", "UPDATE", "NEW"), ("scheduled_jobs", "DELETE", "OLD"),
    ("work_orders", "INSERT", "NEW"), ("work_orders", "UPDATE", "NEW"), ("work_orders", "DELETE", "OLD"),
    ("work_order_devices", "INSERT", "NEW"), ("work_order_devices", "DELETE", "OLD"),
    ("customers", "UPDATE", "NEW"), ("customer_locations", "UPDATE", "NEW"),
    ("profiles", "INSERT", "NEW"), ("profiles", "UPDATE", "NEW"), ("profiles", "DELETE", "OLD"),
    ("users", "UPDATE", "NEW"),
)


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
        CREATE TABLE schedule_versions (
            company_id uuid PRIMARY KEY REFERENCES companies (id),
            version bigint NOT NULL DEFAULT 1
        )
    """)
    _tenant_table("schedule_versions", app_grants="SELECT, INSERT, UPDATE")
    # SECURITY INVOKER (the default): the writer's own rights and row-level security apply, so a page can only
    # move its own company's counter.
    op.execute("""
        CREATE FUNCTION bump_schedule_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO schedule_versions AS v (company_id)
            SELECT DISTINCT changed.company_id FROM changed
            JOIN companies c ON c.id = changed.company_id AND c.tombstoned_at IS NULL
            ON CONFLICT (company_id) DO UPDATE SET version = v.version + 1;
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE FUNCTION bump_company_schedule_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO schedule_versions AS v (company_id)
            SELECT DISTINCT changed.id FROM changed WHERE changed.tombstoned_at IS NULL
            ON CONFLICT (company_id) DO UPDATE SET version = v.version + 1;
            RETURN NULL;
        END $$
    """)
    for table, event, transition in WATCHED:
        op.execute(f"CREATE TRIGGER {table}_{event.lower()}_schedule_version AFTER {event} ON {table} "
                   f"REFERENCING {transition} TABLE AS changed FOR EACH STATEMENT "
                   f"EXECUTE FUNCTION bump_schedule_version()")
    op.execute("CREATE TRIGGER companies_update_schedule_version AFTER UPDATE ON companies "
               "REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_company_schedule_version()")


def downgrade() -> None:
    op.execute("DROP TRIGGER companies_update_schedule_version ON companies")
    for table, event, _ in WATCHED:
        op.execute(f"DROP TRIGGER {table}_{event.lower()}_schedule_version ON {table}")
    op.execute("DROP FUNCTION bump_company_schedule_version()")
    op.execute("DROP FUNCTION bump_schedule_version()")
    op.execute("DROP TABLE schedule_versions")
