"""Many companies in one database, beside the large one: `flowtrack seed --scale many`.

A hosted FlowTrack holds thousands of small and middle-sized companies, not one large one. This adds 2,000 of them
(by default) with the spread of a real customer base: most test between 50 and 2,000 assemblies a year (drawn
evenly on a log scale, so small companies are the most numerous), and one in a hundred has 10,000. Each gets a
team sized to its work, and every part the large company has (`seed_large.fill_records`: customers, places,
devices, four years of tests, work orders with booked jobs, invoices with payments) at its own size, plus an
audit chain of two entries a device. The companies are spread over the US time zones and plans; a few have
canceled and are in their grace period, so the sweep's daily search has candidates to look at and none to delete.

Companies are numbered; a run adds those missing, so it can be stopped and run again.
"""
from __future__ import annotations

import datetime as dt
import random
import time
import uuid

import sqlalchemy as sa

from flowtrack.auth.services import add_member
from flowtrack.companies.services import create_company
from flowtrack.core.db import Database
from flowtrack.core.permissions import Role
from flowtrack.models.companies import Company
from flowtrack.ops.seed_large import _copy_audit_entries, _vacuum_analyze, fill_records

NAME = "Benchmark Co {:04d}"
ZONES = ("America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York", "America/Phoenix")
LARGEST, SMALLEST, TYPICAL_MOST = 10_000, 50, 2_000
DEVICES_PER_CUSTOMER = 2.5  # what fill_records writes
AUDIT_ENTRIES_PER_DEVICE = 2


def devices_of(number: int) -> int:
    """The size of company `number`: the same for every run, so that runs compare."""
    if number % 100 == 99:
        return LARGEST
    spread = random.Random(number).random()
    return round(SMALLEST * (TYPICAL_MOST / SMALLEST) ** spread)


def seed_many(db: Database, *, count: int = 2_000, owner_url: str | None = None, echo=print) -> list[uuid.UUID]:
    """Create companies 0 to count-1 that are missing and fill each; returns their ids in number order."""
    started, wrote, ids = time.perf_counter(), 0, []
    with db.service() as session:
        existing = {name: company_id for name, company_id in session.execute(
            sa.select(Company.name, Company.id).where(Company.name.like("Benchmark Co %")))}
    for number in range(count):
        company_id = existing.get(NAME.format(number))
        if company_id is None:
            company_id = _new_company(db, number)
            wrote += 1
            if wrote % 100 == 0:
                echo(f"{wrote:,} companies written in {time.perf_counter() - started:.0f} s")
        ids.append(company_id)
    if wrote:
        echo(f"wrote {wrote:,} companies in {time.perf_counter() - started:.1f} s")
        if owner_url:
            _vacuum_analyze(owner_url)
    return ids


def _new_company(db: Database, number: int) -> uuid.UUID:
    devices = devices_of(number)
    with db.service() as session:
        plan = "enterprise" if devices >= LARGEST else ("basic", "professional", "professional")[number % 3]
        company = create_company(session, NAME.format(number), timezone=ZONES[number % len(ZONES)], plan=plan)
        if number % 50 == 7:  # canceled, in the grace period: the sweep looks at it and leaves it
            company.subscription_status = "canceled"
            company.deletion_clock_starts_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
        technicians = max(2, devices // 1_500)
        team = [(Role.company_admin, 1), (Role.manager, 1 + devices // 5_000), (Role.technician, technicians)]
        for role, people in team:
            for n in range(people):
                add_member(session, company.id, email=f"{role.value}{n}@co{number:04d}.bench", password=None,
                           role=role.value, full_name=f"{role.value.replace('_', ' ').title()} {n}")
        session.commit()
        fill_records(db, company.id, customers=max(1, round(devices / DEVICES_PER_CUSTOMER)), echo=lambda _: None)
        _copy_audit_entries(db, session, company.id, devices * AUDIT_ENTRIES_PER_DEVICE)
        return company.id
