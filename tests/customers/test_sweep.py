"""An anonymized company loses its customers, locations, districts, devices and test kits; others keep theirs."""
import datetime as dt

import sqlalchemy as sa

from flowtrack.devices import services
from flowtrack.lifecycle import anonymize
from flowtrack.models.customers import Device
from tests.lifecycle.helpers import end_subscription

TABLES = ("districts", "customers", "customer_locations", "devices", "gauges")


def counts(app, tenant) -> dict[str, int]:
    with app.extensions["flowtrack.db"].service() as s:
        return {t: s.scalar(sa.text(f"SELECT count(*) FROM {t} WHERE company_id = :c"), {"c": tenant.id})
                for t in TABLES}


def _fill(records, tenant):
    district = records.district(tenant)
    location = records.location(tenant, district_id=district.id)
    old = records.device(tenant, location)
    with records.session(tenant) as s:
        services.replace_device(s, s.get(Device, old.id), device_type="DC", manufacturer="Ames",
                                serial=f"R-{old.serial}")
    records.gauge(tenant)


def test_the_sweep_removes_every_record_of_an_expired_company_only(app, acme, bravo, records):
    _fill(records, acme)
    _fill(records, bravo)
    end_subscription(app, acme.id, ago=31 * dt.timedelta(days=1))
    result = anonymize.anonymize_company(app.extensions["flowtrack.db"], acme.id, dt.datetime.now(dt.timezone.utc))
    assert result.status == "anonymized", result.reason
    assert counts(app, acme) == dict.fromkeys(TABLES, 0)
    assert counts(app, bravo) == {"districts": 1, "customers": 1, "customer_locations": 1, "devices": 2, "gauges": 1}
