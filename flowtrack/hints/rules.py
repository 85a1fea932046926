"""The hints' rules: plain functions over rows, each deciding whether one hint shows and saying why in words.

Each hint has a key naming the facts it was shown for (the latest failing test, the devices left off the visit,
the kit's due date, the oldest overdue invoice): a hint dismissed under one key comes back when the facts, and so
the key, change. The rows come from flowtrack/hints/services.py; days are the company's calendar days.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from flowtrack.core.money import format_cents
from flowtrack.models.hints import HintKind

FAILS_IN_LAST_THREE = 2      # failed this many of its last three tests: suggest replacing it
VISIT_HORIZON = dt.timedelta(days=60)   # devices due within this of a booked visit at their place
OVERDUE_DAYS = 60            # an invoice this many days past its due date


@dataclass(frozen=True)
class Hint:
    kind: str
    key: str
    title: str
    reason: str
    day: dt.date              # the day it is about: the job's or visit's ahead, the failure's or the ask's behind
    upcoming: bool            # about a day ahead (a booked job): those come first, soonest first
    device_id: uuid.UUID | None = None
    location_id: uuid.UUID | None = None
    work_order_id: uuid.UUID | None = None
    request_id: uuid.UUID | None = None
    technician_id: uuid.UUID | None = None
    invoice_id: uuid.UUID | None = None
    gauge_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    device_ids: tuple[uuid.UUID, ...] = ()      # a visit's: the devices to add
    work_order_ids: tuple[uuid.UUID, ...] = ()  # a kit's or certification's: the jobs it comes before; an old
    request_ids: tuple[uuid.UUID, ...] = ()     # debt's: the customer's new work orders and requests

    @property
    def rank(self) -> tuple:
        return (0, self.day.toordinal()) if self.upcoming else (1, -self.day.toordinal())


def in_words(days: Sequence[dt.date]) -> str:
    """'Mar 3 and Sep 9, 2026'; 'Dec 3, 2025, Mar 3 and Sep 9, 2026': in order, each year said once, after its
    last day."""
    ordered = sorted(days)
    parts = []
    for index, day in enumerate(ordered):
        last_of_year = index == len(ordered) - 1 or ordered[index + 1].year != day.year
        parts.append(f"{day:%b} {day.day}, {day.year}" if last_of_year else f"{day:%b} {day.day}")
    return listed(parts)


def listed(parts: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def day_in_words(day: dt.date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


# --- an assembly that keeps failing -------------------------------------------------------------------------

@dataclass(frozen=True)
class TestRow:
    id: uuid.UUID
    tested_on: dt.date
    result: str  # "pass", "fail", "removed"


@dataclass(frozen=True)
class DeviceHistory:
    device_id: uuid.UUID
    location_id: uuid.UUID
    label: str                 # "RP 1001"
    tests: Sequence[TestRow]   # its current tests (amended ones give way to their amendment), newest first
    quoted_on: dt.date | None  # the day of the newest quote made for it


def replacement(history: DeviceHistory) -> Hint | None:
    """An assembly that failed two of its last three tests: suggest replacing it, unless a quote was made for it
    since its latest failure (the office acted on it)."""
    failed = [test for test in history.tests[:3] if test.result == "fail"]
    if len(failed) < FAILS_IN_LAST_THREE:
        return None
    latest = failed[0]
    if history.quoted_on is not None and history.quoted_on >= latest.tested_on:
        return None
    how_many = "each of its last three tests" if len(failed) == 3 else f"{len(failed)} of its last three tests"
    return Hint(HintKind.replace.value, f"replace:{history.device_id}:{latest.id}",
                f"Replace {history.label}?",
                f"{history.label} failed on {in_words([t.tested_on for t in failed])}: {how_many}. A new assembly "
                f"may cost the customer less than another repair.",
                latest.tested_on, False, device_id=history.device_id, location_id=history.location_id)


# --- devices due at a booked visit's place --------------------------------------------------------------------

@dataclass(frozen=True)
class VisitRow:
    work_order_id: uuid.UUID
    location_id: uuid.UUID
    place: str     # the street address
    day: dt.date   # the day it is booked for


@dataclass(frozen=True)
class DueRow:
    device_id: uuid.UUID
    location_id: uuid.UUID
    label: str
    due_on: dt.date


def _digest(ids: Sequence[uuid.UUID]) -> str:
    return hashlib.sha256(",".join(sorted(str(i) for i in ids)).encode()).hexdigest()[:16]


def devices_for_the_visit(visit: VisitRow, due: Sequence[DueRow]) -> Hint | None:
    """Devices at the visit's place, due within 60 days of it (or overdue), that are not on it (nor on other work
    still to do: the rows leave those out): add them to the visit."""
    found = sorted((row for row in due if row.location_id == visit.location_id
                    and row.due_on <= visit.day + VISIT_HORIZON), key=lambda row: (row.due_on, row.label))
    if not found:
        return None
    each = listed([f"{row.label} ({'was due' if row.due_on < visit.day else 'due'} {day_in_words(row.due_on)})"
                   for row in found])
    count = "a device" if len(found) == 1 else f"{len(found)} devices"
    are = "is" if len(found) == 1 else "are"
    return Hint(HintKind.visit.value, f"visit:{visit.work_order_id}:{_digest([row.device_id for row in found])}",
                f"Add {count} to the visit on {visit.day:%b} {visit.day.day}?",
                f"{each} at {visit.place} {are} due within 60 days of the visit booked there for "
                f"{day_in_words(visit.day)}, and not on it.",
                visit.day, True, location_id=visit.location_id, work_order_id=visit.work_order_id,
                device_ids=tuple(row.device_id for row in found))


# --- a technician's kit or certification running out before their job -------------------------------------------

@dataclass(frozen=True)
class JobRow:
    work_order_id: uuid.UUID
    technician_id: uuid.UUID
    place: str
    day: dt.date


@dataclass(frozen=True)
class KitRow:
    id: uuid.UUID
    label: str  # "Midwest G-100"
    due_on: dt.date


@dataclass(frozen=True)
class TechnicianRow:
    user_id: uuid.UUID
    name: str
    certification_expires_on: dt.date | None
    kit: KitRow | None  # the kit they tested with last (in service), which is likely in their van


def _before(jobs: Sequence[JobRow], ends_on: dt.date) -> list[JobRow]:
    return sorted((job for job in jobs if ends_on < job.day), key=lambda job: (job.day, job.place))


def _which_jobs(affected: Sequence[JobRow]) -> str:
    first = affected[0]
    more = len(affected) - 1
    return (f"the job booked for {day_in_words(first.day)} at {first.place}"
            + (f" and {more} more job{'s' if more > 1 else ''} after it" if more else ""))


def readiness(technician: TechnicianRow, jobs: Sequence[JobRow]) -> list[Hint]:
    """A technician's tester certification expiring, or the kit they test with due for calibration, before a job
    booked for them: renew, calibrate, or give the job to someone else."""
    hints = []
    own = [job for job in jobs if job.technician_id == technician.user_id]
    expires = technician.certification_expires_on
    affected = _before(own, expires) if expires is not None else []
    if expires is not None and affected:
        hints.append(Hint(
            HintKind.certification.value, f"certification:{technician.user_id}:{expires.isoformat()}",
            f"{technician.name}'s certification expires before a booked job",
            f"{technician.name}'s tester certification expires on {day_in_words(expires)}, before "
            f"{_which_jobs(affected)}. A test by an uncertified tester will not be accepted.",
            affected[0].day, True, technician_id=technician.user_id, work_order_id=affected[0].work_order_id,
            work_order_ids=tuple(job.work_order_id for job in affected)))
    kit = technician.kit
    affected = _before(own, kit.due_on) if kit is not None else []
    if kit is not None and affected:
        hints.append(Hint(
            HintKind.kit.value, f"kit:{technician.user_id}:{kit.id}:{kit.due_on.isoformat()}",
            f"Test kit {kit.label} is due for calibration before a booked job",
            f"Test kit {kit.label}, which {technician.name} tested with last, is due for calibration on "
            f"{day_in_words(kit.due_on)}, before {_which_jobs(affected)}. A test with it after that day is "
            f"refused.",
            affected[0].day, True, technician_id=technician.user_id, work_order_id=affected[0].work_order_id,
            work_order_ids=tuple(job.work_order_id for job in affected), gauge_id=kit.id))
    return hints


# --- a customer with an old debt asking for new work -------------------------------------------------------------

@dataclass(frozen=True)
class OverdueRow:
    invoice_id: uuid.UUID
    number: int
    customer_id: uuid.UUID
    balance_cents: int
    due_on: dt.date


@dataclass(frozen=True)
class AskRow:
    kind: str  # "request" (a service request) or "work_order" (a new work order, or a booking confirmed)
    id: uuid.UUID
    customer_id: uuid.UUID
    customer_name: str
    asked_on: dt.date


def _times(count: int) -> str:
    return {1: "", 2: " twice"}.get(count, f" {count} times")


def old_debt(asks: Sequence[AskRow], invoices: Sequence[OverdueRow], today: dt.date) -> Hint | None:
    """A customer who owes an invoice 60 days or more past due asks for new work (`asks`: the customer's open
    requests and work orders not started): flag it on each, so the office settles the debt before (or while) doing
    more. One hint per customer and oldest invoice: dismissed, it is dismissed on all of them."""
    if not asks:
        return None
    customer_id, name = asks[0].customer_id, asks[0].customer_name
    owed = sorted((row for row in invoices if row.customer_id == customer_id and row.balance_cents > 0
                   and (today - row.due_on).days >= OVERDUE_DAYS), key=lambda row: (row.due_on, row.number))
    if not owed:
        return None
    oldest = owed[0]
    late = (today - oldest.due_on).days
    total = sum(row.balance_cents for row in owed)
    if len(owed) == 1:
        owes = f"owes {format_cents(total)} on invoice {oldest.number}, due {day_in_words(oldest.due_on)}"
    else:
        owes = (f"owes {format_cents(total)} on {len(owed)} invoices 60 days or more overdue, the oldest "
                f"invoice {oldest.number}, due {day_in_words(oldest.due_on)}")
    requests = [ask.id for ask in asks if ask.kind == "request"]
    orders = [ask.id for ask in asks if ask.kind == "work_order"]
    asked = []
    if requests:
        asked.append(f"asked for service{_times(len(requests))}")
    if orders:
        asked.append("has new work booked or planned" if len(orders) == 1
                     else f"has {len(orders)} work orders booked or planned")
    return Hint(HintKind.overdue.value, f"overdue:{customer_id}:{oldest.invoice_id}",
                f"{name} has an invoice {late} days overdue",
                f"{name} {owes} ({late} days overdue), and {' and '.join(asked)}.",
                max(ask.asked_on for ask in asks), False, invoice_id=oldest.invoice_id, customer_id=customer_id,
                request_id=requests[0] if len(requests) == 1 else None,
                work_order_id=orders[0] if len(orders) == 1 else None,
                request_ids=tuple(requests), work_order_ids=tuple(orders))
