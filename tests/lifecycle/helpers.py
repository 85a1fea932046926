"""Put a company at a point of its subscription's life, as the Stripe webhook would have left it."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from flowtrack.models.companies import Company


def set_subscription(app, company_id, *, status: str, clock: dt.datetime | None, cancel_at_period_end: bool = True):
    with app.extensions["flowtrack.db"].service() as session:
        session.execute(sa.update(Company).where(Company.id == company_id).values(
            subscription_status=status, cancel_at_period_end=cancel_at_period_end, current_period_end=clock,
            deletion_clock_starts_at=clock))
        session.commit()


def schedule_cancellation(app, company_id, *, ends_in: dt.timedelta) -> dt.datetime:
    """Cancelled at the period's end, which is still ahead: fully usable, banner shown."""
    clock = dt.datetime.now(dt.timezone.utc) + ends_in
    set_subscription(app, company_id, status="active", clock=clock)
    return clock


def end_subscription(app, company_id, *, ago: dt.timedelta) -> dt.datetime:
    """The paid period ended `ago` and Stripe ended the subscription: read-only (or anonymizable after 30 days)."""
    clock = dt.datetime.now(dt.timezone.utc) - ago
    set_subscription(app, company_id, status="canceled", clock=clock)
    return clock
