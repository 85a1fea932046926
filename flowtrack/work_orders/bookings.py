"""A job's place in time and what can be wrong with it: double-booked, outside the technician's working hours,
or on a day without a valid tester certification. The board (flowtrack/schedule) shows these beside each job,
and a work order's page beside its booking."""
from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.companies.services import company_timezone
from flowtrack.core.permissions import Role
from flowtrack.models.accounts import Profile, User
from flowtrack.models.scheduling import LONGEST_JOB_HOURS, ScheduledJob


def local_day(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.date:
    return moment.astimezone(zone).date()


def day_bounds(first: dt.date, days: int, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC moments between which these local days lie (a DST day is 23 or 25 hours long)."""
    return (dt.datetime.combine(first, dt.time(), zone),
            dt.datetime.combine(first + dt.timedelta(days=days), dt.time(), zone))


def overlapping(start: dt.datetime, end: dt.datetime) -> tuple:
    """Conditions for the jobs that overlap [start, end). The third follows from the first two and the
    longest job; it gives the index on starts_at a range to find them in, rather than every earlier job."""
    return (ScheduledJob.starts_at < end, ScheduledJob.ends_at > start,
            ScheduledJob.starts_at > start - dt.timedelta(hours=LONGEST_JOB_HOURS))


def technicians(session: so.Session) -> list[Profile]:
    """The company's active technicians, by name: the board's rows and the choices for a booking."""
    return list(session.scalars(sa.select(Profile).join(User, User.id == Profile.user_id)
                                .where(Profile.role == Role.technician.value, User.is_active.is_(True))
                                .order_by(Profile.full_name, Profile.id)))


def profile_of(session: so.Session, user_id: uuid.UUID) -> Profile | None:
    return session.scalar(sa.select(Profile).where(Profile.user_id == user_id))


class Booking(Protocol):
    """A job's place in time: a ScheduledJob, or a row with the same columns."""
    id: uuid.UUID
    technician_id: uuid.UUID
    starts_at: dt.datetime
    ends_at: dt.datetime


def conflicts(jobs: Sequence[Booking], profiles: dict[uuid.UUID, Profile], zone: zoneinfo.ZoneInfo,
              inactive: set[uuid.UUID] = frozenset()) -> dict[uuid.UUID, list[str]]:
    """What is wrong with each job, given all the jobs of the same technicians around it."""
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    by_technician: dict[uuid.UUID, list[Booking]] = defaultdict(list)
    for job in jobs:
        by_technician[job.technician_id].append(job)
    for technician_id, own in by_technician.items():
        profile = profiles.get(technician_id)
        own.sort(key=lambda j: j.starts_at)
        for index, job in enumerate(own):
            for other in own[index + 1:]:
                if other.starts_at >= job.ends_at:
                    break
                found[job.id].append("Double-booked: overlaps another job")
                found[other.id].append("Double-booked: overlaps another job")
            if profile is None or technician_id in inactive:
                found[job.id].append("The technician is no longer active")
                continue
            day = local_day(job.starts_at, zone)
            if not profile.certification_valid_on(day):
                found[job.id].append("No valid tester certification on that day")
            start, end = job.starts_at.astimezone(zone), job.ends_at.astimezone(zone)
            if start.time() < profile.workday_starts or end.date() != day or end.time() > profile.workday_ends:
                found[job.id].append(f"Outside working hours ({profile.workday_starts:%H:%M}–"
                                     f"{profile.workday_ends:%H:%M})")
    return {job_id: list(dict.fromkeys(messages)) for job_id, messages in found.items()}


def conflicts_of(session: so.Session, job: ScheduledJob) -> list[str]:
    """The conflicts of one job, judged against its technician's other jobs that day."""
    zone = company_timezone(session)
    start, end = day_bounds(local_day(job.starts_at, zone), 1, zone)
    same_day = list(session.scalars(sa.select(ScheduledJob).where(
        ScheduledJob.technician_id == job.technician_id, *overlapping(start, end))))
    profile = profile_of(session, job.technician_id)
    profiles = {profile.user_id: profile} if profile else {}
    active = {p.user_id for p in technicians(session)}
    return conflicts(same_day, profiles, zone, inactive=set(profiles) - active).get(job.id, [])
