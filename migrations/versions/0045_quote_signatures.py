"""A company may ask its customers to sign quotes by hand: the setting, and the drawn signature kept with an approved
quote (the key of its PNG in the file store, `<company>/signatures/quote-<id>-v<version>.png`).

Revision ID: 0045
Revises: 0044
"""
from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE company_settings ADD COLUMN quote_signature_required boolean NOT NULL DEFAULT false")
    op.execute("ALTER TABLE quotes ADD COLUMN approved_signature_key varchar(200)")


def downgrade() -> None:
    op.execute("ALTER TABLE quotes DROP COLUMN approved_signature_key")
    op.execute("ALTER TABLE company_settings DROP COLUMN quote_signature_required")
