"""A counter per company that moves whenever one of its devices is added, changed or removed, kept by a trigger
as the week board's counter is (0021), so that every write counts, whichever code makes it. The dashboard keeps
its count of the devices due under the counter's value (flowtrack/dashboard/services.py): counting them reads
about 27,000 index entries of a large company on every look. A tombstoned company's counter is left alone, so
the sweep can delete it.

Revision ID: 0022
Revises: 0021
"""
import os

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")

# (event, transition table): statement-level, one counter update a statement, not a row.
WATCHED = (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))


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
        CREATE TABLE device_versions (
            company_id uuid PRIMARY KEY REFERENCES companies (id),
            version bigint NOT NULL DEFAULT 1
        )
    """)
    _tenant_table("device_versions", app_grants="SELECT, INSERT, UPDATE")
    # SECURITY INVOKER (the default): the writer's own rights and row-level security apply.
    op.execute("""
        CREATE FUNCTION bump_device_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO device_versions AS v (company_id)
            SELECT DISTINCT changed.company_id FROM changed
            JOIN companies c ON c.id = changed.company_id AND c.tombstoned_at IS NULL
            ON CONFLICT (company_id) DO UPDATE SET version = v.version + 1;
            RETURN NULL;
        END $$
    """)
    for event, transition in WATCHED:
        op.execute(f"CREATE TRIGGER devices_{event.lower()}_device_version AFTER {event} ON devices "
                   f"REFERENCING {transition} TABLE AS changed FOR EACH STATEMENT "
                   f"EXECUTE FUNCTION bump_device_version()")


def downgrade() -> None:
    for event, _ in WATCHED:
        op.execute(f"DROP TRIGGER devices_{event.lower()}_device_version ON devices")
    op.execute("DROP FUNCTION bump_device_version()")
    op.execute("DROP TABLE device_versions")
