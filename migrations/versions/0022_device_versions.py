"""A counter per company that moves whenever one of its devices is added, changed or removed, kept by a trigger
as the week board's counter is (0021), so that every write counts, whichever code makes it. The dashboard keeps
its count of the devices due under the counter's value (flowtrack/dashboard/services.py): counting them reads
about 27,000 index entries of a large company on every look. A tombstoned company's counter is left alone, so
the sweep can delete it.

Revision ID: 0022
Revises: 0021
"""
from alembic import op

from flowtrack.ops.schema import tenant_table

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# (event, transition table): statement-level, one counter update a statement, not a row.
WATCHED = (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))


def upgrade() -> None:
    op.execute("""
        CREATE TABLE device_versions (
            company_id uuid PRIMARY KEY REFERENCES companies (id),
            version bigint NOT NULL DEFAULT 1
        )
    """)
    tenant_table(op, "device_versions", app_grants="SELECT, INSERT, UPDATE")
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
