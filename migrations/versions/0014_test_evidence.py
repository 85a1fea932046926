"""Evidence on field tests: device photos (files in the storage backend), signatures, amendments of submitted
tests, and districts that ask for the customer's signature.

Revision ID: 0014
Revises: 0013
"""
import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0014"
down_revision = "0013"
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
    op.create_table(
        "device_photos",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), nullable=False),
        sa.Column("device_id", UUID(as_uuid=True), sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("test_record_id", UUID(as_uuid=True), sa.ForeignKey("test_records.id")),
        sa.Column("uploaded_by", UUID(as_uuid=True), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("caption", sa.String(200)),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("byte_size", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("device_photos_device_idx", "device_photos", ["company_id", "device_id", "created_at"])
    op.create_index("device_photos_test_idx", "device_photos", ["company_id", "test_record_id"])
    # A photo joins a test when the test is submitted and stays with it: the app may set that link, not edit it.
    _tenant_table("device_photos", app_grants="SELECT, INSERT, DELETE")
    op.execute(f'GRANT UPDATE (test_record_id) ON device_photos TO "{ROLE_APP}"')

    # Test records stay insert-only for the app: these are written once, with the record.
    op.add_column("test_records", sa.Column("technician_signature_key", sa.String(200)))
    op.add_column("test_records", sa.Column("customer_signature_key", sa.String(200)))
    op.add_column("test_records", sa.Column("customer_signer_name", sa.String(200)))
    op.add_column("test_records", sa.Column("amended_by_id", UUID(as_uuid=True)))
    # NOT VALID: existing rows are all NULL, and checking them would run under row-level security (see 0013).
    op.execute("ALTER TABLE test_records ADD CONSTRAINT test_records_amended_by_id_fkey FOREIGN KEY (amended_by_id) "
               "REFERENCES users (id) NOT VALID")
    op.add_column("test_records", sa.Column("amendment_reason", sa.String(500)))
    # One amendment per version: a correction of a correction amends the newest one.
    op.create_index("test_records_amends_key", "test_records", ["amends_id"], unique=True,
                    postgresql_where=sa.text("amends_id IS NOT NULL"))
    op.create_check_constraint("test_records_amendment_check", "test_records",
                               "(amends_id IS NULL) = (amendment_reason IS NULL)")

    op.add_column("districts", sa.Column("requires_customer_signature", sa.Boolean, nullable=False,
                                         server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("districts", "requires_customer_signature")
    op.drop_constraint("test_records_amendment_check", "test_records")
    op.drop_index("test_records_amends_key", "test_records")
    for column in ("amendment_reason", "amended_by_id", "customer_signer_name",
                   "customer_signature_key", "technician_signature_key"):
        op.drop_column("test_records", column)
    op.drop_table("device_photos")
