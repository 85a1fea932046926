"""Subscription lifecycle: processed Stripe events and the subscription's own clock.

Revision ID: 0004
Revises: 0001
"""
import os

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004"
down_revision = "0001"
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
    # When Stripe produced the subscription state the row holds: an older event never overwrites a newer one.
    op.add_column("companies", sa.Column("subscription_state_at", TS))
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        # NULL when the event matched no company.
        sa.Column("company_id", UUID(as_uuid=True), sa.ForeignKey("companies.id"), index=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.CheckConstraint("outcome IN ('applied', 'unchanged', 'stale', 'unmatched', 'ignored')",
                           name="stripe_events_outcome_check"),
    )
    # Only the service role (the webhook) touches it; the app role gets no grant at all.
    _tenant_table("stripe_events", app_grants="")


def downgrade() -> None:
    op.drop_table("stripe_events")
    op.drop_column("companies", "subscription_state_at")
