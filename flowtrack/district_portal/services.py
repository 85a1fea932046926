"""What a district admin may see: the current tests of devices in their own water district, those tests' reports,
and the district's devices; nothing else, and nothing to change.

Everything is looked up through the district the admin's profile names. A district admin without one (made
before districts were asked for) sees nothing: the statements then select no rows, rather than the rows whose
district is empty, which is what comparing with None would ask SQL for.

The test list is read newest first along the (company_id, tested_at, id) index, a page at a time after the last
row shown (keyset), so a page costs about the same whatever the number of tests; the CSV streams the same rows.
"""
from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Iterator

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core import paging
from flowtrack.core.csv_text import csv_chunks
from flowtrack.core.paging import Page, paginate
from flowtrack.core.permissions import Role
from flowtrack.customers.addresses import normalise_street
from flowtrack.devices.services import normal_serial
from flowtrack.models.accounts import Profile
from flowtrack.models.customers import Customer, CustomerLocation, Device, District
from flowtrack.models.field_tests import ReportStatus, TestRecord, TestResult, TestType, current_tests

PAGE_SIZE = 50
RESULTS = {result.value: result.label for result in TestResult}
CSV_HEADER = ("tested_on", "tested_at", "test_type", "result", "assembly_type", "serial", "manufacturer", "model",
              "size", "address", "customer", "tester", "tester_certification", "report_id")
# The end of a serial prefix range, in the serial column's byte order ("C").
_TOP = chr(0x10FFFF)


def district_of(session: so.Session, user_id: uuid.UUID) -> District | None:
    """The water district a district admin may see (None: not linked to one yet)."""
    return session.scalar(sa.select(District).join(Profile, Profile.district_id == District.id)
                          .where(Profile.user_id == user_id, Profile.role == Role.district_admin.value))


def normalised_address(location: CustomerLocation) -> str:
    """The service address as districts match it: USPS abbreviations, upper case ("123 MAIN ST, EUGENE, OR 97401")."""
    street, city, state, postal_code = location.address_key.split("|")
    return f"{street}, {city}, {state} {postal_code}".upper()


def _in_district(statement: sa.Select, district_id: uuid.UUID | None) -> sa.Select:
    if district_id is None:
        return statement.where(sa.false())
    return statement.where(CustomerLocation.district_id == district_id)


def _searched(statement: sa.Select, q: str | None) -> sa.Select:
    """Devices whose serial begins with `q`, or whose address holds it (both compared as normalised)."""
    serial, street = normal_serial(q), normalise_street(q)
    if not serial:
        return statement
    matches = sa.and_(Device.serial >= serial, Device.serial < serial + _TOP)
    if street:
        matches = sa.or_(matches, CustomerLocation.address_key.contains(street, autoescape=True))
    return statement.where(matches)


# --- tests ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TestQuery:
    """The list's filters (all optional) and the row to continue after."""

    tested_from: dt.date | None = None
    tested_to: dt.date | None = None
    result: str | None = None
    device_type: str | None = None
    q: str | None = None
    after: str | None = None

    def params(self, **changes) -> dict[str, str]:
        """The query string of this list, for links, pushed URLs and the CSV link."""
        values = {"tested_from": self.tested_from, "tested_to": self.tested_to, "result": self.result,
                  "device_type": self.device_type, "q": self.q, "after": self.after, **changes}
        return {k: v.isoformat() if isinstance(v, dt.date) else str(v) for k, v in values.items() if v}


@dataclass
class TestRow:
    record: TestRecord
    device: Device
    location: CustomerLocation

    # The customer and the tester as the report names them, frozen when the test was submitted (which also
    # keeps the customers table out of the list's statement).
    @property
    def customer_name(self) -> str:
        return self.record.facts.get("customer") or ""

    @property
    def tester(self) -> str:
        return self.record.facts.get("tester") or ""

    @property
    def address(self) -> str:
        return normalised_address(self.location)

    @property
    def report_ready(self) -> bool:
        return self.record.report_status == ReportStatus.done.value




def _day_start(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), zone)


def _tests(district_id: uuid.UUID | None, query: TestQuery, zone: zoneinfo.ZoneInfo) -> sa.Select:
    """The district's current tests (an amended original gives way to its amendment) that the filters select,
    newest first. Days are the company's days."""
    statement = _in_district(
        current_tests().add_columns(Device, CustomerLocation)
        .join(Device, Device.id == TestRecord.device_id)
        .join(CustomerLocation, CustomerLocation.id == Device.location_id), district_id)
    if query.tested_from:
        statement = statement.where(TestRecord.tested_at >= _day_start(query.tested_from, zone))
    if query.tested_to:
        statement = statement.where(TestRecord.tested_at < _day_start(query.tested_to + dt.timedelta(days=1), zone))
    if query.result:
        statement = statement.where(TestRecord.result == query.result)
    if query.device_type:
        statement = statement.where(Device.device_type == query.device_type)
    statement = _searched(statement, query.q)
    return statement.order_by(TestRecord.tested_at.desc(), TestRecord.id.desc())


