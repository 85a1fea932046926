"""Online booking: the office opens windows (a technician's morning, afternoon or whole day, for so many visits,
optionally only for places in some cities or ZIP codes); a customer books one for their assemblies coming due.

A booking goes straight on the board (a test work order for the assemblies, booked for the window's technician)
or, where the company asks for it, waits for the office to confirm or decline it; the customer is emailed either
way. Booking locks the window's row and counts the visits it holds, so of two customers taking its last place at
the same moment one gets it and the other is told it is gone. A device is booked once: not while it is on an
unfinished work order or in a booking waiting for the office. Every step is audited.

With room for several visits, a window is shared out on the board: each booking takes the first free equal part of
it, so the technician's visits do not overlap; the customer is told the whole window, their arrival window.
"""
from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.companies.services import company_timezone, settings_of
from flowtrack.core.db import lock_company_chain, lock_for_change, utcnow
from flowtrack.due import services as due
from flowtrack.models.accounts import Profile, User
from flowtrack.models.booking import Booking, BookingStatus, BookingWindow, DayPart
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer, CustomerLocation, Device
from flowtrack.models.scheduling import ScheduledJob, WorkKind, WorkOrder, WorkOrderDevice, WorkOrderStatus
from flowtrack.notifications import services as outbox
from flowtrack.notifications.links import external_url
from flowtrack.schedule import services as schedule
from flowtrack.work_orders import services as work_orders
from flowtrack.work_orders.bookings import technicians

HORIZON_DAYS = 90      # a customer books a test for assemblies overdue or due within this many days (or more)
WEEKS_OFFERED = 8      # a customer sees the windows from tomorrow to this many weeks ahead
MAX_RANGE_DAYS = 92    # the office opens windows for at most this many days at once
NOON = dt.time(12)


class NotYours(Exception):
    """A place, device or window that is not the customer's to book (another's, another company's): not found."""


class BookingRefused(Exception):
    """The booking does not hold together (no assembly, one not due or already booked); the message says why."""


class WindowGone(Exception):
    """The window chosen can no longer take this booking (full, closed, past); the message says so."""


class AlreadyDecided(Exception):
    """The office answered this booking meanwhile (someone else): nothing changes."""


# --- windows: times and areas (pure) --------------------------------------------------------------------

def part_times(profile: Profile, part: DayPart) -> tuple[dt.time, dt.time] | None:
    """The wall-clock times of a part of a technician's working day; None when their day has no such part (a
    morning for someone who starts at noon)."""
    start, end = {DayPart.morning: (profile.workday_starts, NOON), DayPart.afternoon: (NOON, profile.workday_ends),
                  DayPart.day: (profile.workday_starts, profile.workday_ends)}[part]
    return (start, end) if start < end else None


def parse_area(text: str | None) -> list[str]:
    """"Eugene, Springfield; 97477" -> ["eugene", "springfield", "97477"]: where a window may be booked for, as the
    places' cities and ZIP codes are matched (case aside); nothing typed: anywhere."""
    terms = [" ".join(term.split()).lower() for term in (text or "").replace(";", ",").replace("\n", ",").split(",")]
    found = list(dict.fromkeys(term for term in terms if term))
    if any(len(term) > 100 for term in found):
        raise BookingRefused("Each city or ZIP code is at most 100 characters.")
    if len(found) > 30:
        raise BookingRefused("At most 30 cities or ZIP codes.")
    return found


def serves(window: BookingWindow, location: CustomerLocation) -> bool:
    """Whether a window may be booked for a place: it names no area, or the place's city or ZIP code is in it."""
    if not window.area:
        return True
    return location.city.strip().lower() in window.area or location.postal_code.strip()[:5] in window.area


def window_label(window: BookingWindow, zone: zoneinfo.ZoneInfo) -> str:
    """"Tuesday, March 3, morning (07:00–12:00 PST)", as the customer and the emails read a window."""
    start, end = window.starts_at.astimezone(zone), window.ends_at.astimezone(zone)
    return (f"{start:%A}, {start:%B} {start.day}, {window.part_label.lower()} "
            f"({start:%H:%M}–{end:%H:%M} {start:%Z})")


# --- the office: opening and closing windows ------------------------------------------------------------

