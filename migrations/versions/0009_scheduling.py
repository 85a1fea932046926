"""Scheduling: work orders, their devices and price lines, scheduled jobs; technicians' working hours.

Revision ID: 0009
Revises: 0008
"""
import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0009"
down_revision = "0008"
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


def _id() -> list[sa.Column]:
    return [sa.Column("id", UUID(as_uuid=True), primary_key=True),
            sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False, index=True)]


def upgrade() -> None:
    op.add_column("profiles", sa.Column("workday_starts", sa.Time, nullable=False, server_default="07:00"))
    op.add_column("profiles", sa.Column("workday_ends", sa.Time, nullable=False, server_default="17:00"))

    op.create_table(
        "work_orders", *_id(),
        sa.Column("customer_id", UUID(as_uuid=True), sa.ForeignKey("customers.id"), nullable=False, index=True),
        sa.Column("location_id", UUID(as_uuid=True), sa.ForeignKey("customer_locations.id"), nullable=False,
                  index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("notes", sa.String(2000)),
        sa.Column("created_by", UUID(as_uuid=True), sa.ForeignKey("users.id")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS),
        sa.CheckConstraint("kind IN ('test', 'repair', 'install')", name="work_orders_kind_check"),
        sa.CheckConstraint("status IN ('open', 'scheduled', 'in_progress', 'completed', 'canceled')",
                           name="work_orders_status_check"),
    )
    op.create_index("work_orders_company_status_idx", "work_orders", ["company_id", "status", "created_at"])

    op.create_table(
        "work_order_devices", *_id(),
        sa.Column("work_order_id", UUID(as_uuid=True), sa.ForeignKey("work_orders.id"), nullable=False),
        sa.Column("device_id", UUID(as_uuid=True), sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("position", sa.SmallInteger, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(20)),
        sa.Column("test_record_id", UUID(as_uuid=True), sa.ForeignKey("test_records.id")),
        sa.UniqueConstraint("work_order_id", "device_id", name="work_order_devices_device_key"),
        sa.CheckConstraint("outcome IN ('pending', 'tested', 'could_not_test')",
                           name="work_order_devices_outcome_check"),
        sa.CheckConstraint("reason IN ('no_access', 'device_removed', 'customer_refused')",
                           name="work_order_devices_reason_check"),
        sa.CheckConstraint("(outcome = 'could_not_test') = (reason IS NOT NULL)",
                           name="work_order_devices_reason_present_check"),
    )
    op.create_index("work_order_devices_device_idx", "work_order_devices", ["company_id", "device_id"])

    op.create_table(
        "work_order_lines", *_id(),
        sa.Column("work_order_id", UUID(as_uuid=True), sa.ForeignKey("work_orders.id"), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price_cents", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("quantity BETWEEN 1 AND 10000", name="work_order_lines_quantity_check"),
        sa.CheckConstraint("unit_price_cents BETWEEN 0 AND 100000000", name="work_order_lines_price_check"),
    )
    op.create_index("work_order_lines_order_idx", "work_order_lines", ["company_id", "work_order_id"])

    op.create_table(
        "scheduled_jobs", *_id(),
        sa.Column("work_order_id", UUID(as_uuid=True), sa.ForeignKey("work_orders.id"), nullable=False),
        sa.Column("technician_id", UUID(as_uuid=True), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("route_position", sa.SmallInteger, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("completed_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("work_order_id", name="scheduled_jobs_work_order_key"),
        sa.CheckConstraint("ends_at > starts_at", name="scheduled_jobs_window_check"),
    )
    op.create_index("scheduled_jobs_company_starts_idx", "scheduled_jobs", ["company_id", "starts_at"])
    op.create_index("scheduled_jobs_technician_idx", "scheduled_jobs", ["company_id", "technician_id", "starts_at"])

    for table in ("work_orders", "work_order_devices", "work_order_lines", "scheduled_jobs"):
        _tenant_table(table)


def downgrade() -> None:
    for table in ("scheduled_jobs", "work_order_lines", "work_order_devices", "work_orders"):
        op.drop_table(table)
    op.drop_column("profiles", "workday_ends")
    op.drop_column("profiles", "workday_starts")
