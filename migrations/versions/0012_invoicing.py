"""Invoicing: invoices (lines inside, numbered without gaps per company), payments, the price list; tax rate
and payment terms in the company settings.

Revision ID: 0012
Revises: 0011
"""
import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0012"
down_revision = "0011"
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


def _company() -> sa.Column:
    return sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False, index=True)


def upgrade() -> None:
    op.add_column("company_settings", sa.Column("tax_rate_bp", sa.Integer, nullable=False, server_default="0"))
    op.add_column("company_settings", sa.Column("payment_terms_days", sa.SmallInteger, nullable=False,
                                                server_default="30"))
    op.create_check_constraint("company_settings_tax_rate_check", "company_settings", "tax_rate_bp BETWEEN 0 AND 5000")

    op.create_table(
        "invoices",
        sa.Column("id", UUID(as_uuid=True), primary_key=True), _company(),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("customer_id", UUID(as_uuid=True), sa.ForeignKey("customers.id"), index=True),
        sa.Column("work_order_id", UUID(as_uuid=True), sa.ForeignKey("work_orders.id")),
        sa.Column("credits_invoice_id", UUID(as_uuid=True), sa.ForeignKey("invoices.id")),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("lines", JSONB, nullable=False, server_default="[]"),
        sa.Column("tax_rate_bp", sa.Integer, nullable=False),
        sa.Column("subtotal_cents", sa.BigInteger, nullable=False),
        sa.Column("tax_cents", sa.BigInteger, nullable=False),
        sa.Column("total_cents", sa.BigInteger, nullable=False),
        sa.Column("paid_cents", sa.BigInteger, nullable=False),
        sa.Column("customer_snapshot", JSONB),
        sa.Column("issued_on", sa.Date),
        sa.Column("due_on", sa.Date),
        sa.Column("sent_at", TS),
        sa.Column("voided_at", TS),
        sa.Column("pdf_sha256", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("company_id", "number", name="invoices_company_number_key"),
        sa.CheckConstraint("status IN ('draft', 'sent', 'partially_paid', 'paid', 'void')",
                           name="invoices_status_check"),
        sa.CheckConstraint("kind IN ('invoice', 'credit_note')", name="invoices_kind_check"),
        sa.CheckConstraint("paid_cents >= 0", name="invoices_paid_check"),
    )
    op.create_index("invoices_company_status_idx", "invoices", ["company_id", "status", "due_on"])
    # Invoices are never deleted by the app (a void one keeps its number).
    _tenant_table("invoices", app_grants="SELECT, INSERT, UPDATE")

    op.create_table(
        "invoice_counters",
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), primary_key=True),
        sa.Column("last_number", sa.Integer, nullable=False),
    )
    _tenant_table("invoice_counters", app_grants="SELECT, INSERT, UPDATE")

    op.create_table(
        "payments",
        sa.Column("id", UUID(as_uuid=True), primary_key=True), _company(),
        sa.Column("invoice_id", UUID(as_uuid=True), sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("reference", sa.String(100)),
        sa.Column("received_on", sa.Date, nullable=False),
        sa.Column("recorded_by", UUID(as_uuid=True), sa.ForeignKey("users.id")),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("method IN ('cash', 'check', 'card', 'credit')", name="payments_method_check"),
        sa.CheckConstraint("amount_cents <> 0", name="payments_amount_check"),
    )
    op.create_index("payments_invoice_idx", "payments", ["company_id", "invoice_id"])
    # A payment is a fact: recorded, never changed (a refund is a payment of its own, negative).
    _tenant_table("payments", app_grants="SELECT, INSERT")

    op.create_table(
        "price_items",
        sa.Column("id", UUID(as_uuid=True), primary_key=True), _company(),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("device_type", sa.String(8), nullable=False, server_default=""),
        sa.Column("size", sa.String(16), nullable=False, server_default=""),
        sa.Column("part", sa.String(40), nullable=False, server_default=""),
        sa.Column("unit_price_cents", sa.Integer, nullable=False),
        sa.Column("taxable", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.UniqueConstraint("company_id", "kind", "device_type", "size", "part", name="price_items_key"),
        sa.CheckConstraint("kind IN ('test', 'repair', 'trip')", name="price_items_kind_check"),
        sa.CheckConstraint("unit_price_cents BETWEEN 0 AND 100000000", name="price_items_price_check"),
    )
    _tenant_table("price_items")


def downgrade() -> None:
    for table in ("price_items", "payments", "invoice_counters", "invoices"):
        op.drop_table(table)
    op.drop_constraint("company_settings_tax_rate_check", "company_settings")
    op.drop_column("company_settings", "payment_terms_days")
    op.drop_column("company_settings", "tax_rate_bp")
