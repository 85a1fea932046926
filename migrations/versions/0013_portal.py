"""The customer portal: a portal user's profile names the customer account they belong to; one-time sign-in
links; a company's own Stripe (Connect) account, where its customers' online payments go.

Revision ID: 0013
Revises: 0012
"""
import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")


def upgrade() -> None:
    op.add_column("profiles", sa.Column("customer_id", UUID(as_uuid=True)))
    # NOT VALID: every existing row is NULL, and checking them would run the owner's query under row-level
    # security, which only a session's tenant may pass. New and changed rows are checked as usual.
    op.execute("ALTER TABLE profiles ADD CONSTRAINT profiles_customer_id_fkey FOREIGN KEY (customer_id) "
               "REFERENCES customers (id) NOT VALID")
    op.create_index("profiles_customer_idx", "profiles", ["company_id", "customer_id"])
    op.drop_constraint("account_tokens_purpose_check", "account_tokens")
    op.create_check_constraint("account_tokens_purpose_check", "account_tokens",
                               "purpose IN ('invite', 'password_reset', 'sign_in_link')")
    op.add_column("companies", sa.Column("stripe_account_id", sa.String(255)))
    op.execute(f'GRANT UPDATE (stripe_account_id) ON companies TO "{ROLE_APP}"')


def downgrade() -> None:
    op.execute("DELETE FROM account_tokens WHERE purpose = 'sign_in_link'")
    op.drop_constraint("account_tokens_purpose_check", "account_tokens")
    op.create_check_constraint("account_tokens_purpose_check", "account_tokens",
                               "purpose IN ('invite', 'password_reset')")
    op.drop_column("companies", "stripe_account_id")
    op.drop_index("profiles_customer_idx", "profiles")
    op.drop_column("profiles", "customer_id")
