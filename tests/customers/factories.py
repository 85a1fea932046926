"""Districts, customers, locations, devices and gauges for tests, made through the services as the product does."""
from __future__ import annotations

import datetime as dt
import secrets
from contextlib import contextmanager
from typing import Iterator

import pytest
import sqlalchemy.orm as so

from flowtrack.core.db import bind_company
from flowtrack.customers import services as customers
from flowtrack.devices import services as devices
from flowtrack.districts import services as districts
from tests.factories import Tenant


class Records:
    def __init__(self, app):
        self.db = app.extensions["flowtrack.db"]

    @contextmanager
    def session(self, tenant: Tenant) -> Iterator[so.Session]:
        """A service-role session held to one company by the application-layer filter."""
        with self.db.service() as session:
            bind_company(session, tenant.id)
            yield session
            session.commit()

    def district(self, tenant: Tenant, **fields):
        fields.setdefault("name", f"Water District {secrets.token_hex(4)}")
        with self.session(tenant) as s:
            return districts.create_district(s, **fields)

    def customer(self, tenant: Tenant, **fields):
        fields.setdefault("name", f"Customer {secrets.token_hex(3)}")
        with self.session(tenant) as s:
            return customers.create_customer(s, **fields)

    def location(self, tenant: Tenant, customer=None, **fields):
        customer = customer or self.customer(tenant)
        fields.setdefault("address_line1", f"{secrets.randbelow(90000) + 100} {secrets.token_hex(3)} Street")
        fields.setdefault("city", "Springfield")
        fields.setdefault("state", "OR")
        fields.setdefault("postal_code", "97477")
        with self.session(tenant) as s:
            return customers.create_location(s, s.get(type(customer), customer.id), **fields)

    def device(self, tenant: Tenant, location=None, **fields):
        location = location or self.location(tenant)
        fields.setdefault("device_type", "RP")
        fields.setdefault("manufacturer", "Watts")
        fields.setdefault("serial", f"SN-{secrets.token_hex(4).upper()}")
        with self.session(tenant) as s:
            return devices.create_device(s, s.get(type(location), location.id), **fields)

    def gauge(self, tenant: Tenant, **fields):
        fields.setdefault("make", "Midwest")
        fields.setdefault("serial", f"G-{secrets.token_hex(4).upper()}")
        fields.setdefault("last_calibrated_on", dt.date.today() - dt.timedelta(days=30))
        fields.setdefault("calibration_due_on", dt.date.today() + dt.timedelta(days=335))
        with self.session(tenant) as s:
            return devices.create_gauge(s, **fields)


@pytest.fixture
def records(app) -> Records:
    return Records(app)


# Every endpoint of these pages whose URL carries an id -> a maker of such an object for a tenant, returning the
# URL's arguments. tests/foundation/test_cross_tenant.py sweeps them with the others.
def _customer(app, factory, tenant):
    return {"customer_id": Records(app).customer(tenant).id}


def _location(app, factory, tenant):
    return {"location_id": Records(app).location(tenant).id}


def _device(app, factory, tenant):
    return {"device_id": Records(app).device(tenant).id}


def _district(app, factory, tenant):
    return {"district_id": Records(app).district(tenant).id}


def _gauge(app, factory, tenant):
    return {"gauge_id": Records(app).gauge(tenant).id}


RECORD_URLS = {
    **{endpoint: _customer for endpoint in ("customers.detail", "customers.edit", "customers.archive",
                                            "customers.restore", "customers.row", "customers.contact_form",
                                            "customers.save_contact", "customers.new_location",
                                            "customers.invite_portal_user")},
    **{endpoint: _location for endpoint in ("customers.location", "customers.edit_location", "devices.new")},
    **{endpoint: _device for endpoint in ("devices.detail", "devices.edit", "devices.replace")},
    **{endpoint: _district for endpoint in ("districts.edit", "districts.delete", "districts.report_form",
                                            "districts.check_report_form", "districts.preview_report_form",
                                            "districts.report_form_pdf")},
    **{endpoint: _gauge for endpoint in ("gauges.edit", "gauges.delete", "gauges.retire",
                                         "gauges.return_to_service")},
}
