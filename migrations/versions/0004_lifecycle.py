"""Subscription lifecycle: processed Stripe events and the subscription's own clock.

Revision ID: 0004
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

from flowtrack.ops.schema import tenant_table

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


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
    tenant_table(op, "stripe_events", app_grants="")


def downgrade() -> None:
    op.drop_table("stripe_events")
    op.drop_column("companies", "subscription_state_at")
