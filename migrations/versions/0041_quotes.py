"""Quotes: the repairs a company offers a customer, by version (each version's lines, some optional), sent by
email with a link whose token is kept hashed, and approved with a typed name (when, from which IP, which version
and which optional lines) or declined with a reason; an approved quote names the work order made of it.

Revision ID: 0041
Revises: 0040
"""
import os

from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")
ROLE_VENDOR = os.environ.get("FLOWTRACK_DB_VENDOR_ROLE", "flowtrack_vendor")


def _tenant_table(table: str, *, app_grants: str = "SELECT, INSERT, UPDATE, DELETE") -> None:
    """Forced row-level security on a tenant table and the roles' grants on it, with 0038's vendor policies for a
    table that shows a vendor nothing (0039's statements), copied so that the revision keeps its meaning whatever
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
        CREATE TABLE quotes (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            number integer NOT NULL,
            customer_id uuid NOT NULL REFERENCES customers (id),
            location_id uuid NOT NULL REFERENCES customer_locations (id),
            device_id uuid REFERENCES devices (id),
            test_record_id uuid REFERENCES test_records (id),
            service_request_id uuid REFERENCES service_requests (id),
            status varchar(12) NOT NULL CONSTRAINT quotes_status_check
                CHECK (status IN ('draft', 'sent', 'approved', 'declined')),
            version integer NOT NULL CONSTRAINT quotes_version_check CHECK (version >= 1),
            sent_version integer,
            expires_on date NOT NULL,
            notes varchar(2000),
            link_token_hash bytea,
            sent_at timestamptz,
            approved_version integer,
            approved_by_name varchar(200),
            approved_at timestamptz,
            approved_ip varchar(45),
            declined_at timestamptz,
            decline_reason varchar(1000),
            work_order_id uuid REFERENCES work_orders (id),
            created_by uuid REFERENCES users (id) ON DELETE SET NULL,
            created_at timestamptz NOT NULL,
            form_key uuid,
            CONSTRAINT quotes_company_number_key UNIQUE (company_id, number)
        )
    """)
    op.execute("CREATE UNIQUE INDEX quotes_link_token_key ON quotes (link_token_hash) "
               "WHERE link_token_hash IS NOT NULL")
    op.execute("CREATE UNIQUE INDEX quotes_form_key ON quotes (company_id, form_key) WHERE form_key IS NOT NULL")
    for column in ("company_id", "customer_id", "location_id", "device_id", "test_record_id", "service_request_id",
                   "work_order_id", "created_by"):
        op.execute(f"CREATE INDEX ix_quotes_{column} ON quotes ({column})")
    op.execute("""
        CREATE TABLE quote_lines (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            quote_id uuid NOT NULL REFERENCES quotes (id),
            version integer NOT NULL,
            position smallint NOT NULL,
            description varchar(200) NOT NULL,
            quantity integer NOT NULL CONSTRAINT quote_lines_quantity_check CHECK (quantity BETWEEN 1 AND 10000),
            unit_price_cents integer NOT NULL CONSTRAINT quote_lines_price_check
                CHECK (unit_price_cents BETWEEN 0 AND 100000000),
            taxable boolean NOT NULL,
            optional boolean NOT NULL,
            chosen boolean,
            form_key uuid
        )
    """)
    op.execute("CREATE INDEX quote_lines_quote_version_idx ON quote_lines (quote_id, version, position)")
    op.execute("CREATE INDEX ix_quote_lines_company_id ON quote_lines (company_id)")
    op.execute("CREATE UNIQUE INDEX quote_lines_form_key ON quote_lines (company_id, form_key) "
               "WHERE form_key IS NOT NULL")
    _tenant_table("quotes")
    _tenant_table("quote_lines")


def downgrade() -> None:
    op.execute("DROP TABLE quote_lines")
    op.execute("DROP TABLE quotes")
