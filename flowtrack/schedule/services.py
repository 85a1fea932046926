"""Booking work orders for technicians: the week board, moves on it, conflicts, and a technician's day.

Times are stored in UTC and meant in the company's time zone: a job "Tuesday 9:00-11:00" is 9:00 on the
wall clocks of the company's town, whether or not the clocks changed on Sunday. Conflicts (double booking,
no valid certification, outside working hours) do not stop a booking; they are shown on the board and in
the answer to the move, so the office decides with them in view. Refused outright are moves the work order
cannot take: into the past, of a closed work order, or of a job already under way.
"""
from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.companies.services import company_timezone
from flowtrack.core.db import lock_for_change, utcnow
from flowtrack.models.accounts import Profile
from flowtrack.models.customers import Customer, CustomerLocation
from flowtrack.models.scheduling import ScheduledJob, WorkOrder, WorkOrderDevice, WorkOrderStatus
from flowtrack.schedule import routing
from flowtrack.work_orders import services as work_orders
from flowtrack.work_orders.bookings import (
    conflicts,
    day_bounds,
    local_day,
    overlapping,
    technicians,
)
from flowtrack.work_orders.services import WorkRefused

# A job dropped on the board without a time gets this long a window, after the day's last job.
DEFAULT_JOB_LENGTH = dt.timedelta(hours=2)
UNSCHEDULED_SHOWN = 100


class MoveRefused(WorkRefused):
    """A booking or move that cannot be made; the board stays as it was."""


# --- time ------------------------------------------------------------------------------------------------

