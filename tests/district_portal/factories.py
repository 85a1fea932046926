"""A water district with its own district admin, devices at addresses in it, and tests of them, made through the
services as the product makes them (bulk rows, for paging, are copies of a recorded test)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from flowtrack.field_tests import services
from flowtrack.field_tests.tasks import render_test_report
from flowtrack.models.customers import Device, District
from flowtrack.models.field_tests import TestRecord
from tests.customers.factories import Records
from tests.factories import Factory, Member, Tenant
from tests.field_tests.factories import DC_PASSING, SIGNED, file_storage_of

DC_FAILING = {"check1_psid": "0.4", "check2_psid": "1.8"}


@dataclass
class Area:
    """A district of a company and the district admin who may see it."""

    tenant: Tenant
    district: District
    admin: Member


class DistrictFactory:
    def __init__(self, app, factory: Factory):
        self.app, self.factory, self.records = app, factory, Records(app)

    def area(self, tenant: Tenant, name: str | None = None) -> Area:
        district = self.records.district(tenant, **({"name": name} if name else {}))
        admin = self.factory.member(tenant.id, "district_admin", district_id=district.id)
        return Area(tenant, district, admin)

    def device(self, area: Area | Tenant, *, customer=None, **fields) -> Device:
        """An assembly at a new service address in the area's district (a Tenant: an address in no district)."""
        tenant = area.tenant if isinstance(area, Area) else area
        location = {"district_id": area.district.id} if isinstance(area, Area) else {}
        street = fields.pop("address_line1", None)
        if street:
            location["address_line1"] = street
        fields.setdefault("device_type", "DC")
        return self.records.device(tenant, self.records.location(tenant, customer, **location), **fields)

    def tested(self, tenant: Tenant, device: Device, *, days_ago: int = 0, readings: dict | None = None,
               printed: bool = False) -> TestRecord:
        """A test of the device submitted by the company's technician, `days_ago` days back."""
        gauge = self.records.gauge(tenant)
        submission = services.Submission(test_type="annual", gauge_id=gauge.id, readings=readings or DC_PASSING,
                                          **SIGNED)
        with self.records.session(tenant) as session:
            record = services.record_test(session, session.get(Device, device.id),
                                          tenant.members["technician"].user_id, submission,
                                          storage=file_storage_of(self.app))
            if days_ago:
                # Submitted tests are final for the app; the service role backdates this one as if taken then.
                record.tested_at -= dt.timedelta(days=days_ago)
        if printed:
            with self.app.app_context():
                render_test_report(str(tenant.id), str(record.id))
        return record

    def amended(self, tenant: Tenant, original: TestRecord, readings: dict) -> TestRecord:
        """A correction of a submitted test by the office."""
        with self.records.session(tenant) as session:
            submission = services.Submission(test_type="annual", gauge_id=original.gauge_id, readings=readings)
            return services.amend_test(session, session.get(TestRecord, original.id),
                                       tenant.members["manager"].user_id, submission, "Typo in check valve 1")

    def copies(self, record: TestRecord, count: int) -> None:
        """`count` more tests like `record`, an hour apart going back (for paging through many rows)."""
        columns = [c.name for c in TestRecord.__table__.columns if c.name not in ("id", "tested_at")]
        listed = ", ".join(columns)
        with self.records.db.service() as session:
            session.execute(sa.text(
                f"INSERT INTO test_records (id, tested_at, {listed}) "
                f"SELECT gen_random_uuid(), tested_at - n * interval '1 hour', {listed} "
                "FROM test_records, generate_series(1, :count) AS n WHERE id = :id"),
                {"count": count, "id": record.id})
            session.commit()


@pytest.fixture
def districts(app, factory) -> DistrictFactory:
    return DistrictFactory(app, factory)


@pytest.fixture
def eweb(districts, acme) -> Area:
    """Acme's water district "Eugene Water" and its district admin."""
    return districts.area(acme, "Eugene Water")


@pytest.fixture
def district_admin_of(app):
    """district_admin_of(area) -> a browser signed in as the area's district admin."""

    def sign_in(area: Area):
        browser = app.test_client()
        browser.sign_in_as(area.admin)
        return browser

    return sign_in


def _printed_test_in_a_district(app, factory, tenant):
    """A printed test of a device in a district with its own district admin (not the tenant's own, who has none)."""
    districts = DistrictFactory(app, factory)
    area = districts.area(tenant)
    return {"test_id": districts.tested(tenant, districts.device(area), printed=True).id}


# For the cross-tenant sweep (tests/foundation/test_cross_tenant.py).
DISTRICT_URLS = {endpoint: _printed_test_in_a_district for endpoint in ("district_portal.report_pdf",
                                                                        "district_portal.accept",
                                                                        "district_portal.reject")}
