"""Parts inventory: the parts a company stocks (SKU, cost, price, the assembly types they fit), its stock places
(a warehouse, each technician's van), how many of each part each place holds (which may go below zero: a
technician fitted a part the books did not know the van had) with a low-stock threshold, and the ledger of every
movement of stock (received, transferred, counted, adjusted, used on a repair), which the app may only add to.

Revision ID: 0040
Revises: 0039
"""
import os

from alembic import op

revision = "0040"
down_revision = "0039"
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
        CREATE TABLE parts (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            sku varchar(40) NOT NULL,
            name varchar(200) NOT NULL,
            kind varchar(16) NOT NULL CONSTRAINT parts_kind_check
                CHECK (kind IN ('repair_kit', 'spring', 'disc', 'seat', 'module', 'relief_valve', 'other')),
            unit_cost_cents integer NOT NULL CONSTRAINT parts_cost_check
                CHECK (unit_cost_cents BETWEEN 0 AND 100000000),
            unit_price_cents integer NOT NULL CONSTRAINT parts_price_check
                CHECK (unit_price_cents BETWEEN 0 AND 100000000),
            device_types varchar(8)[] NOT NULL,
            created_at timestamptz NOT NULL,
            CONSTRAINT parts_sku_key UNIQUE (company_id, sku)
        )
    """)
    op.execute("""
        CREATE TABLE stock_places (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            name varchar(100) NOT NULL,
            kind varchar(12) NOT NULL CONSTRAINT stock_places_kind_check CHECK (kind IN ('warehouse', 'van')),
            technician_id uuid REFERENCES users (id),
            created_at timestamptz NOT NULL,
            CONSTRAINT stock_places_name_key UNIQUE (company_id, name),
            CONSTRAINT stock_places_van_check CHECK ((kind = 'van') = (technician_id IS NOT NULL))
        )
    """)
    op.execute("CREATE UNIQUE INDEX stock_places_technician_key ON stock_places (company_id, technician_id) "
               "WHERE technician_id IS NOT NULL")
    op.execute("CREATE INDEX ix_stock_places_technician_id ON stock_places (technician_id)")
    op.execute("""
        CREATE TABLE stock_levels (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            part_id uuid NOT NULL REFERENCES parts (id),
            place_id uuid NOT NULL REFERENCES stock_places (id),
            on_hand integer NOT NULL,
            low_threshold integer NOT NULL CONSTRAINT stock_levels_threshold_check
                CHECK (low_threshold BETWEEN 0 AND 100000),
            updated_at timestamptz NOT NULL,
            CONSTRAINT stock_levels_part_place_key UNIQUE (part_id, place_id)
        )
    """)
    op.execute("CREATE INDEX ix_stock_levels_place_id ON stock_levels (place_id)")
    op.execute("""
        CREATE TABLE stock_movements (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            part_id uuid NOT NULL REFERENCES parts (id),
            place_id uuid NOT NULL REFERENCES stock_places (id),
            kind varchar(16) NOT NULL CONSTRAINT stock_movements_kind_check
                CHECK (kind IN ('received', 'transfer_out', 'transfer_in', 'counted', 'adjusted', 'used')),
            quantity integer NOT NULL,
            on_hand_after integer NOT NULL,
            reason varchar(500),
            other_place_id uuid REFERENCES stock_places (id),
            test_record_id uuid REFERENCES test_records (id),
            work_order_id uuid REFERENCES work_orders (id),
            device_id uuid REFERENCES devices (id),
            form_key uuid,
            by_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
            created_at timestamptz NOT NULL,
            CONSTRAINT stock_movements_used_check CHECK ((kind = 'used') = (test_record_id IS NOT NULL))
        )
    """)
    op.execute("CREATE INDEX stock_movements_part_idx ON stock_movements (part_id, created_at)")
    for column in ("place_id", "other_place_id", "work_order_id", "device_id", "by_user_id"):
        op.execute(f"CREATE INDEX ix_stock_movements_{column} ON stock_movements ({column})")
    op.execute("CREATE UNIQUE INDEX stock_movements_test_part_key ON stock_movements (test_record_id, part_id) "
               "WHERE test_record_id IS NOT NULL")
    op.execute("CREATE UNIQUE INDEX stock_movements_form_key ON stock_movements (company_id, form_key, place_id) "
               "WHERE form_key IS NOT NULL")
    for table in ("parts", "stock_places", "stock_levels", "stock_movements"):
        op.execute(f"CREATE INDEX ix_{table}_company_id ON {table} (company_id)")
    # Parts and places are kept, never deleted, by the app (their movements name them); the ledger is append-only.
    _tenant_table("parts", app_grants="SELECT, INSERT, UPDATE")
    _tenant_table("stock_places", app_grants="SELECT, INSERT, UPDATE")
    _tenant_table("stock_levels", app_grants="SELECT, INSERT, UPDATE")
    _tenant_table("stock_movements", app_grants="SELECT, INSERT")


def downgrade() -> None:
    op.execute("DROP TABLE stock_movements")
    op.execute("DROP TABLE stock_levels")
    op.execute("DROP TABLE stock_places")
    op.execute("DROP TABLE parts")
