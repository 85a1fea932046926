"""Service requests for tests, asked through the service as the portal's form asks them."""
from __future__ import annotations

import secrets

import sqlalchemy as sa

from flowtrack.core.permissions import Role
from flowtrack.models.customers import Customer
from flowtrack.models.service_requests import ServiceRequestPhoto
from flowtrack.service_requests import services
from tests.customers.factories import Records
from tests.factories import Member, Tenant, file_store
from tests.field_tests.factories import camera_photo


def portal_customer(app, factory, tenant: Tenant, **customer_fields):
    """A customer with two places (a device at each) and a portal sign-in of its own: (customer, member,
    [(place, device), (place, device)])."""
    records = Records(app)
    customer = records.customer(tenant, **{"name": "Harbor Dairy", **customer_fields})
    places, number = [], secrets.randbelow(900_000) + 100  # a company has each address once
    for street in ("Harbor Way", "Dock Road"):
        place = records.location(tenant, customer, address_line1=f"{number} {street}")
        places.append((place, records.device(tenant, place, device_type="RP")))
    member = factory.member(tenant.id, Role.customer.value, customer_id=customer.id)
    return customer, member, places


def requester(factory, tenant: Tenant, customer, *, may_see_invoices: bool = False) -> Member:
    """The customer's property manager, signing in to its portal as a requester."""
    return factory.member(tenant.id, Role.requester.value, customer_id=customer.id, may_see_invoices=may_see_invoices)


def asked(app, factory, tenant: Tenant, *, kind: str = "repair", member: Member | None = None, customer=None,
          place=None, devices=(), notes: str | None = "The relief valve drips.", pictures=()):
    """An open request of a (new) portal customer at its first place (with photos of `pictures`' bytes)."""
    if customer is None:
        customer, member, places = portal_customer(app, factory, tenant)
        place, device = places[0]
        devices = devices or [device]
    records = Records(app)
    with app.app_context(), records.session(tenant) as session:  # the office's email links to the request
        request = services.ask(session, session.get(Customer, customer.id), member.user_id, location_id=place.id,
                               kind=kind, device_ids=[device.id for device in devices], notes=notes,
                               pictures=list(pictures), storage=file_store(app))
        session.commit()
        return request


def _request(app, factory, tenant):
    return {"request_id": asked(app, factory, tenant).id}


def _photo(app, factory, tenant):
    request = asked(app, factory, tenant, pictures=[camera_photo(800, 600)])
    with app.extensions["flowtrack.db"].service() as session:
        return {"photo_id": session.scalar(sa.select(ServiceRequestPhoto.id)
                                           .where(ServiceRequestPhoto.request_id == request.id))}


SERVICE_REQUEST_URLS = {"service_requests.detail": _request, "service_requests.convert": _request,
                        "service_requests.decline": _request, "service_requests.mine_detail": _request,
                        "service_requests.photo": _photo, "service_requests.photo_thumbnail": _photo,
                        "service_requests.my_photo": _photo, "service_requests.my_photo_thumbnail": _photo}
