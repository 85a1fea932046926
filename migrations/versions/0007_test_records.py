"""Field test records, and districts' own pass/fail thresholds.

Revision ID: 0007
Revises: 0002
"""
import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0007"
down_revision = "0002"
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


def upgrade() -> None:
    op.add_column("districts", sa.Column("threshold_overrides", JSONB, nullable=False, server_default="{}"))
    op.create_table(
        "test_records",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False),
        sa.Column("device_id", UUID(as_uuid=True), sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("technician_id", UUID(as_uuid=True), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("gauge_id", UUID(as_uuid=True), sa.ForeignKey("gauges.id")),
        sa.Column("amends_id", UUID(as_uuid=True), sa.ForeignKey("test_records.id")),
        sa.Column("test_type", sa.String(16), nullable=False),
        sa.Column("tested_at", TS, nullable=False),
        sa.Column("line_pressure_psi", sa.SmallInteger),
        sa.Column("shutoff1_tight", sa.Boolean),
        sa.Column("readings", JSONB, nullable=False, server_default="{}"),
        sa.Column("initial_result", sa.String(8)),
        sa.Column("repairs", JSONB, nullable=False, server_default="[]"),
        sa.Column("retest_readings", JSONB),
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("checks", JSONB, nullable=False, server_default="[]"),
        sa.Column("facts", JSONB, nullable=False, server_default="{}"),
        sa.Column("notes", sa.String(2000)),
        sa.Column("report_status", sa.String(8), nullable=False, server_default="queued"),
        sa.Column("report_sha256", sa.String(64)),
        sa.Column("submitted_at", TS, nullable=False),
        sa.CheckConstraint("test_type IN ('installation', 'annual', 'repair_retest', 'replacement', "
                           "'removed_capped')", name="test_records_type_check"),
        sa.CheckConstraint("result IN ('pass', 'fail', 'removed')", name="test_records_result_check"),
        sa.CheckConstraint("report_status IN ('queued', 'running', 'done', 'failed')",
                           name="test_records_report_status_check"),
        sa.CheckConstraint("line_pressure_psi BETWEEN 0 AND 400", name="test_records_line_pressure_check"),
    )
    op.create_index("test_records_device_idx", "test_records", ["company_id", "device_id", "tested_at"])
    op.create_index("test_records_technician_idx", "test_records", ["company_id", "technician_id", "tested_at"])
    # Submitted records are locked: the app role may add them and set their report's state, nothing else.
    _tenant_table("test_records", app_grants="SELECT, INSERT")
    op.execute(f'GRANT UPDATE (report_status, report_sha256) ON test_records TO "{ROLE_APP}"')


def downgrade() -> None:
    op.drop_table("test_records")
    op.drop_column("districts", "threshold_overrides")
