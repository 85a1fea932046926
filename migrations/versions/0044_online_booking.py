"""Online booking: windows the office opens for customers to book their test in (a technician's day or half-day,
for so many visits, optionally only for places in some cities or ZIP codes), the bookings customers make in them
(the place and assemblies, waiting for the office or confirmed with the work order booked for it, or declined with
a reason), and the company's choice of whether a booking waits for the office to confirm it.

Revision ID: 0044
Revises: 0043
"""
import os

from alembic import op

revision = "0044"
down_revision = "0043"
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
    op.execute("ALTER TABLE company_settings ADD COLUMN bookings_need_confirmation boolean NOT NULL DEFAULT false")
    op.execute("""
        CREATE TABLE booking_windows (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            technician_id uuid NOT NULL REFERENCES users (id),
            day date NOT NULL,
            part varchar(10) NOT NULL CONSTRAINT booking_windows_part_check
                CHECK (part IN ('morning', 'afternoon', 'day')),
            starts_at timestamptz NOT NULL,
            ends_at timestamptz NOT NULL,
            capacity smallint NOT NULL CONSTRAINT booking_windows_capacity_check CHECK (capacity BETWEEN 1 AND 20),
            area varchar(100)[] NOT NULL DEFAULT '{}',
            opened_by uuid REFERENCES users (id) ON DELETE SET NULL,
            opened_at timestamptz NOT NULL,
            closed_at timestamptz,
            closed_by uuid REFERENCES users (id) ON DELETE SET NULL,
            CONSTRAINT booking_windows_time_check CHECK (ends_at > starts_at)
        )
    """)
    op.execute("CREATE UNIQUE INDEX booking_windows_open_key ON booking_windows (company_id, technician_id, day, part) "
               "WHERE closed_at IS NULL")
    op.execute("CREATE INDEX booking_windows_company_starts_idx ON booking_windows (company_id, starts_at)")
    for column in ("company_id", "technician_id", "opened_by", "closed_by"):
        op.execute(f"CREATE INDEX ix_booking_windows_{column} ON booking_windows ({column})")
    op.execute("""
        CREATE TABLE bookings (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            window_id uuid NOT NULL REFERENCES booking_windows (id),
            customer_id uuid NOT NULL REFERENCES customers (id),
            location_id uuid NOT NULL REFERENCES customer_locations (id),
            device_ids uuid[] NOT NULL CONSTRAINT bookings_devices_check CHECK (cardinality(device_ids) >= 1),
            status varchar(10) NOT NULL CONSTRAINT bookings_status_check
                CHECK (status IN ('pending', 'confirmed', 'declined')),
            work_order_id uuid REFERENCES work_orders (id),
            decline_reason varchar(500),
            booked_by uuid REFERENCES users (id) ON DELETE SET NULL,
            booked_at timestamptz NOT NULL,
            decided_at timestamptz,
            decided_by uuid REFERENCES users (id) ON DELETE SET NULL,
            form_key uuid,
            CONSTRAINT bookings_work_order_check CHECK ((status = 'confirmed') = (work_order_id IS NOT NULL)),
            CONSTRAINT bookings_decline_reason_check CHECK ((status = 'declined') = (decline_reason IS NOT NULL))
        )
    """)
    op.execute("CREATE INDEX bookings_window_idx ON bookings (window_id, status)")
    op.execute("CREATE INDEX bookings_company_status_idx ON bookings (company_id, status, booked_at)")
    op.execute("CREATE UNIQUE INDEX bookings_form_key ON bookings (company_id, form_key) WHERE form_key IS NOT NULL")
    for column in ("company_id", "customer_id", "location_id", "work_order_id", "booked_by", "decided_by"):
        op.execute(f"CREATE INDEX ix_bookings_{column} ON bookings ({column})")
    _tenant_table("booking_windows")
    _tenant_table("bookings")


def downgrade() -> None:
    op.execute("DROP TABLE bookings")
    op.execute("DROP TABLE booking_windows")
    op.execute("ALTER TABLE company_settings DROP COLUMN bookings_need_confirmation")
