"""A payment typed in by the office keeps the key of the form it was typed in (`payments.form_key`), once a
company: the same form sent twice (a double click) records one payment. It recorded two whenever both fitted in
what the invoice still asked for, a part payment above all, and the invoice then said more was paid than came in
(found by bench/soak.py).

Revision ID: 0037
Revises: 0036
"""
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE payments ADD COLUMN form_key uuid")
    op.execute("CREATE UNIQUE INDEX payments_form_key_idx ON payments (company_id, form_key) "
               "WHERE form_key IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX payments_form_key_idx")
    op.execute("ALTER TABLE payments DROP COLUMN form_key")
