"""Customers, service locations, water districts, devices and test kits.

Revision ID: 0002
Revises: 0001
"""
import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")

TS = sa.DateTime(timezone=True)


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


def _tenant_columns() -> list[sa.Column]:
    return [
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False, index=True),
    ]


def upgrade() -> None:
    op.create_table(
        "districts",
        *_tenant_columns(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("contact_name", sa.String(200)),
        sa.Column("contact_phone", sa.String(40)),
        sa.Column("report_email", sa.String(254)),
        sa.Column("test_interval_months", sa.Integer, nullable=False, server_default="12"),
        sa.Column("due_anchor", sa.String(16), nullable=False, server_default="last_test"),
        sa.Column("fixed_due_month", sa.SmallInteger),
        sa.Column("fixed_due_day", sa.SmallInteger),
        sa.Column("early_window_days", sa.Integer, nullable=False, server_default="0"),
        sa.Column("due_end_of_month", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("report_template", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("due_anchor IN ('last_test', 'fixed_date')", name="districts_due_anchor_check"),
        sa.CheckConstraint("test_interval_months BETWEEN 1 AND 120", name="districts_interval_check"),
        sa.CheckConstraint("early_window_days BETWEEN 0 AND 365", name="districts_early_window_check"),
        sa.CheckConstraint("due_anchor <> 'fixed_date' OR (fixed_due_month IS NOT NULL AND fixed_due_day IS NOT NULL)",
                           name="districts_fixed_date_check"),
    )
    op.create_index("districts_company_name_key", "districts", ["company_id", sa.text("lower(name)")], unique=True)

    op.create_table(
        "customers",
        *_tenant_columns(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.Text(collation="C"), sa.Computed("lower(name)", persisted=True), nullable=False),
        sa.Column("billing_address", sa.String(500)),
        sa.Column("email", sa.String(254)),
        sa.Column("phone", sa.String(40)),
        sa.Column("notes", sa.String(2000)),
        sa.Column("archived_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )
    # The list pages by keyset on these, and prefix-searches name_key as a range of the first.
    op.create_index("customers_company_name_idx", "customers", ["company_id", "name_key", "id"])
    op.create_index("customers_company_created_idx", "customers", ["company_id", "created_at", "id"])

    op.create_table(
        "customer_locations",
        *_tenant_columns(),
        sa.Column("customer_id", UUID(as_uuid=True), sa.ForeignKey("customers.id"), nullable=False, index=True),
        sa.Column("district_id", UUID(as_uuid=True), sa.ForeignKey("districts.id"), index=True),
        sa.Column("address_line1", sa.String(200), nullable=False),
        sa.Column("address_line2", sa.String(200)),
        sa.Column("city", sa.String(100), nullable=False),
        sa.Column("state", sa.String(2), nullable=False),
        sa.Column("postal_code", sa.String(10), nullable=False),
        sa.Column("address_key", sa.String(700), nullable=False),
        sa.Column("site_contact_name", sa.String(200)),
        sa.Column("site_contact_phone", sa.String(40)),
        sa.Column("access_notes", sa.String(2000)),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("company_id", "address_key", name="customer_locations_company_address_key"),
    )

    op.create_table(
        "devices",
        *_tenant_columns(),
        sa.Column("location_id", UUID(as_uuid=True), sa.ForeignKey("customer_locations.id"), nullable=False,
                  index=True),
        sa.Column("device_type", sa.String(8), nullable=False),
        sa.Column("manufacturer", sa.String(100), nullable=False),
        sa.Column("model", sa.String(100)),
        sa.Column("serial", sa.String(64, collation="C"), nullable=False),
        sa.Column("size", sa.String(16)),
        sa.Column("where_installed", sa.String(200)),
        sa.Column("hazard", sa.String(16)),
        sa.Column("install_date", sa.Date),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("replaced_by_device_id", UUID(as_uuid=True), sa.ForeignKey("devices.id")),
        sa.Column("last_test_on", sa.Date),
        sa.Column("next_test_due", sa.Date),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("device_type IN ('RP', 'RPDA', 'DC', 'DCDA', 'PVB', 'SVB', 'AVB')",
                           name="devices_type_check"),
        sa.CheckConstraint("status IN ('active', 'removed', 'replaced')", name="devices_status_check"),
        sa.CheckConstraint("hazard IN ('health', 'non_health')", name="devices_hazard_check"),
        sa.CheckConstraint("(status = 'replaced') = (replaced_by_device_id IS NOT NULL)",
                           name="devices_replaced_by_check"),
        sa.UniqueConstraint("company_id", "serial", name="devices_company_serial_key"),
    )
    # The due and overdue list reads devices by due date.
    op.create_index("devices_company_next_due_idx", "devices", ["company_id", "next_test_due", "id"])

    op.create_table(
        "gauges",
        *_tenant_columns(),
        sa.Column("make", sa.String(100), nullable=False),
        sa.Column("model", sa.String(100)),
        sa.Column("serial", sa.String(64, collation="C"), nullable=False),
        sa.Column("last_calibrated_on", sa.Date, nullable=False),
        sa.Column("calibration_due_on", sa.Date, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("calibration_due_on >= last_calibrated_on", name="gauges_calibration_order_check"),
        sa.UniqueConstraint("company_id", "serial", name="gauges_company_serial_key"),
    )

    for table in ("districts", "customers", "customer_locations", "devices", "gauges"):
        _tenant_table(table)


def downgrade() -> None:
    for table in ("gauges", "devices", "customer_locations", "customers", "districts"):
        op.drop_table(table)
