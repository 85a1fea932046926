"""Test-due reminders: company settings (lead times), the notification log, customers' opt-out and SMS consent.

Revision ID: 0011
Revises: 0009, 0003 (notification_emails)
"""
import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

revision = "0011"
down_revision = ("0009", "0003")
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
    op.add_column("customers", sa.Column("reminders_opted_out_at", TS))
    op.add_column("customers", sa.Column("sms_consent", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("customers", sa.Column("sms_opted_out_at", TS))

    op.create_table(
        "company_settings",
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), primary_key=True),
        sa.Column("reminders_enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("reminder_lead_days", ARRAY(sa.SmallInteger), nullable=False, server_default="{60,30}"),
        sa.Column("remind_when_overdue", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("cardinality(reminder_lead_days) <= 4", name="company_settings_lead_days_check"),
    )
    _tenant_table("company_settings")

    op.create_table(
        "notification_log",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False, index=True),
        sa.Column("customer_id", UUID(as_uuid=True), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("device_id", UUID(as_uuid=True), sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("stage", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("email_id", UUID(as_uuid=True), sa.ForeignKey("notification_emails.id")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("printed_at", TS),
        sa.Column("attempts", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("sent_at", TS),
        sa.Column("error", sa.String(300)),
        sa.UniqueConstraint("company_id", "device_id", "due_on", "stage", "channel",
                            name="notification_log_notice_key"),
        sa.CheckConstraint("channel IN ('email', 'letter', 'sms')", name="notification_log_channel_check"),
    )
    op.create_index("notification_log_company_created_idx", "notification_log", ["company_id", "created_at"])
    op.create_index("notification_log_company_status_idx", "notification_log", ["company_id", "status"])
    _tenant_table("notification_log")


def downgrade() -> None:
    op.drop_table("notification_log")
    op.drop_table("company_settings")
    for column in ("sms_opted_out_at", "sms_consent", "reminders_opted_out_at"):
        op.drop_column("customers", column)
