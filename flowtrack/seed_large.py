"""A large company for benchmarks, loaded with COPY: `flowtrack seed --scale large`.

It builds the company, its team, its records (20,000 customers, 25,000
service locations, 50,000 devices in a dozen districts, 30 test kits) and a
valid audit chain of a million entries, plus a few small companies beside it.
Every part is topped up to its target, so running it twice adds nothing.
Test records, work orders and invoices join as their generators are written.
"""
from __future__ import annotations

import datetime as dt
import os
import random
import uuid

import sqlalchemy as sa

from flowtrack.addresses import address_key
from flowtrack.audit import services as audit
from flowtrack.auth.services import add_member, create_company
from flowtrack.db import Database
from flowtrack.models.accounts import Role
from flowtrack.models.audit import AuditEntry
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer, DeviceType

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
               echo=print) -> uuid.UUID:
    """Create the large company (once), its records (`customers`, with 1.25 locations and 2.5 devices a
    customer) and fill its audit chain up to `audit_entries`."""
    with db.service() as session:
        company_id = session.scalar(sa.select(Company.id).where(Company.name == LARGE_COMPANY))
        if company_id is None:
            company = create_company(session, LARGE_COMPANY, plan="enterprise")
            company_id = company.id
            people = [(Role.company_admin, 1), (Role.office, 4), (Role.technician, 20), (Role.auditor, 1)]
            for role, count in people:
                for n in range(count):
                    add_member(session, company_id, email=f"{role.value}{n}@large.bench", password=None,
                               role=role.value, full_name=f"{role.value.title()} {n}")
            for n in range(small_companies):
                small = create_company(session, f"Small Co {n} (benchmark)")
                add_member(session, small.id, email=f"admin@small{n}.bench", password=None,
                           role=Role.company_admin.value, full_name="Small Admin")
            session.commit()
        if not session.scalar(sa.select(sa.func.count()).select_from(Customer)
                              .where(Customer.company_id == company_id)):
            echo(f"writing {customers:,} customers, {customers * 5 // 4:,} locations, "
                 f"{customers * 5 // 2:,} devices with COPY")
            _copy_records(db, company_id, customers)
        have = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                              .where(AuditEntry.company_id == company_id))
        missing = audit_entries - have
        if missing > 0:
            echo(f"writing {missing:,} audit entries with COPY")
            _copy_audit_entries(db, session, company_id, missing)
    return company_id


def _copy_audit_entries(db: Database, session, company_id: uuid.UUID, count: int) -> None:
    last_seq, last_hash = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.entry_hash).where(AuditEntry.company_id == company_id)
        .order_by(AuditEntry.seq.desc()).limit(1)).one()
    users = session.execute(sa.text("SELECT id, email FROM users WHERE company_id = :c"), {"c": company_id}).all()
    rng = random.Random(42)
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=730)
    step = dt.timedelta(days=729) / count
    prev = last_hash
    with db.service_engine.begin() as connection:
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
    with db.service_engine.begin() as connection:
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
