"""Service requests: asked by a portal user for their own customer account, answered by the office.

A request names one of the customer's places and, optionally, devices in service there; any other id is not
found. The office makes a work order of it (its devices chosen already) or declines it with a reason; either
way the person who asked is emailed, and each step is audited.
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.core.db import utcnow
from flowtrack.models.accounts import User
from flowtrack.models.customers import Customer, CustomerLocation, Device, DeviceStatus
from flowtrack.models.scheduling import WorkOrder
from flowtrack.models.service_requests import RequestKind, RequestStatus, ServiceRequest
from flowtrack.notifications import services as outbox
from flowtrack.notifications.links import external_url
from flowtrack.work_orders import services as work_orders


class NotYours(Exception):
    """A place or device that is not the customer's (or not in service): answered as not found."""


class RequestRefused(Exception):
    """The request does not hold together; the message says why, for the person asking."""


def places_of(session: so.Session, customer_id: uuid.UUID) -> list[tuple[CustomerLocation, list[Device]]]:
    """The customer's places, each with its devices in service, for the request form."""
    places = list(session.scalars(sa.select(CustomerLocation).where(CustomerLocation.customer_id == customer_id)
                                  .order_by(CustomerLocation.address_line1, CustomerLocation.id)))
    devices = session.scalars(sa.select(Device).where(Device.location_id.in_([p.id for p in places]),
                                                      Device.status == DeviceStatus.active.value)
                              .order_by(Device.serial))
    by_place: dict[uuid.UUID, list[Device]] = {}
    for device in devices:
        by_place.setdefault(device.location_id, []).append(device)
    return [(place, by_place.get(place.id, [])) for place in places]


def ask(session: so.Session, customer: Customer, user_id: uuid.UUID, *, location_id: uuid.UUID, kind: str,
        device_ids: list[uuid.UUID], notes: str | None) -> ServiceRequest:
    """A portal user's request at one of their customer's places (NotYours for anyone else's place or device)."""
    place = session.scalar(sa.select(CustomerLocation).where(CustomerLocation.id == location_id,
                                                             CustomerLocation.customer_id == customer.id))
    if place is None:
        raise NotYours
    chosen = set(device_ids)
    theirs = {device: place for device, place in session.execute(
        sa.select(Device.id, Device.location_id).join(CustomerLocation, CustomerLocation.id == Device.location_id)
        .where(Device.id.in_(chosen), CustomerLocation.customer_id == customer.id,
               Device.status == DeviceStatus.active.value))}
    if set(theirs) != chosen:
        raise NotYours
    if any(location != place.id for location in theirs.values()):
        raise RequestRefused("Tick only devices at the place you chose.")
    request = ServiceRequest(customer_id=customer.id, location_id=place.id, kind=RequestKind(kind).value,
                             device_ids=sorted(chosen), notes=(notes or "").strip() or None,
                             status=RequestStatus.open.value, requested_by=user_id)
    session.add(request)
    session.flush()
    audit.record(session, "service_request.created", entity_type="service_request", entity_id=request.id,
                 changes={"kind": request.kind, "location": place.one_line, "devices": len(chosen)})
    return request


def requests_of(session: so.Session, customer_id: uuid.UUID) -> list[ServiceRequest]:
    """A customer's requests, newest first."""
    return list(session.scalars(sa.select(ServiceRequest).where(ServiceRequest.customer_id == customer_id)
                                .options(so.joinedload(ServiceRequest.location))
                                .order_by(ServiceRequest.created_at.desc())))


def queue(session: so.Session, *, status: str = RequestStatus.open.value) -> list[ServiceRequest]:
    """The office's queue: the oldest waiting first (answered ones, newest first)."""
    order = ServiceRequest.created_at if status == RequestStatus.open.value else ServiceRequest.decided_at.desc()
    return list(session.scalars(sa.select(ServiceRequest).where(ServiceRequest.status == status)
                                .options(so.joinedload(ServiceRequest.customer), so.joinedload(ServiceRequest.location))
                                .order_by(order, ServiceRequest.id).limit(200)))


def waiting() -> sa.Select:
    """How many requests wait for the office's answer (a statement, for the dashboard's summary too)."""
    return (sa.select(sa.func.count()).select_from(ServiceRequest)
            .where(ServiceRequest.status == RequestStatus.open.value))


def waiting_count(session: so.Session) -> int:
    return session.scalar(waiting())


def get(session: so.Session, request_id: uuid.UUID) -> ServiceRequest | None:
    return session.scalar(sa.select(ServiceRequest).where(ServiceRequest.id == request_id)
                          .options(so.joinedload(ServiceRequest.customer), so.joinedload(ServiceRequest.location)))


def devices_named(session: so.Session, request: ServiceRequest) -> list[Device]:
    return list(session.scalars(sa.select(Device).where(Device.id.in_(request.device_ids)).order_by(Device.serial)))


class AlreadyAnswered(Exception):
    """The request was answered meanwhile (by someone else): nothing changes."""


def _lock_open(session: so.Session, request: ServiceRequest) -> None:
    status = session.scalar(sa.select(ServiceRequest.status).where(ServiceRequest.id == request.id)
                            .with_for_update())
    if status != RequestStatus.open.value:
        raise AlreadyAnswered


def devices_at_place(session: so.Session, request: ServiceRequest) -> list[Device]:
    """The assemblies in service at the request's place: those the office may put on its work order."""
    return list(session.scalars(sa.select(Device).where(Device.location_id == request.location_id,
                                                        Device.status == DeviceStatus.active.value)
                                .order_by(Device.serial)))


def convert(session: so.Session, request: ServiceRequest, user_id: uuid.UUID, *, work_kind: str,
            device_ids: list[uuid.UUID]) -> WorkOrder:
    """A work order at the request's place for the devices the office chose there (WorkRefused says why it cannot
    be made)."""
    _lock_open(session, request)
    order = work_orders.create_work_order(session, request.location, device_ids, created_by=user_id,
                                          kind=work_kind, notes=_work_order_notes(request))
    request.status, request.work_order_id = RequestStatus.converted.value, order.id
    request.decided_at, request.decided_by = utcnow(), user_id
    session.flush()
    audit.record(session, "service_request.converted", entity_type="service_request", entity_id=request.id,
                 changes={"work_order": str(order.id), "kind": work_kind})
    _tell_the_customer(session, request, f"We have planned the work you asked for at {request.location.one_line}. "
                                          "We will be in touch about the day.")
    return order


def decline(session: so.Session, request: ServiceRequest, user_id: uuid.UUID, *, reason: str) -> None:
    _lock_open(session, request)
    request.status, request.decline_reason = RequestStatus.declined.value, reason.strip()
    request.decided_at, request.decided_by = utcnow(), user_id
    session.flush()
    audit.record(session, "service_request.declined", entity_type="service_request", entity_id=request.id,
                 changes={"reason": request.decline_reason})
    _tell_the_customer(session, request, f"We cannot take on the work you asked for at {request.location.one_line}:"
                                          f"\n\n{request.decline_reason}")


def _work_order_notes(request: ServiceRequest) -> str:
    asked = f"Asked for from the portal: {request.kind_label.lower()}."
    return f"{asked}\n{request.notes}" if request.notes else asked


def _tell_the_customer(session: so.Session, request: ServiceRequest, message: str) -> None:
    person = session.get(User, request.requested_by) if request.requested_by else None
    if person is None or not person.is_active:
        return
    outbox.send_email(session, person.email, f"Your request: {request.kind_label.lower()}",
                      f"{message}\n\nYour requests: {external_url('service_requests.mine')}\n")
