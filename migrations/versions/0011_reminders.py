"""Test-due reminders: company settings (lead times), the notification log, customers' opt-out and SMS consent.

Revision ID: 0011
Revises: 0009, 0003 (notification_emails)
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from flowtrack.ops.schema import tenant_table

revision = "0011"
down_revision = ("0009", "0003")
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


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
    tenant_table(op, "company_settings")

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
    tenant_table(op, "notification_log")


def downgrade() -> None:
    op.drop_table("notification_log")
    op.drop_table("company_settings")
    for column in ("sms_opted_out_at", "sms_consent", "reminders_opted_out_at"):
        op.drop_column("customers", column)
