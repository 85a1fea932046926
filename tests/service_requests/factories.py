"""Service requests for tests, asked through the service as the portal's form asks them."""
from __future__ import annotations

import secrets

from flowtrack.core.permissions import Role
from flowtrack.models.customers import Customer
from flowtrack.service_requests import services
from tests.customers.factories import Records
from tests.factories import Member, Tenant


def portal_customer(app, factory, tenant: Tenant, **customer_fields):
    """A customer with two places (a device at each) and a portal sign-in of its own: (customer, member,
    [(place, device), (place, device)])."""
    records = Records(app)
    customer = records.customer(tenant, **{"name": "Harbor Dairy", **customer_fields})
    places, number = [], secrets.randbelow(9000) + 100  # a company has each address once
    for street in ("Harbor Way", "Dock Road"):
        place = records.location(tenant, customer, address_line1=f"{number} {street}")
        places.append((place, records.device(tenant, place, device_type="RP")))
    member = factory.member(tenant.id, Role.customer.value, customer_id=customer.id)
    return customer, member, places


def asked(app, factory, tenant: Tenant, *, kind: str = "repair", member: Member | None = None, customer=None,
          place=None, devices=(), notes: str | None = "The relief valve drips."):
    """An open request of a (new) portal customer at its first place."""
    if customer is None:
        customer, member, places = portal_customer(app, factory, tenant)
        place, device = places[0]
        devices = devices or [device]
    records = Records(app)
    with records.session(tenant) as session:
        request = services.ask(session, session.get(Customer, customer.id), member.user_id, location_id=place.id,
                               kind=kind, device_ids=[device.id for device in devices], notes=notes)
        session.commit()
        return request


def _request(app, factory, tenant):
    return {"request_id": asked(app, factory, tenant).id}


SERVICE_REQUEST_URLS = {"service_requests.detail": _request, "service_requests.convert": _request,
                        "service_requests.decline": _request}
