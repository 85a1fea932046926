"""Any URL with another company's object id answers 404, never the object.

`OBJECT_URLS` maps every endpoint whose URL carries an id to a function that
makes such an object for a tenant and returns the URL's arguments. A test
fails when a route with arguments is missing here, so new routes join the
sweep as they are written.
"""
import secrets

import pytest
import sqlalchemy as sa
from flask import url_for

from flowtrack.audit_log.tasks import verify_company_chain
from flowtrack.core import permissions
from flowtrack.core.permissions import Role
from flowtrack.core.queue import enqueue_for_company
from flowtrack.models.audit import AuditEntry
from tests.booking.factories import BOOKING_URLS
from tests.customers.factories import RECORD_URLS
from tests.devices.factories import DATAPLATE_URLS
from tests.district_portal.factories import DISTRICT_URLS
from tests.field_tests.factories import TESTING_URLS
from tests.imports.factories import IMPORT_URLS
from tests.inventory.factories import INVENTORY_URLS
from tests.invoices.factories import INVOICE_URLS
from tests.portal.factories import PORTAL_URLS
from tests.quotes.factories import QUOTE_URLS
from tests.scheduling.factories import SCHEDULING_URLS
from tests.service_requests.factories import SERVICE_REQUEST_URLS
from tests.submissions.factories import SUBMISSION_URLS
from tests.vendors.factories import VENDOR_URLS


def _verification_job(app, factory, tenant):
    with app.test_request_context():
        job = enqueue_for_company(verify_company_chain, tenant.id)
    return {"job_id": job.id}


ROLES = [role.value for role in Role]

def _audit_entry(app, factory, tenant):
    with app.extensions["flowtrack.db"].service() as session:
        entry = session.scalars(sa.select(AuditEntry).where(AuditEntry.company_id == tenant.id)).first()
        return {"entry_id": entry.id}


def _export(kind):
    def make(app, factory, tenant):
        return {"export_id": factory.finished_export(tenant, kind).id}

    return make


def _profile(app, factory, tenant):
    return {"profile_id": tenant.members["manager"].profile_id}


def _undeliverable_address(app, factory, tenant):
    from tests.notifications.bounces import bounced

    return {"suppression_id": bounced(app, tenant, f"gone-{secrets.token_hex(4)}@example.com").id}


def _failed_email(app, factory, tenant):
    from flowtrack.models.notifications import NotificationEmail

    with app.extensions["flowtrack.db"].service() as session:
        email = NotificationEmail(company_id=tenant.id, to_address="ap@harbordairy.example", subject="Invoice",
                                  body="Body", sensitive=False, status="failed", attempts=3,
                                  error="ConnectionRefusedError")
        session.add(email)
        session.commit()
        return {"email_id": email.id}


def _live_session(app, factory, tenant):
    from flowtrack.models.accounts import AuthSession

    member = tenant.members["manager"]
    factory.session_token(member)
    with app.extensions["flowtrack.db"].service() as session:
        return {"session_id": session.scalar(sa.select(AuthSession.id).where(AuthSession.user_id == member.user_id))}


TEAM_MEMBER_ENDPOINTS = ("team.change_role", "team.deactivate", "team.reactivate", "team.resend", "team.sign_out",
                         "team.reset_mfa", "team.technician")

OBJECT_URLS = {
    **{endpoint: _profile for endpoint in TEAM_MEMBER_ENDPOINTS},
    "account.revoke_session": _live_session,
    "notifications.clear_suppression": _undeliverable_address,
    "notifications.send_again": _failed_email,
    "audit.verification": _verification_job,
    "audit.entry": _audit_entry,
    "audit.status": _export("audit_csv"),
    "audit.download": _export("audit_pdf"),
    "exports.status": _export("data_zip"),
    "exports.download": _export("data_zip"),
    **RECORD_URLS,
    **TESTING_URLS,
    **IMPORT_URLS,
    **SCHEDULING_URLS,
    **INVOICE_URLS,
    **PORTAL_URLS,
    **DISTRICT_URLS,
    **SERVICE_REQUEST_URLS,
    **SUBMISSION_URLS,
    **VENDOR_URLS,
    **INVENTORY_URLS,
    **QUOTE_URLS,
    **BOOKING_URLS,
    **DATAPLATE_URLS,
}


def test_every_route_with_an_id_is_in_the_sweep(app):
    def tenant_route(endpoint):
        view = app.view_functions[endpoint]
        return endpoint not in permissions.PUBLIC_ENDPOINTS and \
            permissions.declared_permission(view) != permissions.PUBLIC

    missing = sorted({rule.endpoint for rule in app.url_map.iter_rules()
                      if rule.arguments and tenant_route(rule.endpoint) and rule.endpoint not in OBJECT_URLS})
    assert missing == []


@pytest.mark.parametrize("endpoint", sorted(OBJECT_URLS))
def test_another_companys_object_is_not_found(app, factory, acme, bravo, login, endpoint):
    arguments = OBJECT_URLS[endpoint](app, factory, bravo)
    rules = [r for r in app.url_map.iter_rules() if r.endpoint == endpoint]
    with app.test_request_context():
        url = url_for(endpoint, **arguments)
    needed = permissions.declared_permission(app.view_functions[endpoint])
    for role in ROLES:
        browser = login(acme, role)
        # Roles without the permission are stopped before the lookup; the rest must not find the object.
        expected = 404 if permissions.allowed(role, needed) else 403
        for rule in rules:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = browser.open(url, method=method, headers={"X-CSRFToken": browser.csrf_token()})
                assert response.status_code == expected, f"{role} {method} {url}: {response.status_code}"
