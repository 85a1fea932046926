"""Where a company stands in its subscription's life: paid, read-only in grace, or due for the sweep.

The clock starts when the paid period ends (`deletion_clock_starts_at`); for `GRACE_DAYS` the company can
sign in, view and export but not change anything; then the daily sweep (flowtrack/lifecycle) anonymizes it.
"""
from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import sqlalchemy.orm as so

from flowtrack.models.companies import Company, CompanyMoving, CompanyReadOnly

GRACE_DAYS = 30  # the same for every company, by promise; not a setting
GRACE = dt.timedelta(days=GRACE_DAYS)

# jobs/cron.py runs the sweep daily at this hour in this time zone.
SWEEP_HOUR = 4
SWEEP_TIMEZONE = "America/Los_Angeles"


def deletion_date(company: Company) -> dt.datetime | None:
    """The moment grace expires, or None while no cancellation is scheduled."""
    clock = company.deletion_clock_starts_at
    return clock + GRACE if clock is not None else None


def grace_started(company: Company, now: dt.datetime) -> bool:
    """The paid period has ended: the company is read-only."""
    clock = company.deletion_clock_starts_at
    return clock is not None and clock <= now


def grace_expired(company: Company, now: dt.datetime) -> bool:
    """Grace is over: the sweep may anonymize the company (if its subscription is canceled)."""
    due = deletion_date(company)
    return due is not None and due <= now


def scheduled_deletion(company: Company) -> dt.datetime | None:
    """The daily sweep run that will anonymize the company: the first one at or after its deletion date."""
    due = deletion_date(company)
    if due is None:
        return None
    zone = zoneinfo.ZoneInfo(SWEEP_TIMEZONE)
    local = due.astimezone(zone)
    run = dt.datetime.combine(local.date(), dt.time(SWEEP_HOUR), tzinfo=zone)
    if run < local:
        run = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(SWEEP_HOUR), tzinfo=zone)
    return run


def refuse_writes(session: so.Session, company_id: uuid.UUID, now: dt.datetime) -> None:
    """Raise CompanyReadOnly if the company is in grace or moving (for background jobs that would write)."""
    company = session.get(Company, company_id)
    if company is None:
        return
    if company.moving_to is not None:
        raise CompanyMoving(company)
    if grace_started(company, now):
        raise CompanyReadOnly(f"company {company_id} is read-only since {company.deletion_clock_starts_at:%Y-%m-%d}: "
                              "its subscription has ended")
