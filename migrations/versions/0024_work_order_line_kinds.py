"""A work order's lines are its price: each says what it bills (a device's test fee, a repair, the trip charge, or
anything else the office adds), for which device, whether it is taxed, and whether the price list had no price
for it (the office must set one before the invoice goes out; the customer never sees that flag).

Existing lines become "other" lines, taxed, with a price: they are what the office typed, and stay as they were.

Revision ID: 0024
Revises: 0023
"""
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE work_order_lines ADD COLUMN kind varchar(8) NOT NULL DEFAULT 'other'")
    op.execute("ALTER TABLE work_order_lines ADD CONSTRAINT work_order_lines_kind_check "
               "CHECK (kind IN ('test', 'repair', 'trip', 'other'))")
    op.execute("ALTER TABLE work_order_lines ADD COLUMN device_id uuid REFERENCES devices (id)")
    op.execute("ALTER TABLE work_order_lines ADD CONSTRAINT work_order_lines_device_check "
               "CHECK ((kind IN ('test', 'repair')) = (device_id IS NOT NULL))")
    op.execute("ALTER TABLE work_order_lines ADD COLUMN taxable boolean NOT NULL DEFAULT true")
    op.execute("ALTER TABLE work_order_lines ADD COLUMN price_missing boolean NOT NULL DEFAULT false")
    op.execute("CREATE INDEX work_order_lines_device_idx ON work_order_lines (device_id) WHERE device_id IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX work_order_lines_device_idx")
    for column in ("price_missing", "taxable", "device_id", "kind"):
        op.execute(f"ALTER TABLE work_order_lines DROP COLUMN {column}")
