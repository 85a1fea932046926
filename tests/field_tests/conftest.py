"""The scene of most field-test stories: Harbor Dairy's RP, due for its test, at a location where the
technician has a job booked, and a calibrated test kit."""
import datetime as dt

import pytest

from tests.customers.factories import records  # noqa: F401  (the fixture)
from tests.scheduling.factories import planner  # noqa: F401  (the fixture)


@pytest.fixture
def dairy(records, acme):  # noqa: F811
    district = records.district(acme, name="Springfield Utility Board")
    customer = records.customer(acme, name="Harbor Dairy")
    return records.location(acme, customer, address_line1="120 Main Street", district_id=district.id)


@pytest.fixture
def rp(records, acme, planner, dairy):  # noqa: F811
    device = records.device(acme, dairy, device_type="RP", serial="RP-4512", manufacturer="Watts",
                            last_test_on=dt.date.today() - dt.timedelta(days=370))
    planner.assign(acme, device)
    return device


@pytest.fixture
def kit(records, acme):  # noqa: F811
    return records.gauge(acme, serial="G-1001")
