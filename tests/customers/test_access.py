"""Who may open and change the office's records, route by route, and nobody across companies.

Walks every route of the customers, devices, gauges and districts pages, so a
new route is covered the moment it exists.
"""
import json
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import url_for

from flowtrack.core import permissions
from flowtrack.core.permissions import Role
from flowtrack.models.audit import AuditEntry
from flowtrack.models.customers import Device
from tests.customers.factories import RECORD_URLS
from tests.devices.factories import DATAPLATE_URLS
from tests.scheduling.factories import Planner

ROLES = [role.value for role in Role]
BLUEPRINTS = ("customers", "devices", "gauges", "districts")
RECORD_TABLES = ("districts", "customers", "customer_locations", "devices", "gauges")

# A valid submission for each state-changing route with an id: what an attacker from another company would send.
VALID_POSTS = {
    "customers.edit": {"name": "Taken Over"},
    "customers.archive": {},
    "customers.restore": {},
    "customers.save_contact": {"phone": "541-555-0666", "email": "attacker@example.com"},
    "customers.invite_portal_user": {"full_name": "Intruder", "email": "intruder@example.com"},
    "customers.new_location": {"address_line1": "1 Intruder Way", "city": "Elsewhere", "state": "OR",
                               "postal_code": "97401", "district_id": ""},
    "customers.edit_location": {"address_line1": "1 Intruder Way", "city": "Elsewhere", "state": "OR",
                                "postal_code": "97401", "district_id": ""},
    "devices.new": {"device_type": "DC", "manufacturer": "Febco", "serial": "INTRUDER-1"},
    "devices.edit": {"device_type": "DC", "manufacturer": "Febco", "serial": "INTRUDER-2", "status": "removed"},
    "devices.replace": {"device_type": "DC", "manufacturer": "Febco", "serial": "INTRUDER-3"},
    "devices.read_plate": {},  # another company's place is not found before any photo is read
    "districts.edit": {"name": "Renamed", "test_interval_months": "24", "due_anchor": "last_test",
                       "early_window_days": "0"},
    "districts.delete": {},
    "districts.report_form": {"report_template": "<p>Taken over {{ device.serial }}</p>"},
    "districts.check_report_form": {"report_template": "<p>{{ device.serial }}</p>"},
    "districts.preview_report_form": {"report_template": "<p>{{ device.serial }}</p>"},
    "districts.report_form_pdf": {"report_template": "<p>{{ device.serial }}</p>"},
    "gauges.edit": {"make": "Midwest", "serial": "INTRUDER-4", "last_calibrated_on": "2025-01-01",
                    "calibration_due_on": "2026-01-01"},
    "gauges.delete": {},
    "gauges.retire": {},
    "gauges.return_to_service": {},
}

# The records' pages, and reading a new assembly's dataplate at a place.
URLS = {**RECORD_URLS, **DATAPLATE_URLS}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in BLUEPRINTS:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def _url(app, factory, tenant, rule):
    arguments = URLS[rule.endpoint](app, factory, tenant) if rule.arguments else {}
    with app.test_request_context():
        return url_for(rule.endpoint, **arguments)


def test_the_matrix_gives_the_office_roles_their_records_and_keeps_the_portals_out():
    office_records = {permissions.CUSTOMERS_VIEW, permissions.CUSTOMERS_EDIT, permissions.DEVICES_VIEW,
                      permissions.DEVICES_EDIT, permissions.DISTRICTS_MANAGE, permissions.GAUGES_VIEW,
                      permissions.GAUGES_MANAGE}
    granted = {role: office_records & permissions.MATRIX[Role(role)] for role in ROLES}
    assert granted == {
        "company_admin": office_records,
        "manager": office_records,
        "scheduler": {permissions.CUSTOMERS_VIEW, permissions.DEVICES_VIEW, permissions.GAUGES_VIEW},
        "coordinator": office_records - {permissions.GAUGES_VIEW, permissions.GAUGES_MANAGE},
        "inventory_manager": {permissions.GAUGES_VIEW, permissions.GAUGES_MANAGE},
        "technician": {permissions.DEVICES_VIEW, permissions.GAUGES_VIEW},
        "vendor": set(),
        "auditor": set(),
        "customer": set(),
        "requester": set(),
        "district_admin": set(),
    }


def _within_reach(app, tenant, rule, url_arguments):
    """Book the technician at the record's location: a technician's device pages reach only such places."""
    planner = Planner(app)
    if "device_id" in url_arguments:
        with app.extensions["flowtrack.db"].service() as session:
            planner.assign(tenant, session.get(Device, url_arguments["device_id"]))
    elif "location_id" in url_arguments:
        planner.assign(tenant, location=SimpleNamespace(id=url_arguments["location_id"]))


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_exactly_where_the_matrix_says(app, factory, acme, login, role):
    browser = login(acme, role)
    checked = 0
    for rule, method in _routes(app):
        arguments = URLS[rule.endpoint](app, factory, acme) if rule.arguments else {}
        if role == "technician":
            _within_reach(app, acme, rule, arguments)
        with app.test_request_context():
            url = url_for(rule.endpoint, **arguments)
        needed = permissions.declared_permission(app.view_functions[rule.endpoint])
        if method == "GET":
            response = browser.get(url)
        else:
            response = browser.submit(url)
        if permissions.allowed(role, needed):
            assert response.status_code not in (403, 404) and response.status_code < 500, \
                f"{role} {method} {url}: {response.status_code}"
        else:
            assert response.status_code == 403, f"{role} {method} {url}: {response.status_code}"
        checked += 1
    assert checked >= 10


def _fingerprint(app, tenant) -> str:
    """Every record row and the audit chain length of a company, as text."""
    with app.extensions["flowtrack.db"].service() as s:
        rows = {table: [dict(r._mapping) for r in s.execute(
            sa.text(f"SELECT * FROM {table} WHERE company_id = :c ORDER BY id"), {"c": tenant.id})]
            for table in RECORD_TABLES}
        rows["audit"] = s.scalar(sa.select(sa.func.count()).where(AuditEntry.company_id == tenant.id))
    return json.dumps(rows, default=str, sort_keys=True)


def test_every_state_changing_route_with_an_id_has_a_valid_submission_here(app):
    posts = {rule.endpoint for rule, method in _routes(app) if method == "POST" and rule.arguments}
    assert posts == set(VALID_POSTS)


@pytest.mark.parametrize("endpoint", sorted(VALID_POSTS))
def test_another_companys_record_cannot_be_changed(app, factory, acme, bravo, login, endpoint):
    url = _url(app, factory, bravo, next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint))
    before = _fingerprint(app, bravo)
    for role in ("company_admin", "manager"):
        response = login(acme, role).submit(url, VALID_POSTS[endpoint])
        assert response.status_code == 404, f"{role} POST {url}: {response.status_code}"
        hx = login(acme, role).htmx("POST", url, VALID_POSTS[endpoint])
        assert hx.status_code == 404, f"{role} HTMX POST {url}: {hx.status_code}"
    assert _fingerprint(app, bravo) == before
