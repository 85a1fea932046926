"""People read every time in their company's zone. A company in Auckland, where the morning of Dec 7 is still
the evening of Dec 6 in UTC, sees Dec 7 on its pages, its customer's portal, its file names and its audit log
(where the auditor also finds the UTC time)."""
import datetime as dt

import pytest
import sqlalchemy as sa

from flowtrack.core import dates
from flowtrack.core.permissions import Role
from flowtrack.models.audit import AuditEntry
from flowtrack.models.field_tests import TestRecord
from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.field_tests.factories import printed_test

# 20:30 on Dec 6 in UTC is 09:30 on Dec 7 in Auckland (NZDT, UTC+13).
MOMENT = dt.datetime(2026, 12, 6, 20, 30, tzinfo=dt.timezone.utc)


@pytest.fixture
def auckland(factory):
    tenant = factory.tenant("Kiwi Backflow")
    with factory.db.service() as session:
        session.execute(sa.text("UPDATE companies SET timezone = 'Pacific/Auckland' WHERE id = :c"), {"c": tenant.id})
        session.commit()
    tenant.company.timezone = "Pacific/Auckland"
    return tenant


def test_the_date_and_time_filters_read_a_moment_in_the_zone_and_refuse_to_guess_one():
    assert dates.date(MOMENT, "Pacific/Auckland") == "Dec 7, 2026"
    assert dates.date(MOMENT, "America/Los_Angeles") == "Dec 6, 2026"
    assert dates.local_time(MOMENT, "Pacific/Auckland") == "December 7, 2026 at 09:30 NZDT"
    assert dates.utc(MOMENT) == "2026-12-06 20:30:00"
    assert dates.date(dt.date(2026, 12, 7)) == "Dec 7, 2026"  # a calendar day needs no zone
    with pytest.raises(ValueError):
        dates.date(MOMENT)


def test_the_customer_reads_the_day_of_the_test_as_the_company_does(app, factory, auckland, records):  # noqa: F811
    customer = records.customer(auckland, name="Harbour Dairy")
    location = records.location(auckland, customer)
    device = records.device(auckland, location, device_type="DC")
    record = printed_test(app, factory, auckland, device)
    with factory.db.service() as session:
        session.execute(sa.update(TestRecord).where(TestRecord.id == record.id).values(tested_at=MOMENT))
        session.commit()
    member = factory.member(auckland.id, Role.customer.value, customer_id=customer.id)
    portal = app.test_client()
    portal.sign_in_as(member)
    assert "tested Dec 7, 2026" in portal.get("/portal/").text
    download = portal.get(f"/portal/certificates/{record.id}.pdf")
    assert download.status_code == 200
    assert f"test-report-{device.serial}-20261207.pdf" in download.headers["Content-Disposition"]


def test_the_auditor_reads_local_time_and_finds_utc_beside_it(app, factory, auckland):
    with factory.db.service() as session:
        session.execute(sa.update(AuditEntry).where(AuditEntry.company_id == auckland.id)
                        .values(occurred_at=MOMENT))
        session.commit()
    auditor = app.test_client()
    auditor.sign_in_as(auckland.members["auditor"])
    with factory.db.service() as session:  # signing in wrote an entry of today; the first is the company's creation
        first = session.scalar(sa.select(AuditEntry).where(AuditEntry.company_id == auckland.id,
                                                          AuditEntry.action == "company.created"))
    page = auditor.get("/audit/").text
    assert "When (UTC)" not in page and "December 7, 2026 at 09:30 NZDT" in page
    entry = auditor.get(f"/audit/entries/{first.id}").text
    assert "December 7, 2026 at 09:30 NZDT" in entry and "2026-12-06 20:30:00 UTC" in entry
