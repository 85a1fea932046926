"""An index for every foreign key, led by its column: deleting or changing a referenced row makes PostgreSQL look
for rows that point at it, and without such an index each look is a scan of the whole referencing table. The
sweep deleting the large benchmark company (50,000 devices, 30,000 work orders) spent minutes in those scans;
the pages that list a row's children (payments of an invoice, tests of a device) use them too.
Nullable columns get partial indexes: only rows that point somewhere are ever looked up.

Revision ID: 0018
Revises: 0017
"""
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# (table, column, nullable)
FOREIGN_KEYS = (
    ("profiles", "customer_id", True),
    ("profiles", "district_id", True),
    ("devices", "replaced_by_device_id", True),
    ("test_records", "amended_by_id", True),
    ("test_records", "device_id", False),
    ("test_records", "gauge_id", True),
    ("test_records", "technician_id", False),
    ("customer_imports", "uploaded_by", True),
    ("work_orders", "created_by", True),
    ("work_order_devices", "device_id", False),
    ("work_order_devices", "test_record_id", True),
    ("work_order_lines", "work_order_id", False),
    ("scheduled_jobs", "technician_id", False),
    ("notification_log", "customer_id", False),
    ("notification_log", "device_id", False),
    ("notification_log", "email_id", True),
    ("invoices", "credits_invoice_id", True),
    ("invoices", "work_order_id", True),
    ("payments", "invoice_id", False),
    ("payments", "recorded_by", True),
    ("device_photos", "device_id", False),
    ("device_photos", "test_record_id", True),
    ("device_photos", "uploaded_by", False),
)


def upgrade() -> None:
    for table, column, nullable in FOREIGN_KEYS:
        op.create_index(f"{table}_{column}_fk_idx", table, [column],
                        postgresql_where=f"{column} IS NOT NULL" if nullable else None)


def downgrade() -> None:
    for table, column, _ in FOREIGN_KEYS:
        op.drop_index(f"{table}_{column}_fk_idx", table_name=table)
