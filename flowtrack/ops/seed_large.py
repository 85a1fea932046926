"""A large company for benchmarks, loaded with COPY: `flowtrack seed --scale large`.

It builds the company, its team, its records (20,000 customers, 25,000
service locations, 50,000 devices in a dozen districts, 30 test kits), four
years of field tests (200,000 test records), 30,000 work orders with their
scheduled jobs, 40,000 invoices with their payments, and a valid audit chain
of a million entries, plus a few small companies beside it. Each part is
written when the company has none of it (the audit chain is topped up to its
target), so running it twice adds nothing; each part prints its time.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
import uuid
import zoneinfo
from collections import defaultdict
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa

from flowtrack.audit import services as audit
from flowtrack.auth.services import add_member
from flowtrack.companies.services import create_company
from flowtrack.core.db import Database
from flowtrack.core.permissions import Role
from flowtrack.customers.addresses import address_key
from flowtrack.field_tests import rules
from flowtrack.field_tests.services import REPAIR_CHOICES
from flowtrack.invoices.services import customer_snapshot, new_line, totals
from flowtrack.models.audit import AuditEntry
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer, DeviceType
from flowtrack.models.field_tests import TestRecord
from flowtrack.models.invoicing import Invoice
from flowtrack.models.scheduling import WorkOrder

LARGE_COMPANY = "Large Backflow Co (benchmark)"
ACTIONS = ("customer.updated", "device.updated", "test.submitted", "invoice.sent", "login.succeeded",
           "work_order.scheduled", "device.created", "customer.created")
AUDIT_COLUMNS = ("id", "company_id", "seq", "occurred_at", "action", "entity_type", "entity_id", "actor_user_id",
                 "actor_label", "ip", "user_agent", "changes", "payload_salt", "payload_digest", "prev_hash",
                 "entry_hash")


class _Entry:
    """Just the attributes the chain hashes read."""

    __slots__ = AUDIT_COLUMNS + ("stripped_at",)


def seed_large(db: Database, *, audit_entries: int = 1_000_000, customers: int = 20_000, small_companies: int = 3,
               owner_url: str | None = None, echo=print) -> uuid.UUID:
    """Create the large company (once) and each missing part of it: `customers` with 1.25 locations and 2.5
    devices a customer, four tests a device, 1.5 work orders and 2 invoices a customer; then fill its audit
    chain up to `audit_entries`.

    With `owner_url` (the tables' owner may vacuum them), a seed that wrote anything ends with VACUUM ANALYZE:
    until autovacuum gets round to it, minutes later, the planner knows nothing of the new rows and an
    index-only scan still visits the table for each of them, so a benchmark run at once measures that."""
    with db.service() as session:
        company_id = session.scalar(sa.select(Company.id).where(Company.name == LARGE_COMPANY,
                                                                Company.tombstoned_at.is_(None)))
        if company_id is None:
            company = create_company(session, LARGE_COMPANY, plan="enterprise")
            company_id = company.id
            people = [(Role.company_admin, 1), (Role.manager, 4), (Role.technician, 20), (Role.auditor, 1)]
            for role, count in people:
                for n in range(count):
                    add_member(session, company_id, email=f"{role.value}{n}@large.bench", password=None,
                               role=role.value, full_name=f"{role.value.title()} {n}")
            for n in range(small_companies):  # kept when the large company is swept away (bench/sweep.py)
                name = f"Small Co {n} (benchmark)"
                if session.scalar(sa.select(Company.id).where(Company.name == name)) is None:
                    small = create_company(session, name)
                    add_member(session, small.id, email=f"admin@small{n}.bench", password=None,
                               role=Role.company_admin.value, full_name="Small Admin")
            session.commit()

        wrote = fill_records(db, company_id, customers=customers, echo=echo)
        have = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                              .where(AuditEntry.company_id == company_id))
        if audit_entries > have:
            _timed(echo, f"wrote {audit_entries - have:,} audit entries with COPY",
                   lambda: _copy_audit_entries(db, session, company_id, audit_entries - have))
            wrote = True
    if wrote and owner_url:
        _timed(echo, "ran VACUUM ANALYZE", lambda: _vacuum_analyze(owner_url))
    return company_id


def _vacuum_analyze(owner_url: str) -> None:
    engine = sa.create_engine(owner_url, isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")
    finally:
        engine.dispose()


def fill_records(db: Database, company_id: uuid.UUID, *, customers: int, echo=print) -> bool:
    """Write each part of a company's records that it has none of: `customers` with their locations and devices,
    the devices' tests, work orders and invoices; return whether anything was written. The company needs its
    team (technicians and office staff)."""
    with db.service() as session:
        def missing(model) -> bool:
            return not session.scalar(sa.select(sa.func.count()).select_from(model)
                                      .where(model.company_id == company_id))

        parts = [
            (missing(Customer), f"{customers:,} customers, {customers * 5 // 4:,} locations, "
                                f"{customers * 5 // 2:,} devices", lambda: _copy_records(db, company_id, customers)),
            (missing(TestRecord), f"{customers * 5 // 2 * TESTS_PER_DEVICE:,} test records",
             lambda: _copy_tests(db, company_id)),
            (missing(WorkOrder), f"{customers * 3 // 2:,} work orders with their devices and jobs",
             lambda: _copy_work_orders(db, company_id, customers * 3 // 2)),
            (missing(Invoice), f"{customers * 2:,} invoices with their payments",
             lambda: _copy_invoices(db, company_id, customers * 2)),
        ]
    for wanted, what, write in parts:
        if wanted:
            _timed(echo, f"wrote {what} with COPY", write)
    return any(wanted for wanted, _, _ in parts)


def _timed(echo, what: str, step) -> None:
    started = time.perf_counter()
    step()
    echo(f"{what} in {time.perf_counter() - started:.1f} s")


def _copy_audit_entries(db: Database, session, company_id: uuid.UUID, count: int) -> None:
    last_seq, last_hash = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.entry_hash).where(AuditEntry.company_id == company_id)
        .order_by(AuditEntry.seq.desc()).limit(1)).one()
    users = session.execute(sa.text("SELECT id, email FROM users WHERE company_id = :c"), {"c": company_id}).all()
    rng = random.Random(42)
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=730)
    step = dt.timedelta(days=729) / count
    prev = last_hash
    with _bulk_transaction(db) as connection:
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY audit_log ({', '.join(AUDIT_COLUMNS)}) FROM STDIN") as copy:
            for n in range(count):
                user_id, email = users[n % len(users)]
                entry = _Entry()
                entry.id, entry.company_id, entry.seq = uuid.uuid4(), company_id, last_seq + n + 1
                entry.occurred_at = start + step * n
                entry.action = ACTIONS[n % len(ACTIONS)]
                entry.entity_type = entry.action.split(".")[0]
                entry.entity_id = str(uuid.UUID(int=rng.getrandbits(128)))
                entry.actor_user_id, entry.actor_label = user_id, email
                entry.ip, entry.user_agent = f"203.0.113.{n % 250 + 1}", "Mozilla/5.0 (benchmark)"
                entry.changes = {"status": {"before": "open", "after": "scheduled"}}
                entry.payload_salt = os.urandom(16)
                entry.payload_digest = audit.payload_digest(entry)
                entry.prev_hash = prev
                entry.entry_hash = prev = audit.entry_hash(entry)
                copy.write_row([getattr(entry, c) if c != "changes" else audit.json.dumps(entry.changes)
                                for c in AUDIT_COLUMNS])


STREETS = ("Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park", "River", "Sunset",
           "Mill", "Church", "Spring", "Ridge", "Valley", "Willow", "Forest", "Meadow")
SUFFIXES = ("Street", "Avenue", "Road", "Boulevard", "Lane", "Drive", "Court", "Way")
CITIES = (("Springfield", "OR", "97477"), ("Eugene", "OR", "97401"), ("Salem", "OR", "97301"),
          ("Corvallis", "OR", "97330"), ("Albany", "OR", "97321"), ("Bend", "OR", "97701"))
BUSINESSES = ("Dairy", "Bakery", "Laundry", "Clinic", "Car Wash", "Brewery", "School", "Apartments", "Hotel",
              "Restaurant", "Nursery", "Dental", "Pool", "Church", "Market", "Plant")
OWNERS = ("Harbor", "Summit", "Riverside", "Cascade", "Evergreen", "Pioneer", "Willamette", "Golden", "Valley",
          "Northside", "Lakeside", "Cedar", "Union", "Liberty", "Sunrise", "Redwood")
MANUFACTURERS = (("Watts", "009"), ("Febco", "825Y"), ("Wilkins", "975XL"), ("Ames", "4000SS"), ("Apollo", "4A"))
# Roughly the mix a testing company sees: mostly RPs and double checks.
TYPE_WEIGHTS = ((DeviceType.RP, 35), (DeviceType.DC, 30), (DeviceType.PVB, 15), (DeviceType.DCDA, 8),
                (DeviceType.RPDA, 6), (DeviceType.SVB, 3), (DeviceType.AVB, 3))


@contextmanager
def _bulk_transaction(db: Database) -> Iterator[sa.Connection]:
    """A service-role transaction for writing a part and reading back what earlier parts wrote. Those rows are
    seconds old, and the statistics may still describe the tables as they were before (empty, after a sweep):
    planned on those, a join of 50,000 devices with their places runs as nested loops for minutes, not a
    second as hash joins."""
    with db.service_engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL enable_nestloop = off")
        yield connection


def _copy(cursor, table: str, columns: tuple[str, ...], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _copy_records(db: Database, company_id: uuid.UUID, customers: int) -> None:
    """Districts, test kits, customers, their locations and devices, with next-due dates from a year back to a
    year ahead, so that the due list, the device list and search all have realistic work."""
    rng = random.Random(7)
    today = dt.date.today()
    now = dt.datetime.now(dt.timezone.utc)
    district_ids = [uuid.uuid4() for _ in range(12)]
    customer_ids = [uuid.uuid4() for _ in range(customers)]
    location_count = customers * 5 // 4
    locations = [(uuid.uuid4(), customer_ids[n % customers]) for n in range(location_count)]
    kinds = [kind.value for kind, weight in TYPE_WEIGHTS for _ in range(weight)]
    with _bulk_transaction(db) as connection:
        cursor = connection.connection.driver_connection.cursor()
        _copy(cursor, "districts", ("id", "company_id", "name", "report_email", "test_interval_months", "due_anchor",
                                    "early_window_days", "due_end_of_month", "created_at"),
              ((d, company_id, f"{CITIES[n % len(CITIES)][0]} Water District {n + 1}", f"reports{n}@district.bench",
                12, "last_test", 30 * (n % 2), n % 3 == 0, now) for n, d in enumerate(district_ids)))
        _copy(cursor, "gauges", ("id", "company_id", "make", "model", "serial", "last_calibrated_on",
                                 "calibration_due_on", "created_at"),
              ((uuid.uuid4(), company_id, "Midwest", "845-5", f"G-{n:05d}", today - dt.timedelta(days=30 + n * 9),
                today + dt.timedelta(days=335 - n * 9), now) for n in range(30)))
        _copy(cursor, "customers", ("id", "company_id", "name", "billing_address", "email", "phone", "created_at"),
              ((c, company_id, f"{rng.choice(OWNERS)} {rng.choice(BUSINESSES)} {n:05d}",
                f"PO Box {n + 100}, Springfield, OR 97477", f"billing{n}@customer.bench",
                f"541-555-{n % 10000:04d}", now - dt.timedelta(minutes=n)) for n, c in enumerate(customer_ids)))

        def location_rows():
            for n, (location_id, customer_id) in enumerate(locations):
                city, state, postal = CITIES[n % len(CITIES)]
                line1 = f"{100 + n} {STREETS[n % len(STREETS)]} {SUFFIXES[n // len(STREETS) % len(SUFFIXES)]}"
                yield (location_id, company_id, customer_id, district_ids[n % len(district_ids)], line1, city, state,
                       postal, address_key(line1, None, city, state, postal), f"Site contact {n}",
                       "Ask at the front desk", now)

        _copy(cursor, "customer_locations", ("id", "company_id", "customer_id", "district_id", "address_line1",
                                             "city", "state", "postal_code", "address_key", "site_contact_name",
                                             "access_notes", "created_at"), location_rows())

        def device_rows():
            for n in range(customers * 5 // 2):
                maker, model = MANUFACTURERS[n % len(MANUFACTURERS)]
                last_test = today - dt.timedelta(days=rng.randrange(0, 730))
                next_due = last_test + dt.timedelta(days=365)
                yield (uuid.uuid4(), company_id, locations[n % location_count][0], rng.choice(kinds), maker, model,
                       f"SN{n:07d}", rng.choice(("3/4", "1", "1 1/2", "2", "4")), "Mechanical room",
                       "health" if n % 3 else "non_health", last_test - dt.timedelta(days=365 * 3), "active",
                       last_test, next_due, now)

        _copy(cursor, "devices", ("id", "company_id", "location_id", "device_type", "manufacturer", "model", "serial",
                                  "size", "where_installed", "hazard", "install_date", "status", "last_test_on",
                                  "next_test_due", "created_at"), device_rows())


# --- test records -------------------------------------------------------------------------------------------

TESTS_PER_DEVICE = 4  # the yearly tests since installation: the oldest is the installation test
FIRST_SLOT, SLOT, SLOT_TEST_DONE = dt.time(7, 15), dt.timedelta(minutes=45), dt.timedelta(minutes=30)


def _readings_pool(rng: random.Random) -> dict[tuple[str, str], list[tuple[dict, list]]]:
    """Readings per assembly type that the rules judge 'pass' or 'fail', each with its checks as
    `record_test` stores them; tests draw from these instead of judging 200,000 sets of readings."""
    pool: dict[tuple[str, str], list[tuple[dict, list]]] = defaultdict(list)
    for kind in rules.ASSEMBLY_TYPES:
        while len(pool[kind, "pass"]) < 20 or len(pool[kind, "fail"]) < 20:
            readings = {key: f"{rng.uniform(0.5, 12):.1f}" if rules.is_psid(key) else rng.choice(("yes",) * 9 + ("no",))
                        for key in rules.required_readings(kind)}
            evaluation = rules.evaluate(kind, readings)
            pool[kind, evaluation.result].append((readings, [{"key": c.key, "label": c.label, "passed": c.passed,
                                                              "reason": c.reason} for c in evaluation.checks]))
    return pool


def _company_zone(session_or_connection, company_id: uuid.UUID) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(session_or_connection.execute(
        sa.text("SELECT timezone FROM companies WHERE id = :c"), {"c": company_id}).scalar_one())


def _technicians(connection, company_id: uuid.UUID) -> list:
    """The technicians by e-mail: the first (technician0@large.bench) is the benchmark technician."""
    return connection.execute(sa.text(
        "SELECT u.id, p.full_name, p.certification_number, p.certification_expires_on FROM users u "
        "JOIN profiles p ON p.user_id = u.id WHERE u.company_id = :c AND p.role = 'technician' ORDER BY u.email"),
        {"c": company_id}).all()


def _copy_tests(db: Database, company_id: uuid.UUID) -> None:
    """Four yearly tests of every device, the latest on its `last_test_on` and passed (so the device's dates stay
    true), the oldest its installation test. About one in ten failed first and passed after a repair; one in
    twenty-five of the older ones failed outright. A day's tests go round the technicians in 45-minute slots,
    so each technician's day is a plausible route. Reports are marked printed but no PDF is written: a seeded
    certificate's download answers 404."""
    rng = random.Random(11)
    pool = _readings_pool(rng)
    now = dt.datetime.now(dt.timezone.utc)
    with _bulk_transaction(db) as connection:
        zone = _company_zone(connection, company_id)
        today = now.astimezone(zone).date()
        # No test is later than now: devices seeded as tested today (by the company's clock or, ahead of it, the
        # server's) were tested yesterday, so today's board holds only the benchmark technician's route.
        connection.execute(sa.text(
            "UPDATE devices SET next_test_due = next_test_due - (last_test_on - :yesterday), last_test_on = :yesterday "
            "WHERE company_id = :c AND last_test_on >= :today"),
            {"c": company_id, "today": today, "yesterday": today - dt.timedelta(days=1)})
        # Tests are signed by certified testers: give the seeded technicians a certification once.
        connection.execute(sa.text(
            "UPDATE profiles SET certification_number = 'BPAT-' || lpad((row_number)::text, 5, '0'), "
            "certification_expires_on = :expires FROM (SELECT p.id, row_number() OVER (ORDER BY u.email) "
            "FROM profiles p JOIN users u ON u.id = p.user_id WHERE u.company_id = :c AND p.role = 'technician' "
            "AND p.certification_number IS NULL) numbered WHERE profiles.id = numbered.id"),
            {"c": company_id, "expires": today + dt.timedelta(days=400)})
        technicians = _technicians(connection, company_id)
        gauges = connection.execute(sa.text(
            "SELECT id, make, model, serial, last_calibrated_on, calibration_due_on FROM gauges "
            "WHERE company_id = :c ORDER BY serial"), {"c": company_id}).all()
        devices = connection.execute(sa.text(
            "SELECT d.id, d.device_type, d.serial, d.manufacturer, d.model, d.size, d.where_installed, "
            "d.last_test_on, c.name, l.address_line1, l.city, l.state, l.postal_code, ds.name "
            "FROM devices d JOIN customer_locations l ON l.id = d.location_id JOIN customers c ON c.id = l.customer_id "
            "LEFT JOIN districts ds ON ds.id = l.district_id "
            "WHERE d.company_id = :c AND d.status = 'active' AND d.last_test_on IS NOT NULL ORDER BY d.serial"),
            {"c": company_id}).all()
        slots_taken: dict[dt.date, int] = defaultdict(int)

        def test_rows():
            for (device_id, kind, serial, maker, model, size, installed, last_test_on, customer, line1, city, state,
                 postal, district) in devices:
                facts_device = {"type": kind, "serial": serial, "manufacturer": maker, "model": model, "size": size,
                                "where_installed": installed}
                for years_back in range(TESTS_PER_DEVICE):
                    day = last_test_on - dt.timedelta(days=365 * years_back)
                    n = slots_taken[day]
                    slots_taken[day] += 1
                    technician = technicians[n % len(technicians)]
                    tested_at = dt.datetime.combine(day, FIRST_SLOT, zone) + SLOT * (n // len(technicians)) \
                        + SLOT_TEST_DONE
                    gauge = rng.choice(gauges)
                    draw = rng.random()
                    retest = None
                    if years_back and draw < 0.04:
                        readings, checks = rng.choice(pool[kind, "fail"])
                        initial = result = "fail"
                        repairs = []
                    elif draw < 0.14:
                        readings, _ = rng.choice(pool[kind, "fail"])
                        retest, checks = rng.choice(pool[kind, "pass"])
                        initial, result = "fail", "pass"
                        repairs = rng.sample(REPAIR_CHOICES, rng.choice((1, 1, 2)))
                    else:
                        readings, checks = rng.choice(pool[kind, "pass"])
                        initial = result = "pass"
                        repairs = []
                    facts = {
                        "tester": technician.full_name, "certification_number": technician.certification_number,
                        "certification_expires_on": technician.certification_expires_on.isoformat(),
                        "gauge": {"make": gauge.make, "model": gauge.model, "serial": gauge.serial,
                                  "last_calibrated_on": gauge.last_calibrated_on.isoformat(),
                                  "calibration_due_on": gauge.calibration_due_on.isoformat()},
                        "device": facts_device, "customer": customer,
                        "location": f"{line1}, {city}, {state} {postal}", "district": district, "replaces": []}
                    test_type = "installation" if years_back == TESTS_PER_DEVICE - 1 else "annual"
                    yield (uuid.uuid4(), company_id, device_id, technician.id, gauge.id, test_type, tested_at,
                           rng.randrange(45, 110), None if kind == DeviceType.AVB.value else True,
                           json.dumps(readings), initial, json.dumps(repairs),
                           None if retest is None else json.dumps(retest), result, json.dumps(checks),
                           json.dumps(facts), "done", tested_at)

        cursor = connection.connection.driver_connection.cursor()
        _copy(cursor, "test_records", ("id", "company_id", "device_id", "technician_id", "gauge_id", "test_type",
                                       "tested_at", "line_pressure_psi", "shutoff1_tight", "readings",
                                       "initial_result", "repairs", "retest_readings", "result", "checks", "facts",
                                       "report_status", "submitted_at"), test_rows())


# --- work orders and the schedule ---------------------------------------------------------------------------

JOB_LENGTH, JOB_EVERY, JOBS_A_DAY, BENCH_JOBS_TODAY = (dt.timedelta(minutes=75), dt.timedelta(minutes=85), 5, 6)


def _copy_work_orders(db: Database, company_id: uuid.UUID, count: int) -> None:
    """Work orders of which most are done: one per recent test, its job the test's slot and technician, its device
    settled by that test. The rest are still to do, at the locations due soonest: the benchmark technician's
    route today (the first job under way), five jobs a weekday for every technician until next week's Friday,
    then open orders waiting on the board, and a few canceled."""
    rng = random.Random(13)
    now = dt.datetime.now(dt.timezone.utc)
    with _bulk_transaction(db) as connection:
        zone = _company_zone(connection, company_id)
        today = now.astimezone(zone).date()
        technicians = [row.id for row in _technicians(connection, company_id)]
        office = connection.execute(sa.text(
            "SELECT u.id FROM users u JOIN profiles p ON p.user_id = u.id WHERE u.company_id = :c "
            "AND p.role = 'manager' ORDER BY u.email"), {"c": company_id}).scalars().all()
        slots = [(today, technicians[0], n) for n in range(BENCH_JOBS_TODAY)]
        days = [today + dt.timedelta(days=n) for n in range(1, 14 - today.weekday())]
        slots += [(day, technician, n) for day in days if day.weekday() < 5
                  for technician in technicians for n in range(JOBS_A_DAY)]
        opened, canceled = count // 50, count * 3 // 100
        booked = min(count // 10, len(slots))
        to_do = opened + canceled + booked
        done = connection.execute(sa.text(
            "SELECT t.id, t.device_id, t.technician_id, t.tested_at, l.id, l.customer_id FROM test_records t "
            "JOIN devices d ON d.id = t.device_id JOIN customer_locations l ON l.id = d.location_id "
            "WHERE t.company_id = :c AND t.amends_id IS NULL ORDER BY t.tested_at DESC, t.id LIMIT :n"),
            {"c": company_id, "n": count - to_do}).all()
        due = connection.execute(sa.text(
            "SELECT l.id, l.customer_id, array_agg(d.id ORDER BY d.serial) FROM customer_locations l "
            "JOIN devices d ON d.location_id = l.id AND d.status = 'active' WHERE l.company_id = :c "
            "GROUP BY l.id, l.customer_id HAVING min(d.next_test_due) >= :today "
            "ORDER BY min(d.next_test_due), l.id LIMIT :n"), {"c": company_id, "today": today, "n": to_do}).all()
        orders, items, jobs = [], [], []
        for test_id, device_id, technician_id, tested_at, location_id, customer_id in done:
            order_id = uuid.uuid4()
            starts_at, ends_at = tested_at - SLOT_TEST_DONE, tested_at + dt.timedelta(minutes=10)
            orders.append((order_id, company_id, customer_id, location_id, "test", "completed", rng.choice(office),
                           starts_at - dt.timedelta(days=rng.randrange(7, 40)), ends_at))
            items.append((uuid.uuid4(), company_id, order_id, device_id, 0, "tested", test_id))
            day_start = dt.datetime.combine(starts_at.astimezone(zone).date(), FIRST_SLOT, zone)
            jobs.append((uuid.uuid4(), company_id, order_id, technician_id, starts_at, ends_at,
                         (starts_at - day_start) // SLOT, starts_at, ends_at, orders[-1][7]))
        for n, (location_id, customer_id, device_ids) in enumerate(due):
            order_id = uuid.uuid4()
            created = now - dt.timedelta(days=rng.randrange(1, 30), minutes=n)
            if n < booked:
                day, technician_id, position = slots[n]
                starts_at = dt.datetime.combine(day, dt.time(8), zone) + JOB_EVERY * position
                under_way = day == today and position == 0 and starts_at <= now
                status = "in_progress" if under_way else "scheduled"
                jobs.append((uuid.uuid4(), company_id, order_id, technician_id, starts_at, starts_at + JOB_LENGTH,
                             position, starts_at if under_way else None, None, created))
            else:
                status = "open" if n < booked + opened else "canceled"
            orders.append((order_id, company_id, customer_id, location_id, "test", status, rng.choice(office),
                           created, now if status == "canceled" else None))
            items.extend((uuid.uuid4(), company_id, order_id, device_id, position, "pending", None)
                         for position, device_id in enumerate(device_ids))
        cursor = connection.connection.driver_connection.cursor()
        _copy(cursor, "work_orders", ("id", "company_id", "customer_id", "location_id", "kind", "status",
                                      "created_by", "created_at", "closed_at"), orders)
        _copy(cursor, "work_order_devices", ("id", "company_id", "work_order_id", "device_id", "position", "outcome",
                                             "test_record_id"), items)
        _copy(cursor, "scheduled_jobs", ("id", "company_id", "work_order_id", "technician_id", "starts_at", "ends_at",
                                         "route_position", "started_at", "completed_at", "created_at"), jobs)


# --- invoices -----------------------------------------------------------------------------------------------

TEST_FEES = {"RP": 9500, "RPDA": 12500, "DC": 8500, "DCDA": 11000, "PVB": 7500, "SVB": 7500, "AVB": 6500}
TRIP_CENTS = 3500


def _repair_price(repair: str) -> int:
    return 2500 if repair.startswith("cleaned") else 4800


def _copy_invoices(db: Database, company_id: uuid.UUID, count: int) -> None:
    """The price list, then an invoice per completed work order (test fees, repairs, trip charge, as
    `invoice_from_work_order` makes them) and invoices made by hand for repairs, numbered 1..count by date with the
    counter at count. By age: the last few days' partly drafts, the last month's sent or paid, older ones paid
    but for a few late, partly paid or void. Every payment is a row, and `paid_cents` is their sum."""
    rng = random.Random(17)
    now = dt.datetime.now(dt.timezone.utc)
    with _bulk_transaction(db) as connection:
        zone = _company_zone(connection, company_id)
        today = now.astimezone(zone).date()
        settings = connection.execute(sa.text(
            "SELECT tax_rate_bp, payment_terms_days FROM company_settings WHERE company_id = :c"),
            {"c": company_id}).first()
        tax_rate_bp, terms = settings if settings else (0, 30)
        office = connection.execute(sa.text(
            "SELECT u.id FROM users u JOIN profiles p ON p.user_id = u.id WHERE u.company_id = :c "
            "AND p.role = 'manager' ORDER BY u.email"), {"c": company_id}).scalars().all()
        customers = {row[0]: row for row in connection.execute(sa.text(
            "SELECT id, name, billing_address, email, phone FROM customers WHERE company_id = :c"), {"c": company_id})}
        billed = connection.execute(sa.text(
            "SELECT wo.id, wo.customer_id, wo.closed_at, d.device_type, d.size, d.serial, t.repairs "
            "FROM work_orders wo JOIN work_order_devices i ON i.work_order_id = wo.id "
            "JOIN devices d ON d.id = i.device_id JOIN test_records t ON t.id = i.test_record_id "
            "WHERE wo.company_id = :c AND wo.status = 'completed' ORDER BY wo.closed_at DESC, wo.id LIMIT :n"),
            {"c": company_id, "n": count}).all()
        sources = []
        for order_id, customer_id, closed_at, kind, size, serial, repairs in billed:
            inches = f" {size}″" if size else ""
            lines = [new_line(f"Backflow test, {kind}{inches}, serial {serial}", 1, TEST_FEES[kind])]
            lines += [new_line(f"Repair: {repair} (serial {serial})", 1, _repair_price(repair)) for repair in repairs]
            lines.append(new_line("Trip charge", 1, TRIP_CENTS))
            sources.append((closed_at, customer_id, order_id, lines))
        oldest = min((source[0] for source in sources), default=now - dt.timedelta(days=365))
        customer_ids = list(customers)
        for _ in range(count - len(sources)):
            made = oldest + (now - oldest) * rng.random()
            repair = rng.choice(REPAIR_CHOICES)
            lines = [new_line(f"Repair: {repair}", rng.choice((1, 1, 2)), _repair_price(repair)),
                     new_line("Trip charge", 1, TRIP_CENTS)]
            sources.append((made, rng.choice(customer_ids), None, lines))
        sources.sort(key=lambda source: source[0])
        connection.execute(sa.text(
            "INSERT INTO price_items (id, company_id, kind, device_type, size, part, unit_price_cents, taxable) "
            "VALUES (:id, :c, :kind, :type, '', :part, :price, true) ON CONFLICT DO NOTHING"),
            [{"id": uuid.uuid4(), "c": company_id, "kind": "test", "type": kind, "part": "", "price": price}
             for kind, price in TEST_FEES.items()]
            + [{"id": uuid.uuid4(), "c": company_id, "kind": "repair", "type": "", "part": repair,
                "price": _repair_price(repair)} for repair in REPAIR_CHOICES]
            + [{"id": uuid.uuid4(), "c": company_id, "kind": "trip", "type": "", "part": "", "price": TRIP_CENTS}])
        invoices, payments = [], []
        for number, (made, customer_id, order_id, lines) in enumerate(sources, start=1):
            invoice_id = uuid.uuid4()
            subtotal, tax, total = totals(lines, tax_rate_bp)
            age = (today - made.astimezone(zone).date()).days
            draw = rng.random()
            status = ("draft" if age <= 3 and draw < 0.5 else
                      ("paid" if draw < 0.3 else "sent") if age <= 30 else
                      ("paid" if draw < 0.85 else "partially_paid" if draw < 0.9 else "sent") if age <= 90 else
                      "void" if draw < 0.03 else "partially_paid" if draw < 0.04 else
                      "sent" if draw < 0.06 else "paid")
            issued = None if status == "draft" else made.astimezone(zone).date()
            paid = total if status == "paid" else total // 2 if status == "partially_paid" else 0
            if paid:
                method = rng.choice(("check", "check", "card", "cash"))
                payments.append((uuid.uuid4(), company_id, invoice_id, paid, method,
                                 f"Check {rng.randrange(1000, 9999)}" if method == "check" else None,
                                 min(issued + dt.timedelta(days=rng.randrange(3, 45)), today),
                                 None if method == "card" else rng.choice(office), made))
            snapshot = None if issued is None else json.dumps(customer_snapshot(_Customer(*customers[customer_id])))
            invoices.append((invoice_id, company_id, number, "invoice", status, customer_id, order_id, "USD",
                             json.dumps(lines), tax_rate_bp, subtotal, tax, total, paid, snapshot, issued,
                             None if issued is None else issued + dt.timedelta(days=terms),
                             None if issued is None else made,
                             made + dt.timedelta(days=40) if status == "void" else None,
                             made))
        cursor = connection.connection.driver_connection.cursor()
        _copy(cursor, "invoices", ("id", "company_id", "number", "kind", "status", "customer_id", "work_order_id",
                                   "currency", "lines", "tax_rate_bp", "subtotal_cents", "tax_cents", "total_cents",
                                   "paid_cents", "customer_snapshot", "issued_on", "due_on", "sent_at", "voided_at",
                                   "created_at"), invoices)
        _copy(cursor, "payments", ("id", "company_id", "invoice_id", "amount_cents", "method", "reference",
                                   "received_on", "recorded_by", "created_at"), payments)
        # Gapless numbering goes on from here: the next invoice made in the app is count + 1.
        connection.execute(sa.text(
            "INSERT INTO invoice_counters (company_id, last_number) VALUES (:c, :n) "
            "ON CONFLICT (company_id) DO UPDATE SET last_number = excluded.last_number"),
            {"c": company_id, "n": len(invoices)})


class _Customer:
    """Just the attributes `customer_snapshot` reads."""

    __slots__ = ("id", "name", "billing_address", "email", "phone")

    def __init__(self, *values):
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)
