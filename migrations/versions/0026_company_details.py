"""The company's own details for what its customers read: its address, phone and email on invoices and in the
portal, and where checks are mailed (the remit-to address, when it is not the company's address).

Revision ID: 0026
Revises: 0025
"""
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE company_settings ADD COLUMN address varchar(500)")
    op.execute("ALTER TABLE company_settings ADD COLUMN phone varchar(40)")
    op.execute("ALTER TABLE company_settings ADD COLUMN email varchar(254)")
    op.execute("ALTER TABLE company_settings ADD COLUMN remit_to varchar(500)")


def downgrade() -> None:
    for column in ("remit_to", "email", "phone", "address"):
        op.execute(f"ALTER TABLE company_settings DROP COLUMN {column}")