def at_local(day: dt.date, time: dt.time, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The UTC moment of a wall-clock time on a day; refuses a time the clocks skip (spring forward)."""
    local = dt.datetime.combine(day, time, zone)
    if local.astimezone(dt.timezone.utc).astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise MoveRefused(f"{time:%H:%M} does not exist on {day:%b %-d} (the clocks change); choose another time.")
    return local.astimezone(dt.timezone.utc)


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


@dataclass(frozen=True)
class Window:
    starts_at: dt.datetime
    ends_at: dt.datetime

    @classmethod
    def local(cls, day: dt.date, start: dt.time, end: dt.time, zone: zoneinfo.ZoneInfo) -> Window:
        if end <= start:
            raise MoveRefused("The window must end after it starts.")
        return cls(at_local(day, start, zone), at_local(day, end, zone))


def _technician(session: so.Session, user_id: uuid.UUID) -> Profile:
    profile = next((p for p in technicians(session) if p.user_id == user_id), None)
    if profile is None:
        raise MoveRefused("Choose an active technician of your company.")
    return profile


# --- the board -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Card:
    """What the board shows of a work order, and of its job once booked. Read as plain rows: a week holds
    hundreds of cards, and ORM objects for them (with their devices) cost more than the rest of the page."""
    order_id: uuid.UUID
    status: str
    customer_name: str
    address_line1: str
    city: str
    device_count: int
    job_id: uuid.UUID | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    conflicts: list[str] = field(default_factory=list)


@dataclass
class Board:
    monday: dt.date
    today: dt.date
    zone: zoneinfo.ZoneInfo
    technicians: list[Profile]
    cells: dict[tuple[uuid.UUID, dt.date], list[Card]] = field(default_factory=dict)
    unscheduled: list[Card] = field(default_factory=list)

    @property
    def days(self) -> list[dt.date]:
        return [self.monday + dt.timedelta(days=n) for n in range(7)]

    def cell(self, technician_id: uuid.UUID, day: dt.date) -> list[Card]:
        return self.cells.get((technician_id, day), [])

    @property
    def conflict_count(self) -> int:
        return sum(1 for cards in self.cells.values() for card in cards if card.conflicts)


def _cards_of_orders() -> sa.Select:
    device_count = (sa.select(sa.func.count(WorkOrderDevice.id))
                    .where(WorkOrderDevice.work_order_id == WorkOrder.id).scalar_subquery())
    return (sa.select(WorkOrder.id.label("order_id"), WorkOrder.status, Customer.name.label("customer_name"),
                      CustomerLocation.address_line1, CustomerLocation.city, device_count.label("device_count"))
            .join(Customer, WorkOrder.customer).join(CustomerLocation, WorkOrder.location))


def week_board(session: so.Session, monday: dt.date, today: dt.date) -> Board:
    """The week's jobs by technician and day, with their conflicts, and the open work orders still to book.
    A fixed handful of queries, whatever the number of jobs."""
    zone = company_timezone(session)
    start, end = day_bounds(monday, 7, zone)
    jobs = session.execute(
        _cards_of_orders().add_columns(ScheduledJob.id, ScheduledJob.technician_id, ScheduledJob.starts_at,
                                       ScheduledJob.ends_at)
        .join(ScheduledJob, ScheduledJob.work_order_id == WorkOrder.id)
        .where(*overlapping(start, end))
        .order_by(ScheduledJob.route_position, ScheduledJob.starts_at)).all()
    rows = technicians(session)
    active = {p.user_id for p in rows}
    profiles = {p.user_id: p for p in rows}
    missing = {job.technician_id for job in jobs} - active
    if missing:
        profiles.update({p.user_id: p for p in session.scalars(sa.select(Profile).where(Profile.user_id.in_(missing)))})
        rows = rows + sorted((profiles[m] for m in missing if m in profiles), key=lambda p: p.full_name)
    found = conflicts(jobs, profiles, zone, inactive=missing)
    board = Board(monday=monday, today=today, zone=zone, technicians=rows)
    for job in jobs:
        board.cells.setdefault((job.technician_id, local_day(job.starts_at, zone)), []).append(Card(
            job.order_id, job.status, job.customer_name, job.address_line1, job.city, job.device_count,
            job_id=job.id, starts_at=job.starts_at, ends_at=job.ends_at, conflicts=found.get(job.id, [])))
    board.unscheduled = [Card(**row._mapping) for row in session.execute(
        _cards_of_orders().where(WorkOrder.status == WorkOrderStatus.open.value)
        .order_by(WorkOrder.created_at, WorkOrder.id).limit(UNSCHEDULED_SHOWN))]
    return board


# --- booking and moving ----------------------------------------------------------------------------------

def _job_snapshot(job: ScheduledJob) -> dict:
    return {"technician": str(job.technician_id), "starts_at": job.starts_at, "ends_at": job.ends_at}


def _refuse_closed(order: WorkOrder) -> None:
    status = WorkOrderStatus(order.status)
    if status.closed:
        raise MoveRefused(f"This work order is {status.label.lower()}; it cannot be booked or moved.")
    if status == WorkOrderStatus.in_progress:
        raise MoveRefused("This job is under way; it cannot be moved.")


def _refuse_past(window: Window, zone: zoneinfo.ZoneInfo, today: dt.date) -> None:
    if local_day(window.starts_at, zone) < today:
        raise MoveRefused("That day is in the past; choose today or a later day.")


def _last_position(session: so.Session, technician_id: uuid.UUID, day: dt.date, zone: zoneinfo.ZoneInfo) -> int:
    start, end = day_bounds(day, 1, zone)
    return session.scalar(sa.select(sa.func.coalesce(sa.func.max(ScheduledJob.route_position), -1))
                          .where(ScheduledJob.technician_id == technician_id, ScheduledJob.starts_at >= start,
                                 ScheduledJob.starts_at < end))


def book(session: so.Session, order: WorkOrder, technician_id: uuid.UUID, window: Window, *,
         today: dt.date) -> ScheduledJob:
    """Book an open work order for a technician; it goes last in their day's order."""
    zone = company_timezone(session)
    _refuse_closed(order)
    if order.job is not None:
        raise MoveRefused("This work order is booked already; move its job instead.")
    _refuse_past(window, zone, today)
    _technician(session, technician_id)
    last = _last_position(session, technician_id, local_day(window.starts_at, zone), zone)
    job = ScheduledJob(work_order_id=order.id, technician_id=technician_id, starts_at=window.starts_at,
                       ends_at=window.ends_at, route_position=last + 1)
    session.add(job)
    order.job = job
    before = order.status
    order.status = WorkOrderStatus.scheduled.value
    session.flush()
    audit.record(session, "job.booked", entity_type="scheduled_job", entity_id=job.id,
                 changes={**audit.changes_between({"status": before}, {**_job_snapshot(job), "status": order.status}),
                          "work_order": str(order.id)})
    return job


def move(session: so.Session, job: ScheduledJob, technician_id: uuid.UUID, window: Window, *,
         today: dt.date) -> ScheduledJob:
    """Reschedule and/or reassign a job; audited as what changed (a new day or time, a new technician)."""
    zone = company_timezone(session)
    _refuse_closed(job.work_order)
    _refuse_past(window, zone, today)
    if technician_id != job.technician_id:
        _technician(session, technician_id)
    before = _job_snapshot(job)
    new_day = (technician_id, local_day(window.starts_at, zone)) != (job.technician_id, local_day(job.starts_at, zone))
    if new_day:  # last in the new day's route (the drag's drop place and the form's order field then adjust it)
        job.route_position = _last_position(session, technician_id, local_day(window.starts_at, zone), zone) + 1
    job.technician_id, job.starts_at, job.ends_at = technician_id, window.starts_at, window.ends_at
    after = _job_snapshot(job)
    if after["technician"] != before["technician"]:
        audit.record(session, "job.assigned", entity_type="scheduled_job", entity_id=job.id,
                     changes=audit.changes_between({"technician": before["technician"]},
                                                   {"technician": after["technician"]}))
    if (after["starts_at"], after["ends_at"]) != (before["starts_at"], before["ends_at"]):
        audit.record(session, "job.rescheduled", entity_type="scheduled_job", entity_id=job.id,
                     changes=audit.changes_between({k: before[k] for k in ("starts_at", "ends_at")},
                                                   {k: after[k] for k in ("starts_at", "ends_at")}))
    session.flush()
    return job


def default_window(session: so.Session, technician: Profile, day: dt.date) -> Window:
    """Where a job dropped on a day without a time goes: after the day's last job, else at the day's start."""
    zone = company_timezone(session)
    start, end = day_bounds(day, 1, zone)
    last_end = session.scalar(sa.select(sa.func.max(ScheduledJob.ends_at)).where(
        ScheduledJob.technician_id == technician.user_id, ScheduledJob.starts_at >= start,
        ScheduledJob.starts_at < end))
    begins = max(last_end, at_local(day, technician.workday_starts, zone)) if last_end else \
        at_local(day, technician.workday_starts, zone)
    return Window(begins, begins + DEFAULT_JOB_LENGTH)


def auto_book(session: so.Session, orders: list[WorkOrder], day: dt.date, *, today: dt.date,
              technician_id: uuid.UUID | None = None) -> list[ScheduledJob]:
    """Book new work orders on a day: all for one technician, or each for whoever has the fewest jobs that day
    among those certified for it (ties by name). Each goes after that technician's last job."""
    zone = company_timezone(session)
    if technician_id is not None:
        candidates = [_technician(session, technician_id)]
    else:
        candidates = [p for p in technicians(session) if p.certification_valid_on(day)]
        if not candidates:
            raise MoveRefused(f"No technician has a valid certification on {day:%b %-d}; book them one by one.")
    start, end = day_bounds(day, 1, zone)
    load = dict(session.execute(sa.select(ScheduledJob.technician_id, sa.func.count()).where(
        ScheduledJob.starts_at >= start, ScheduledJob.starts_at < end).group_by(ScheduledJob.technician_id)).all())
    jobs = []
    for order in orders:
        technician = min(candidates, key=lambda p: (load.get(p.user_id, 0), p.full_name))
        jobs.append(book(session, order, technician.user_id, default_window(session, technician, day), today=today))
        load[technician.user_id] = load.get(technician.user_id, 0) + 1
    return jobs


def place(session: so.Session, order: WorkOrder, technician_id: uuid.UUID, day: dt.date, cell_order: list[uuid.UUID],
          *, today: dt.date) -> ScheduledJob:
    """A card dropped on the board: book it (after the day's last job) or move it (keeping its time of day),
    then put the cell's jobs in the order the cards now stand."""
    zone = company_timezone(session)
    technician = _technician(session, technician_id)
    if order.job is None:
        job = book(session, order, technician_id, default_window(session, technician, day), today=today)
    else:
        job = order.job
        begins = at_local(day, job.starts_at.astimezone(zone).time(), zone)
        window = Window(begins, begins + (job.ends_at - job.starts_at))
        if (technician_id, window) != (job.technician_id, Window(job.starts_at, job.ends_at)):
            move(session, job, technician_id, window, today=today)
    reorder(session, technician_id, day, cell_order)
    return job


def _day_route(session: so.Session, technician_id: uuid.UUID, day: dt.date) -> list[ScheduledJob]:
    zone = company_timezone(session)
    start, end = day_bounds(day, 1, zone)
    return list(session.scalars(sa.select(ScheduledJob).where(
        ScheduledJob.technician_id == technician_id, ScheduledJob.starts_at >= start, ScheduledJob.starts_at < end)
        .order_by(ScheduledJob.route_position, ScheduledJob.starts_at)))


def reorder(session: so.Session, technician_id: uuid.UUID, day: dt.date, work_order_ids: list[uuid.UUID]) -> None:
    """Set a technician's route for a day: the jobs of these work orders, in this order (others keep theirs,
    after them)."""
    jobs = _day_route(session, technician_id, day)
    rank = {order_id: index for index, order_id in enumerate(work_order_ids)}
    ordered = sorted(jobs, key=lambda j: (rank.get(j.work_order_id, len(rank)), j.route_position))
    before = [str(j.work_order_id) for j in jobs]
    for position, job in enumerate(ordered):
        job.route_position = position
    after = [str(j.work_order_id) for j in ordered]
    if after != before:
        audit.record(session, "job.reordered", entity_type="technician_day", entity_id=technician_id,
                     changes={"day": day.isoformat(),
                              **audit.changes_between({"work_orders": before}, {"work_orders": after})})
    session.flush()


def reorder_to(session: so.Session, job: ScheduledJob, index: int) -> None:
    """Put a job at a place (0 first) in its technician's route for its day."""
    day = local_day(job.starts_at, company_timezone(session))
    route = [j.work_order_id for j in _day_route(session, job.technician_id, day) if j.id != job.id]
    route.insert(min(index, len(route)), job.work_order_id)
    reorder(session, job.technician_id, day, route)


# --- the technician's day --------------------------------------------------------------------------------

def get_job(session: so.Session, job_id: uuid.UUID, *, technician_user_id: uuid.UUID | None = None,
            for_update: bool = False) -> ScheduledJob | None:
    """A job with its work order, place and devices; a technician gets only their own. `for_update` locks the job
    and its work order first, for a request that changes them (`lock_for_change`)."""
    statement = sa.select(ScheduledJob).where(ScheduledJob.id == job_id).options(
        so.joinedload(ScheduledJob.work_order).joinedload(WorkOrder.location).joinedload(CustomerLocation.customer),
        so.joinedload(ScheduledJob.work_order).selectinload(WorkOrder.devices).joinedload(WorkOrderDevice.device))
    if for_update:
        lock_for_change(session, sa.select(ScheduledJob.id, WorkOrder.id).join(ScheduledJob.work_order)
                        .where(ScheduledJob.id == job_id))
        statement = statement.execution_options(populate_existing=True)
    if technician_user_id is not None:
        statement = statement.where(ScheduledJob.technician_id == technician_user_id)
    return session.scalar(statement)


def day_jobs(session: so.Session, technician_id: uuid.UUID, day: dt.date) -> list[ScheduledJob]:
    """A technician's jobs on a day, in route order, with everything the day's page shows."""
    zone = company_timezone(session)
    start, end = day_bounds(day, 1, zone)
    return list(session.scalars(
        sa.select(ScheduledJob).where(ScheduledJob.technician_id == technician_id, ScheduledJob.starts_at >= start,
                                      ScheduledJob.starts_at < end)
        .options(so.joinedload(ScheduledJob.work_order).joinedload(WorkOrder.location)
                 .joinedload(CustomerLocation.customer),
                 so.joinedload(ScheduledJob.work_order).selectinload(WorkOrder.devices)
                 .joinedload(WorkOrderDevice.device))
        .order_by(ScheduledJob.route_position, ScheduledJob.starts_at)).unique())


def start_job(session: so.Session, job: ScheduledJob) -> None:
    order = job.work_order
    if order.status != WorkOrderStatus.scheduled.value:
        raise WorkRefused(f"This job is {WorkOrderStatus(order.status).label.lower()}; it cannot be started.")
    work_orders.start(session, order)


def complete_job(session: so.Session, job: ScheduledJob) -> None:
    order = job.work_order
    if order.status != WorkOrderStatus.in_progress.value:
        raise WorkRefused("Start the job before completing it.")
    work_orders.change_status(session, order, WorkOrderStatus.completed)
    job.completed_at = utcnow()
    audit.record(session, "job.completed", entity_type="scheduled_job", entity_id=job.id)


# --- the day on a map, and the order that shortens its driving --------------------------------------------------

class RouteRefused(MoveRefused):
    """The day's route cannot be ordered now (the message says why)."""


def placed(job: ScheduledJob) -> bool:
    """Whether the job's place has a position (from a test's phone, or typed by the office)."""
    place = job.work_order.location
    return place.latitude is not None and place.longitude is not None


def map_points(jobs: list[ScheduledJob], zone: zoneinfo.ZoneInfo) -> list[dict]:
    """The day's stops with a position, numbered in route order (a stop without one keeps its number), for the
    map's script."""
    return [{"n": number, "lat": job.work_order.location.latitude, "lng": job.work_order.location.longitude,
             "name": job.work_order.location.customer.name, "place": job.work_order.location.address_line1,
             "time": f"{job.starts_at.astimezone(zone):%H:%M}–{job.ends_at.astimezone(zone):%H:%M}",
             "done": WorkOrderStatus(job.work_order.status).closed}
            for number, job in enumerate(jobs, start=1) if placed(job)]


def _stop(job: ScheduledJob, day_starts: dt.datetime) -> routing.Stop:
    window = int((job.ends_at - job.starts_at).total_seconds())
    place = job.work_order.location
    return routing.Stop(str(job.id), place.latitude, place.longitude,
                        opens=int((job.starts_at - day_starts).total_seconds()),
                        closes=int((job.ends_at - day_starts).total_seconds()),
                        on_site=routing.on_site_seconds(len(job.work_order.devices), window))


@dataclass(frozen=True)
class RouteProposal:
    jobs: list[ScheduledJob]        # the day as the office ordered it
    proposed: list[ScheduledJob]    # the proposed order; a stop without a position keeps its place
    proposal: routing.Proposal
    unplaced: list[ScheduledJob]

    @property
    def late_now(self) -> list[ScheduledJob]:
        """The jobs the office's order reaches too late for their window."""
        return [job for job in self.jobs if str(job.id) in self.proposal.current_late]

    @property
    def was(self) -> dict[uuid.UUID, int]:
        """Each job's place in the office's order, from 1."""
        return {job.id: number for number, job in enumerate(self.jobs, start=1)}


def _orderable(jobs: list[ScheduledJob]) -> None:
    if any(WorkOrderStatus(job.work_order.status) != WorkOrderStatus.scheduled for job in jobs):
        raise RouteRefused("The day is under way (a job was started, done or canceled): its order stays as it is.")


def propose_route(session: so.Session, technician_id: uuid.UUID, day: dt.date) -> RouteProposal:
    """The order of the technician's day that shortens the driving between the stops with a position, keeping
    each job inside its booked window; RouteRefused says why there is none."""
    jobs = day_jobs(session, technician_id, day)
    _orderable(jobs)
    located = [job for job in jobs if placed(job)]
    if len(located) < 2:
        raise RouteRefused("Fewer than two of the day's stops have a position: there is no driving to shorten.")
    day_starts = dt.datetime.combine(day, dt.time(), company_timezone(session))
    proposal = routing.propose([_stop(job, day_starts) for job in located])
    if proposal is None:
        raise RouteRefused("No order reaches every stop inside its booked window at 40 km/h: move a job's window "
                           "on the board first.")
    by_key = {str(job.id): job for job in located}
    ordered = iter([by_key[key] for key in proposal.order])
    proposed = [next(ordered) if placed(job) else job for job in jobs]
    return RouteProposal(jobs, proposed, proposal, [job for job in jobs if not placed(job)])


def accept_route(session: so.Session, technician_id: uuid.UUID, day: dt.date, job_ids: list[uuid.UUID]) -> float:
    """The office accepts a proposed order: the day's jobs take it (`route_position`), audited with the distance it
    saves; returns the metres saved. Refused if the day changed since the proposal was made."""
    jobs = _day_route(session, technician_id, day)
    if sorted(job_ids) != sorted(job.id for job in jobs):
        raise RouteRefused("The day changed since the order was proposed: order it again.")
    jobs = day_jobs(session, technician_id, day)
    _orderable(jobs)
    rank = {job_id: index for index, job_id in enumerate(job_ids)}
    ordered = sorted(jobs, key=lambda job: rank[job.id])
    day_starts = dt.datetime.combine(day, dt.time(), company_timezone(session))
    before = routing.length_m([_stop(job, day_starts) for job in jobs if placed(job)])
    after = routing.length_m([_stop(job, day_starts) for job in ordered if placed(job)])
    for position, job in enumerate(ordered):
        job.route_position = position
    session.flush()
    audit.record(session, "job.route_ordered", entity_type="technician_day", entity_id=technician_id,
                 changes={"day": day.isoformat(), "km_saved": round((before - after) / 1000, 1),
                          **audit.changes_between({"work_orders": [str(j.work_order_id) for j in jobs]},
                                                  {"work_orders": [str(j.work_order_id) for j in ordered]})})
    return before - after