@dataclass
class Opened:
    windows: list[BookingWindow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why some days got no window, in words


def open_windows(session: so.Session, *, technician_id: uuid.UUID, first: dt.date, last: dt.date,
                 weekdays: set[int], parts: list[DayPart], capacity: int, area: list[str],
                 opened_by: uuid.UUID | None, today: dt.date) -> Opened:
    """Open a technician's windows on the chosen weekdays (0 Monday) from `first` to `last`: each part of the day
    asked for, within their working hours. A window the technician already has open at an overlapping time is
    skipped (said in `skipped`), so the same range opened twice opens nothing more."""
    if last < first:
        raise BookingRefused("The last day comes before the first.")
    if first <= today:
        raise BookingRefused("Open windows from tomorrow on: today's work is the office's to plan.")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise BookingRefused(f"Open at most {MAX_RANGE_DAYS} days at once.")
    profile = next((p for p in technicians(session) if p.user_id == technician_id), None)
    if profile is None:
        raise BookingRefused("Choose an active technician of your company.")
    zone = company_timezone(session)
    lock_company_chain(session, session.info["company_id"])  # two people opening the same days take turns
    existing = list(session.scalars(sa.select(BookingWindow).where(
        BookingWindow.technician_id == technician_id, BookingWindow.closed_at.is_(None),
        BookingWindow.day.between(first, last))))
    opened = Opened()
    day = first
    while day <= last:
        if day.weekday() in weekdays:
            for part in parts:
                times = part_times(profile, part)
                if times is None:
                    opened.skipped.append(f"{day:%a %b} {day.day}: no {part.label.lower()} in "
                                          f"{profile.full_name}'s working hours")
                    continue
                try:
                    span = schedule.Window.local(day, *times, zone)
                except schedule.MoveRefused as refused:
                    opened.skipped.append(f"{day:%a %b} {day.day}: {refused}")
                    continue
                if any(w.starts_at < span.ends_at and w.ends_at > span.starts_at for w in existing):
                    opened.skipped.append(f"{day:%a %b} {day.day}, {part.label.lower()}: already open")
                    continue
                window = BookingWindow(id=uuid.uuid4(), technician_id=technician_id, day=day, part=part.value,
                                       starts_at=span.starts_at, ends_at=span.ends_at, capacity=capacity,
                                       area=area, opened_by=opened_by, opened_at=utcnow())
                existing.append(window)
                opened.windows.append(window)
        day += dt.timedelta(days=1)
    session.add_all(opened.windows)
    session.flush()
    audit.record_many(session, [audit.Event("booking_window.opened", "booking_window", window.id, {
        "technician": profile.full_name, "day": window.day, "part": window.part, "starts_at": window.starts_at,
        "ends_at": window.ends_at, "capacity": window.capacity, "area": window.area}) for window in opened.windows])
    return opened


def close_window(session: so.Session, window: BookingWindow, user_id: uuid.UUID) -> bool:
    """No more bookings in it; those made stay as they are. False when it was closed already."""
    if window.closed_at is not None:
        return False
    window.closed_at, window.closed_by = utcnow(), user_id
    session.flush()
    audit.record(session, "booking_window.closed", entity_type="booking_window", entity_id=window.id,
                 changes={"day": window.day, "part": window.part, "technician": str(window.technician_id)})
    return True


def get_window(session: so.Session, window_id: uuid.UUID, *, for_update: bool = False) -> BookingWindow | None:
    statement = sa.select(BookingWindow).where(BookingWindow.id == window_id)
    if for_update:
        lock_for_change(session, sa.select(BookingWindow.id).where(BookingWindow.id == window_id))
        statement = statement.execution_options(populate_existing=True)
    return session.scalar(statement)


def save_confirmation_setting(session: so.Session, *, need_confirmation: bool) -> bool:
    """Whether customers' bookings wait for the office (True) or go straight on the board; audited. True when it
    changed."""
    settings = settings_of(session)
    if settings.bookings_need_confirmation == need_confirmation:
        return False
    before = settings.bookings_need_confirmation
    settings.bookings_need_confirmation = need_confirmation
    settings.updated_at = utcnow()
    session.add(settings)
    session.flush()
    audit.record(session, "settings.changed", entity_type="company", entity_id=session.info["company_id"],
                 changes=audit.changes_between({"bookings_need_confirmation": before},
                                               {"bookings_need_confirmation": need_confirmation}))
    return True


# --- what a window holds --------------------------------------------------------------------------------

def _holding() -> sa.ColumnElement[bool]:
    """The bookings that hold a place in their window: waiting for the office, or confirmed and not canceled since
    (the office canceling the work order gives the place back)."""
    canceled = sa.select(WorkOrder.status).where(WorkOrder.id == Booking.work_order_id).scalar_subquery()
    return sa.or_(Booking.status == BookingStatus.pending.value,
                  sa.and_(Booking.status == BookingStatus.confirmed.value,
                          canceled != WorkOrderStatus.canceled.value))


def taken(session: so.Session, window_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many places of each window are taken."""
    if not window_ids:
        return {}
    return dict(session.execute(sa.select(Booking.window_id, sa.func.count()).where(
        Booking.window_id.in_(window_ids), _holding()).group_by(Booking.window_id)).all())


@dataclass
class WindowRow:
    window: BookingWindow
    technician_name: str
    taken: int

    @property
    def left(self) -> int:
        return max(self.window.capacity - self.taken, 0)


def upcoming_windows(session: so.Session, today: dt.date, *, limit: int = 300) -> list[WindowRow]:
    """The open windows from today on, by day, time and technician, with how many places each has taken."""
    rows = session.execute(
        sa.select(BookingWindow, Profile.full_name).join(Profile, Profile.user_id == BookingWindow.technician_id)
        .where(BookingWindow.closed_at.is_(None), BookingWindow.day >= today)
        .order_by(BookingWindow.starts_at, Profile.full_name, BookingWindow.id).limit(limit)).all()
    counts = taken(session, [window.id for window, _ in rows])
    return [WindowRow(window, name, counts.get(window.id, 0)) for window, name in rows]


def offers_booking(session: so.Session, today: dt.date) -> bool:
    """Whether the company has a window open ahead (then the reminders invite customers to book online)."""
    return session.scalar(sa.select(sa.exists().where(
        BookingWindow.closed_at.is_(None), BookingWindow.day > today,
        BookingWindow.day <= today + dt.timedelta(weeks=WEEKS_OFFERED)))) or False


def customers_with_portal_login(session: so.Session, customer_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of the customers whom an active portal login belongs to (they can sign in to book)."""
    if not customer_ids:
        return set()
    return set(session.scalars(sa.select(Profile.customer_id).join(User, User.id == Profile.user_id).where(
        Profile.customer_id.in_(customer_ids), User.is_active.is_(True))))


# --- the customer: what they may book -------------------------------------------------------------------

def horizon(session: so.Session) -> int:
    """How many days ahead an assembly's due date may be for its test to be booked: at least as far ahead as the
    company's first reminder goes out, which invites the customer to book."""
    return max(HORIZON_DAYS, *(settings_of(session).reminder_lead_days or []))


@dataclass
class PlaceToBook:
    location: CustomerLocation
    devices: list[Device]                         # coming due, free to book
    booked: list[tuple[Device, str]]              # coming due, already booked: (device, how)
    windows: list[WindowRow]                      # open windows this place may be booked in, with room left


def _offered(session: so.Session, today: dt.date) -> list[WindowRow]:
    """Open windows from tomorrow on, of active technicians, with a place left."""
    active = {p.user_id: p.full_name for p in technicians(session)}
    windows = list(session.scalars(sa.select(BookingWindow).where(
        BookingWindow.closed_at.is_(None), BookingWindow.day > today,
        BookingWindow.day <= today + dt.timedelta(weeks=WEEKS_OFFERED), BookingWindow.technician_id.in_(active))
        .order_by(BookingWindow.starts_at, BookingWindow.id)))
    counts = taken(session, [w.id for w in windows])
    rows = [WindowRow(w, active[w.technician_id], counts.get(w.id, 0)) for w in windows]
    return [row for row in rows if row.left > 0]


def _pending_devices(session: so.Session, device_ids: list[uuid.UUID]) -> dict[uuid.UUID, Booking]:
    """Device id -> the booking waiting for the office that holds it."""
    found: dict[uuid.UUID, Booking] = {}
    if not device_ids:
        return found
    for booking in session.scalars(sa.select(Booking).where(
            Booking.status == BookingStatus.pending.value, Booking.device_ids.overlap(device_ids))
            .options(so.joinedload(Booking.window))):
        found.update(dict.fromkeys((d for d in booking.device_ids if d in device_ids), booking))
    return found


def places_to_book(session: so.Session, customer_id: uuid.UUID, today: dt.date) -> list[PlaceToBook]:
    """The customer's places with assemblies coming due, each with those free to book, those booked already (and
    how), and the windows it may be booked in."""
    zone = company_timezone(session)
    rows = due.coming_due_of(session, customer_id, today, days=horizon(session))
    device_ids = [row.device.id for row in rows]
    pending = _pending_devices(session, device_ids)
    jobs = dict(session.execute(
        sa.select(WorkOrderDevice.device_id, ScheduledJob.starts_at)
        .join(WorkOrder, WorkOrder.id == WorkOrderDevice.work_order_id)
        .join(ScheduledJob, ScheduledJob.work_order_id == WorkOrder.id)
        .where(WorkOrderDevice.device_id.in_(device_ids), WorkOrder.status.in_(work_orders.UNFINISHED)))
        .all()) if device_ids else {}
    offered = _offered(session, today)
    places: dict[uuid.UUID, PlaceToBook] = {}
    for row in rows:
        place = places.setdefault(row.location.id, PlaceToBook(row.location, [], [], [
            offer for offer in offered if serves(offer.window, row.location)]))
        if row.device.id in pending:
            place.booked.append((row.device, "waiting for confirmation: "
                                 + window_label(pending[row.device.id].window, zone)))
        elif row.device.id in jobs:
            start = jobs[row.device.id].astimezone(zone)
            place.booked.append((row.device, f"booked for {start:%A}, {start:%B} {start.day}"))
        elif row.booked:
            place.booked.append((row.device, "on the company's list to book"))
        else:
            place.devices.append(row.device)
    return sorted(places.values(), key=lambda p: (p.location.address_line1, str(p.location.id)))


def bookings_of(session: so.Session, customer_id: uuid.UUID, today: dt.date) -> list[Booking]:
    """The customer's bookings of windows from today on, soonest first."""
    return list(session.scalars(
        sa.select(Booking).join(BookingWindow, BookingWindow.id == Booking.window_id)
        .where(Booking.customer_id == customer_id, BookingWindow.day >= today)
        .options(so.contains_eager(Booking.window), so.joinedload(Booking.location))
        .order_by(BookingWindow.starts_at, Booking.booked_at)))


# --- the customer: booking ------------------------------------------------------------------------------

def book(session: so.Session, customer: Customer, user_id: uuid.UUID, *, window_id: uuid.UUID,
         location_id: uuid.UUID, device_ids: list[uuid.UUID], today: dt.date,
         form_key: uuid.UUID | None = None) -> Booking:
    """Book a window for some of the customer's assemblies coming due at one of their places: on the board at once,
    or waiting for the office, as the company chose. NotYours for a place, device or window not theirs to see;
    BookingRefused when the choice does not hold together; WindowGone when the window cannot take it (full since the
    page was shown, closed, past). The same form sent again (a double click) is the booking it made."""
    window = get_window(session, window_id, for_update=True)  # the window's row, locked until this commits
    if window is None:
        raise NotYours
    if form_key is not None:
        made = session.scalar(sa.select(Booking).where(Booking.form_key == form_key,
                                                        Booking.customer_id == customer.id))
        if made is not None:
            return made
    place = session.scalar(sa.select(CustomerLocation).where(CustomerLocation.id == location_id,
                                                             CustomerLocation.customer_id == customer.id))
    if place is None:
        raise NotYours
    devices = _devices_to_book(session, customer, place, device_ids, today)
    _refuse_unless_open(session, window, place, today)
    confirm_first = settings_of(session).bookings_need_confirmation
    booking = Booking(id=uuid.uuid4(), window_id=window.id, customer_id=customer.id, location_id=place.id,
                      device_ids=[d.id for d in devices], status=BookingStatus.pending.value, booked_by=user_id,
                      booked_at=utcnow(), form_key=form_key)
    session.add(booking)
    session.flush()
    zone = company_timezone(session)
    audit.record(session, "booking.made", entity_type="booking", entity_id=booking.id, changes={
        "window": str(window.id), "when": window_label(window, zone), "technician": str(window.technician_id),
        "location": place.one_line, "devices": [d.serial for d in devices],
        "status": "waiting for the office" if confirm_first else "booked"})
    if not confirm_first:
        _put_on_board(session, booking, window, place, user_id, today)
        _tell_the_customer(session, booking, customer, f"Your backflow test is booked: {window_label(window, zone)}",
                           f"Your backflow test at {place.one_line} is booked for {window_label(window, zone)}.\n\n"
                           f"Assemblies: {', '.join(d.serial for d in devices)}.")
    return booking


def _devices_to_book(session: so.Session, customer: Customer, place: CustomerLocation, device_ids: list[uuid.UUID],
                     today: dt.date) -> list[Device]:
    chosen = set(device_ids)
    if not chosen:
        raise BookingRefused("Tick at least one assembly to test.")
    rows = {row.device.id: row for row in due.coming_due_of(session, customer.id, today, days=horizon(session))}
    theirs = set(session.scalars(sa.select(Device.id).join(CustomerLocation, CustomerLocation.id == Device.location_id)
                                 .where(Device.id.in_(chosen), CustomerLocation.customer_id == customer.id)))
    if theirs != chosen:
        raise NotYours
    devices = sorted((rows[d].device for d in chosen if d in rows), key=lambda d: d.serial)
    if len(devices) != len(chosen):
        raise BookingRefused("Tick only assemblies coming due for their test.")
    if any(d.location_id != place.id for d in devices):
        raise BookingRefused("Tick only assemblies at the place you chose.")
    pending = _pending_devices(session, [d.id for d in devices])
    busy = [d.serial for d in devices if rows[d.id].booked or d.id in pending]
    if busy:
        raise BookingRefused(f"Already booked: {', '.join(busy)}.")
    return devices


def _refuse_unless_open(session: so.Session, window: BookingWindow, place: CustomerLocation, today: dt.date) -> None:
    if window.closed_at is not None or window.day <= today or \
            window.technician_id not in {p.user_id for p in technicians(session)}:
        raise WindowGone("That time is no longer offered: pick another.")
    if not serves(window, place):
        raise WindowGone("That time is not offered at this place: pick another.")
    if taken(session, [window.id]).get(window.id, 0) >= window.capacity:
        raise WindowGone("That window was just taken: pick another.")


def _slot(session: so.Session, window: BookingWindow) -> schedule.Window:
    """The window's first equal part that no visit booked in it holds yet (with room for one visit, the whole
    window)."""
    length = dt.timedelta(minutes=int((window.ends_at - window.starts_at).total_seconds() // 60 // window.capacity))
    held = set(session.scalars(
        sa.select(ScheduledJob.starts_at).join(Booking, Booking.work_order_id == ScheduledJob.work_order_id)
        .where(Booking.window_id == window.id, _holding())))
    starts = next((s for s in (window.starts_at + n * length for n in range(window.capacity)) if s not in held),
                  window.starts_at)  # the office moved its visits about: the first part, its conflict shown
    return schedule.Window(starts, starts + length)


def _put_on_board(session: so.Session, booking: Booking, window: BookingWindow, place: CustomerLocation,
                  user_id: uuid.UUID, today: dt.date) -> WorkOrder:
    """A test work order for the booking's assemblies, booked for the window's technician in the window."""
    zone = company_timezone(session)
    order = work_orders.create_work_order(session, place, booking.device_ids, created_by=user_id,
                                          kind=WorkKind.test.value,
                                          notes=f"Booked online by the customer: {window_label(window, zone)}.")
    schedule.book(session, order, window.technician_id, _slot(session, window), today=today)
    booking.status, booking.work_order_id = BookingStatus.confirmed.value, order.id
    session.flush()
    return order


def _tell_the_customer(session: so.Session, booking: Booking, customer: Customer, subject: str, message: str) -> None:
    """Email the person who booked (else the customer's address), with a link to their bookings."""
    person = session.get(User, booking.booked_by) if booking.booked_by else None
    address = person.email if person is not None and person.is_active else customer.email
    if not address:
        return
    outbox.send_email(session, address, subject,
                      f"Hello {customer.name},\n\n{message}\n\nYour bookings: "
                      f"{external_url('customer_booking.page')}\n")


# --- the office's answer --------------------------------------------------------------------------------

def waiting(session: so.Session) -> list[Booking]:
    """Bookings waiting for the office, the oldest first."""
    return list(session.scalars(
        sa.select(Booking).where(Booking.status == BookingStatus.pending.value)
        .options(so.joinedload(Booking.window), so.joinedload(Booking.customer), so.joinedload(Booking.location))
        .order_by(Booking.booked_at, Booking.id).limit(200)))


def awaiting() -> sa.Select:
    """How many bookings wait for the office (a statement, for the dashboard's summary too)."""
    return sa.select(sa.func.count()).select_from(Booking).where(Booking.status == BookingStatus.pending.value)


def waiting_count(session: so.Session) -> int:
    return session.scalar(awaiting())


def devices_named(session: so.Session, bookings: list[Booking]) -> dict[uuid.UUID, Device]:
    ids = {d for booking in bookings for d in booking.device_ids}
    return {d.id: d for d in session.scalars(sa.select(Device).where(Device.id.in_(ids)))} if ids else {}


def names_of(session: so.Session, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Full names of people by user id (the technicians of some windows)."""
    if not user_ids:
        return {}
    return {user_id: name for user_id, name in session.execute(
        sa.select(Profile.user_id, Profile.full_name).where(Profile.user_id.in_(user_ids)))}


def get_booking(session: so.Session, booking_id: uuid.UUID, *, for_update: bool = False) -> Booking | None:
    statement = sa.select(Booking).where(Booking.id == booking_id).options(
        so.joinedload(Booking.window), so.joinedload(Booking.customer), so.joinedload(Booking.location))
    if for_update:
        lock_for_change(session, sa.select(Booking.id).where(Booking.id == booking_id))
        statement = statement.execution_options(populate_existing=True)
    return session.scalar(statement)


def confirm(session: so.Session, booking: Booking, user_id: uuid.UUID, today: dt.date) -> WorkOrder:
    """On the board with it (WorkRefused says why not: an assembly planned meanwhile, a technician gone); the
    customer is emailed."""
    if booking.status != BookingStatus.pending.value:
        raise AlreadyDecided
    window = booking.window
    if window.day <= today:
        raise BookingRefused("The window's day has come: decline the booking, and call the customer.")
    order = _put_on_board(session, booking, window, booking.location, user_id, today)
    booking.decided_at, booking.decided_by = utcnow(), user_id
    zone = company_timezone(session)
    audit.record(session, "booking.confirmed", entity_type="booking", entity_id=booking.id,
                 changes={"work_order": str(order.id), "status": {"before": "pending", "after": "confirmed"}})
    _tell_the_customer(session, booking, booking.customer,
                       f"Your backflow test is booked: {window_label(window, zone)}",
                       f"{_company_name(session)} confirmed your booking: your backflow test at "
                       f"{booking.location.one_line} is booked for {window_label(window, zone)}.")
    return order


def decline(session: so.Session, booking: Booking, user_id: uuid.UUID, *, reason: str) -> None:
    """The place goes back to the window; the customer is emailed the reason."""
    if booking.status != BookingStatus.pending.value:
        raise AlreadyDecided
    reason = " ".join(reason.split())
    if not reason:
        raise BookingRefused("Say why, for the customer.")
    booking.status, booking.decline_reason = BookingStatus.declined.value, reason[:500]
    booking.decided_at, booking.decided_by = utcnow(), user_id
    session.flush()
    audit.record(session, "booking.declined", entity_type="booking", entity_id=booking.id,
                 changes={"reason": booking.decline_reason, "status": {"before": "pending", "after": "declined"}})
    zone = company_timezone(session)
    _tell_the_customer(session, booking, booking.customer, "Your booking could not be confirmed",
                       f"{_company_name(session)} could not confirm your backflow test at "
                       f"{booking.location.one_line} for {window_label(booking.window, zone)}:\n\n"
                       f"{booking.decline_reason}\n\nPlease pick another time.")


def _company_name(session: so.Session) -> str:
    return session.scalar(sa.select(Company.name))


def by_day(rows: list[WindowRow], zone: zoneinfo.ZoneInfo) -> list[tuple[dt.date, list[WindowRow]]]:
    """Windows grouped by their local day, in order."""
    days: dict[dt.date, list[WindowRow]] = defaultdict(list)
    for row in rows:
        days[row.window.starts_at.astimezone(zone).date()].append(row)
    return sorted(days.items())
