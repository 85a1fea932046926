"""Service requests: a customer asks from the portal for a test, a repair, an installation, a move or a removal at
one of its places (optionally naming devices there); the office turns the request into a work order or declines
it with a reason, and the customer follows its status.

Revision ID: 0035
Revises: 0034
"""
import os

from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
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
        CREATE TABLE service_requests (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            customer_id uuid NOT NULL REFERENCES customers (id),
            location_id uuid NOT NULL REFERENCES customer_locations (id),
            kind varchar(12) NOT NULL CONSTRAINT service_requests_kind_check
                CHECK (kind IN ('test', 'repair', 'install', 'relocate', 'remove')),
            device_ids uuid[] NOT NULL,
            notes varchar(2000),
            status varchar(12) NOT NULL CONSTRAINT service_requests_status_check
                CHECK (status IN ('open', 'converted', 'declined')),
            decline_reason varchar(500),
            work_order_id uuid REFERENCES work_orders (id),
            requested_by uuid REFERENCES users (id) ON DELETE SET NULL,
            created_at timestamptz NOT NULL,
            decided_at timestamptz,
            decided_by uuid REFERENCES users (id) ON DELETE SET NULL,
            CONSTRAINT service_requests_decline_reason_check
                CHECK ((status = 'declined') = (decline_reason IS NOT NULL)),
            CONSTRAINT service_requests_work_order_check
                CHECK ((status = 'converted') = (work_order_id IS NOT NULL))
        )
    """)
    op.execute("CREATE INDEX service_requests_company_status_idx ON service_requests "
               "(company_id, status, created_at)")
    for column in ("customer_id", "location_id", "work_order_id", "requested_by", "decided_by"):
        op.execute(f"CREATE INDEX ix_service_requests_{column} ON service_requests ({column})")
    op.execute("CREATE INDEX ix_service_requests_company_id ON service_requests (company_id)")
    # A request is decided, never deleted, by the app.
    _tenant_table("service_requests", app_grants="SELECT, INSERT, UPDATE")


def downgrade() -> None:
    op.execute("DROP TABLE service_requests")
