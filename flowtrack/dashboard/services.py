"""What each role's dashboard shows."""
from __future__ import annotations

import datetime as dt
import functools
import json
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.booking import services as booking
from flowtrack.core.cache import kept
from flowtrack.core.permissions import Role
from flowtrack.due.services import due_counts
from flowtrack.inventory import services as inventory
from flowtrack.invoices.services import OPEN
from flowtrack.models.accounts import Profile, User
from flowtrack.models.audit import AuditEntry
from flowtrack.models.companies import CompanySettings
from flowtrack.models.customers import Customer, DeviceVersion, District, Gauge
from flowtrack.models.invoicing import Invoice, PriceItem
from flowtrack.models.scheduling import ScheduledJob, ScheduleVersion
from flowtrack.service_requests import services as service_requests
from flowtrack.submissions import services as submissions
from flowtrack.work_orders.bookings import day_bounds, overlapping


def team(session: so.Session) -> list[tuple[Profile, User]]:
    """The company's people, staff first."""
    return list(session.execute(
        sa.select(Profile, User).join(User, User.id == Profile.user_id).order_by(Profile.role, Profile.full_name)
    ))


def technicians_certification(people: list[tuple[Profile, User]], today: dt.date) -> list[dict]:
    """Each technician's certification, by name, from the team as `team` reads it (by name within a role)."""
    return [certification_status(profile, today) for profile, _ in people if profile.role == Role.technician.value]


def certification_status(profile: Profile, today: dt.date) -> dict:
    expires = profile.certification_expires_on
    if not profile.certification_number or expires is None:
        state = "missing"
    elif expires < today:
        state = "expired"
    elif expires <= today + dt.timedelta(days=30):
        state = "expiring"
    else:
        state = "valid"
    return {"name": profile.full_name, "number": profile.certification_number, "expires_on": expires, "state": state}


def devices_due(session: so.Session, today: dt.date) -> dict[str, int]:
    """How many active devices are overdue, due within 30 days, failed, and due by the month's end but not yet
    booked. Counting them reads an index entry for each (27,000 in the large benchmark company, 3 ms of the
    database's time), so the counts are kept until a device of the company changes (its counter, migration 0022),
    its work orders do (whether a device is booked: the schedule's counter, migration 0021, moved by every change
    of a work order, of its devices, and of the company's time zone) or the company's day does."""
    devices, schedule = session.execute(sa.select(
        sa.select(DeviceVersion.version).scalar_subquery(), sa.select(ScheduleVersion.version).scalar_subquery())).one()
    key = f"flowtrack:devices-due:{session.info['company_id']}:{today.isoformat()}:{devices or 0}:{schedule or 0}"
    return json.loads(kept(key, lambda: json.dumps(due_counts(session, today))))


SOON = dt.timedelta(days=30)


# A new company's first steps, each done once its records exist (the dashboard lists what is left).
SETUP_STEPS = {
    "details": sa.select(CompanySettings.company_id).where(CompanySettings.address.is_not(None)),
    "districts": sa.select(District.id),
    "kits": sa.select(Gauge.id),
    "prices": sa.select(PriceItem.id),
    "team": sa.select(Profile.id).where(Profile.role.not_in((Role.company_admin.value, Role.auditor.value,
                                                             Role.customer.value, Role.requester.value,
                                                             Role.district_admin.value))),
    "customers": sa.select(Customer.id),
}


def office_summary(session: so.Session, today: dt.date) -> dict:
    """In one statement: the invoices past their due date (how many, how much is still owed), the test kits whose
    calibration runs out within 30 days, the customers' service requests and online bookings waiting for an answer,
    the test reports past their district's deadline, held back or rejected,
    the parts' stock levels below zero or on the reorder list, and which set-up steps a new company has done."""
    return dict(session.execute(_summary(), {"today": today, "soon": today + SOON}).one()._mapping)


@functools.cache
def _summary() -> sa.Select:
    """The summary's statement, built once with the day as a parameter: building a statement of a dozen subqueries
    and its cache key costs several times what PostgreSQL takes to run it."""
    today, soon = sa.bindparam("today", type_=sa.Date), sa.bindparam("soon", type_=sa.Date)
    overdue = (sa.select((Invoice.total_cents - Invoice.paid_cents).label("owed"))
               .where(Invoice.status.in_(OPEN), Invoice.due_on < today).subquery())
    return sa.select(
        sa.select(sa.func.count()).select_from(overdue).scalar_subquery().label("overdue_invoices"),
        sa.select(sa.cast(sa.func.coalesce(sa.func.sum(overdue.c.owed), 0), sa.BigInteger))  # cents, not numeric
        .scalar_subquery().label("overdue_cents"),
        _kits_due(soon).scalar_subquery().label("kits_due"),
        service_requests.waiting().scalar_subquery().label("requests_waiting"),
        booking.awaiting().scalar_subquery().label("bookings_waiting"),
        submissions.overdue(today).scalar_subquery().label("reports_overdue"),
        submissions.held().scalar_subquery().label("reports_held"),
        submissions.open_rejections().scalar_subquery().label("reports_rejected"),
        inventory.below_zero().scalar_subquery().label("stock_negative"),
        inventory.at_or_below_low().scalar_subquery().label("stock_low"),
        *(sa.exists(statement).label(step) for step, statement in SETUP_STEPS.items()))


def kits_due(session: so.Session, today: dt.date) -> int:
    """How many test kits in use need calibrating within 30 days."""
    return session.scalar(_kits_due(today + SOON))


def _kits_due(by) -> sa.Select:
    return sa.select(sa.func.count()).select_from(Gauge).where(Gauge.calibration_due_on <= by,
                                                               Gauge.retired_on.is_(None))


def todays_work(session: so.Session, today: dt.date, zone) -> list[dict]:
    """Each technician's jobs today: how many, and how many are done."""
    start, end = day_bounds(today, 1, zone)
    rows = session.execute(
        sa.select(Profile.full_name, sa.func.count(), sa.func.count().filter(ScheduledJob.completed_at.is_not(None)))
        .join(Profile, Profile.user_id == ScheduledJob.technician_id)
        .where(*overlapping(start, end)).group_by(Profile.full_name).order_by(Profile.full_name))
    return [{"technician": name, "jobs": jobs, "done": done} for name, jobs, done in rows]


def recent_activity(session: so.Session, limit: int = 10) -> list[AuditEntry]:
    return list(session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)))


def own_profile(session: so.Session, profile_id: uuid.UUID) -> Profile | None:
    return session.get(Profile, profile_id)