def page_of_tests(session: so.Session, district_id: uuid.UUID | None, query: TestQuery,
                  zone: zoneinfo.ZoneInfo, *, page_size: int = PAGE_SIZE) -> Page:
    """One page of the district's tests, newest first, starting after `query.after`."""
    statement = _tests(district_id, query, zone)
    position = paging.position(query.after, dt.datetime.fromisoformat)
    if position is not None:
        statement = statement.where(sa.tuple_(TestRecord.tested_at, TestRecord.id) < position)
    rows = [TestRow(*row) for row in session.execute(statement.limit(page_size + 1))]
    return paginate(rows, page_size, lambda row: paging.cursor(row.record.tested_at, row.record.id))


def csv_of_tests(session: so.Session, district_id: uuid.UUID | None, query: TestQuery,
                 zone: zoneinfo.ZoneInfo) -> Iterator[str]:
    """Every test the filters select as CSV text, a chunk at a time, read from a server-side cursor."""
    def rows():
        for row in session.execute(_tests(district_id, query, zone).execution_options(yield_per=500)):
            test = TestRow(*row)
            record, device = test.record, test.device
            tested_at = record.tested_at.astimezone(zone)
            yield (tested_at.date().isoformat(), tested_at.isoformat(timespec="minutes"),
                   TestType(record.test_type).label, RESULTS[record.result], device.device_type, device.serial,
                   device.manufacturer, device.model or "", device.size or "", test.address, test.customer_name,
                   test.tester, record.facts.get("certification_number") or "", str(record.id))
    return csv_chunks(CSV_HEADER, rows())


def find_test(session: so.Session, district_id: uuid.UUID | None, test_id: uuid.UUID) -> TestRecord | None:
    """One current test of the district (another district's, an amended original, or another company's: None)."""
    return session.scalar(_in_district(
        current_tests().join(Device, Device.id == TestRecord.device_id)
        .join(CustomerLocation, CustomerLocation.id == Device.location_id), district_id)
        .where(TestRecord.id == test_id))


# --- devices ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceQuery:
    device_type: str | None = None
    q: str | None = None
    after: str | None = None

    def params(self, **changes) -> dict[str, str]:
        values = {"device_type": self.device_type, "q": self.q, "after": self.after, **changes}
        return {k: str(v) for k, v in values.items() if v}


@dataclass
class DeviceRow:
    device: Device
    location: CustomerLocation
    customer_name: str
    last_tested_at: dt.datetime | None
    last_result: str | None
    last_test_id: uuid.UUID | None
    last_report_status: str | None

    @property
    def address(self) -> str:
        return normalised_address(self.location)

    @property
    def report_ready(self) -> bool:
        return self.last_report_status == ReportStatus.done.value


def page_of_devices(session: so.Session, district_id: uuid.UUID | None, query: DeviceQuery, *,
                    page_size: int = PAGE_SIZE) -> Page:
    """The district's devices by serial (the unique index's order), a page at a time, each with its latest test
    (found through the device's own test index, once per row shown)."""
    latest = (current_tests().with_only_columns(TestRecord.tested_at, TestRecord.result, TestRecord.id,
                                                TestRecord.report_status)
              .where(TestRecord.device_id == Device.id)
              .order_by(TestRecord.tested_at.desc()).limit(1).lateral("latest"))
    statement = _in_district(
        sa.select(Device, CustomerLocation, latest.c.tested_at, latest.c.result, latest.c.id, latest.c.report_status)
        .join(CustomerLocation, CustomerLocation.id == Device.location_id)
        .outerjoin(latest, sa.true()), district_id)
    if query.device_type:
        statement = statement.where(Device.device_type == query.device_type)
    statement = _searched(statement, query.q)
    if query.after:
        statement = statement.where(Device.serial > query.after)
    page = paginate(session.execute(statement.order_by(Device.serial).limit(page_size + 1)).all(), page_size,
                    lambda row: row[0].serial)
    rows = page.items
    # The page's customers in a statement of their own: joined into the one above, the customers table's
    # statistics can talk the planner out of walking the serial index.
    names = dict(session.execute(sa.select(Customer.id, Customer.name).where(
        Customer.id.in_({location.customer_id for _, location, *_ in rows}))).all()) if rows else {}
    items = [DeviceRow(device, location, names.get(location.customer_id, ""), *latest_test)
             for device, location, *latest_test in rows]
    return Page(items, page.next_after)
