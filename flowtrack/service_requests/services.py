"""Service requests: asked by a portal user for their own customer account, answered by the office.

A request names one of the customer's places and, optionally, devices in service there, and may carry a few
photos; any other id is not found. The office is emailed when one arrives, makes a work order of it (its devices
chosen already) or declines it with a reason; either way the person who asked is emailed, and each step is
audited.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.exc import IntegrityError

from flowtrack.audit import services as audit
from flowtrack.companies.services import office_addresses
from flowtrack.core.db import utcnow
from flowtrack.core.images import PictureRefused, Prepared, prepared_photo
from flowtrack.core.permissions import SERVICE_REQUESTS_MANAGE
from flowtrack.core.storage import FileStorage
from flowtrack.models.accounts import User
from flowtrack.models.customers import Customer, CustomerLocation, Device, DeviceStatus
from flowtrack.models.quotes import Quote
from flowtrack.models.scheduling import WorkOrder
from flowtrack.models.service_requests import RequestKind, RequestStatus, ServiceRequest, ServiceRequestPhoto
from flowtrack.notifications import services as outbox
from flowtrack.notifications.links import external_url
from flowtrack.work_orders import services as work_orders

MAX_PHOTOS = 5


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
        device_ids: list[uuid.UUID], notes: str | None, pictures: Sequence[bytes] = (),
        storage: FileStorage | None = None, form_key: uuid.UUID | None = None) -> ServiceRequest:
    """A portal user's request at one of their customer's places (NotYours for anyone else's place or device),
    with its photos (PictureRefused names the one that is not a usable picture; nothing is kept then). A form sent
    again (`form_key`: a double click) is the request it made the first time, and nothing changes."""
    sent = _sent_with(session, form_key)
    if sent is not None:
        return sent
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
    if len(pictures) > MAX_PHOTOS:
        raise PictureRefused(f"Send at most {MAX_PHOTOS} photos.")
    kept = [_prepared(number, data) for number, data in enumerate(pictures, start=1)]
    request = ServiceRequest(customer_id=customer.id, location_id=place.id, kind=RequestKind(kind).value,
                             device_ids=sorted(chosen), notes=(notes or "").strip() or None,
                             status=RequestStatus.open.value, requested_by=user_id, form_key=form_key)
    try:
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError:
        # The same form, sent a moment earlier, was committed while this one waited on its key.
        sent = _sent_with(session, form_key)
        if sent is None:
            raise
        return sent
    added = _keep_photos(session, storage, request, user_id, kept)
    audit.record(session, "service_request.created", entity_type="service_request", entity_id=request.id,
                 changes={"kind": request.kind, "location": place.one_line, "devices": len(chosen),
                          "photos": [str(photo.id) for photo in added]})
    _tell_the_office(session, request, customer, place)
    return request


def _sent_with(session: so.Session, form_key: uuid.UUID | None) -> ServiceRequest | None:
    if form_key is None:
        return None
    return session.scalar(sa.select(ServiceRequest).where(ServiceRequest.form_key == form_key))


def _prepared(number: int, data: bytes) -> Prepared:
    try:
        return prepared_photo(data)
    except PictureRefused as refused:
        raise PictureRefused(f"Photo {number}: {refused}") from None


def _keep_photos(session: so.Session, storage: FileStorage | None, request: ServiceRequest, user_id: uuid.UUID,
                 kept: list[Prepared]) -> list[ServiceRequestPhoto]:
    if kept and storage is None:
        raise ValueError("photos need the file store")
    added = []
    for picture in kept:
        photo = ServiceRequestPhoto(id=uuid.uuid4(), company_id=request.company_id, request_id=request.id,
                                    uploaded_by=user_id, width=picture.width, height=picture.height,
                                    byte_size=len(picture.full))
        # Files first: a failed insert leaves an unused file, never a row without its file.
        storage.put(photo.key, picture.full, "image/jpeg")
        storage.put(photo.thumbnail_key, picture.thumbnail, "image/jpeg")
        session.add(photo)
        added.append(photo)
    session.flush()
    return added


def _tell_the_office(session: so.Session, request: ServiceRequest, customer: Customer,
                     place: CustomerLocation) -> None:
    body = (f"{customer.name} asked for {request.kind_label.lower()} at {place.one_line}.\n\n"
            f"{request.notes or 'No notes.'}\n\nThe request: "
            f"{external_url('service_requests.detail', request_id=request.id)}\n")
    for address in office_addresses(session, SERVICE_REQUESTS_MANAGE):
        outbox.send_email(session, address, f"Service request from {customer.name}", body)


def photos_of(session: so.Session, request_id: uuid.UUID) -> list[ServiceRequestPhoto]:
    return list(session.scalars(sa.select(ServiceRequestPhoto).where(ServiceRequestPhoto.request_id == request_id)
                                .order_by(ServiceRequestPhoto.created_at, ServiceRequestPhoto.id)))


def photo(session: so.Session, photo_id: uuid.UUID, *, customer_id: uuid.UUID | None = None) \
        -> ServiceRequestPhoto | None:
    """A request's photo (None: not found; with `customer_id`, only a photo of that customer's requests)."""
    statement = sa.select(ServiceRequestPhoto).where(ServiceRequestPhoto.id == photo_id)
    if customer_id is not None:
        statement = statement.join(ServiceRequest, ServiceRequest.id == ServiceRequestPhoto.request_id) \
            .where(ServiceRequest.customer_id == customer_id)
    return session.scalar(statement)


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


def get(session: so.Session, request_id: uuid.UUID, *, customer_id: uuid.UUID | None = None) -> ServiceRequest | None:
    """A request (None: not found; with `customer_id`, only one of that customer's)."""
    statement = sa.select(ServiceRequest).where(ServiceRequest.id == request_id)
    if customer_id is not None:
        statement = statement.where(ServiceRequest.customer_id == customer_id)
    return session.scalar(statement.options(so.joinedload(ServiceRequest.customer),
                                            so.joinedload(ServiceRequest.location)))


def quotes_of(session: so.Session, request: ServiceRequest) -> list[Quote]:
    """The quotes the office made for the request, the newest first."""
    return list(session.scalars(sa.select(Quote).where(Quote.service_request_id == request.id)
                                .order_by(Quote.number.desc())))


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
                      f"{message}\n\nYour request: "
                      f"{external_url('service_requests.mine_detail', request_id=request.id)}\n")
