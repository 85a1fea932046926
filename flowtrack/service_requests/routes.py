"""Service requests: the customer's side in the portal, the office's queue and its two answers."""
import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.companies.services import company_timezone, company_today
from flowtrack.core.forms import add_error
from flowtrack.core.images import PictureRefused
from flowtrack.core.permissions import PORTAL_VIEW, SERVICE_REQUESTS_MANAGE, WORK_ORDERS_EDIT, requires
from flowtrack.core.storage import file_storage
from flowtrack.core.web import stored_picture
from flowtrack.hints import services as hints
from flowtrack.models.service_requests import RequestKind, RequestStatus
from flowtrack.portal import services as portal
from flowtrack.service_requests import services
from flowtrack.service_requests.forms import ConvertForm, DeclineForm, ServiceRequestForm
from flowtrack.work_orders.services import WorkRefused

bp = Blueprint("service_requests", __name__)


@bp.get("/portal/requests/")
@requires(PORTAL_VIEW)
def mine():
    customer = portal.customer_of(g.db, current_user.user_id)
    return render_template("service_requests/mine.html", customer=customer,
                           requests=services.requests_of(g.db, customer.id) if customer else [],
                           timezone=company_timezone(g.db).key)


@bp.route("/portal/requests/new", methods=["GET", "POST"])
@requires(PORTAL_VIEW)
def new():
    customer = portal.customer_of(g.db, current_user.user_id)
    if customer is None and request.method == "POST":
        abort(404)
    places = services.places_of(g.db, customer.id) if customer else []
    form = ServiceRequestForm()
    form.location.choices = [("", "Choose the place"), *((str(place.id), place.one_line) for place, _ in places)]
    form.devices.choices = [(str(device.id), f"{device.serial} · {device.device_type} · {place.address_line1}")
                            for place, devices in places for device in devices]
    if len(places) == 1 and not form.is_submitted():
        form.location.data = str(places[0][0].id)
    refused_photos = None
    if form.validate_on_submit():
        try:
            services.ask(g.db, customer, current_user.user_id, location_id=_id(form.location.data),
                         kind=form.kind.data, device_ids=[_id(value) for value in form.devices.data],
                         notes=form.notes.data, pictures=form.pictures(), storage=file_storage(),
                         form_key=form.key())
        except services.NotYours:
            abort(404)
        except services.RequestRefused as refused:
            g.db.rollback()
            add_error(form.devices, str(refused))
        except PictureRefused as refused:
            g.db.rollback()
            add_error(form.photos, f"{refused} Choose the photos again.")
        else:
            g.db.commit()
            flash(f"Your request is with {current_user.company_name}. You will get an email when they answer.",
                  "success")
            return redirect(url_for("service_requests.mine"), code=303)
    if form.is_submitted():
        # A browser cannot be handed files back: say so, when some were chosen, rather than drop them silently.
        refused_photos = len([upload for upload in form.photos.data or [] if upload and upload.filename])
    status = 422 if form.is_submitted() else 200
    device_places = {str(device.id): str(place.id) for place, devices in places for device in devices}
    return render_template("service_requests/new.html", form=form, places=places, device_places=device_places,
                           refused_photos=refused_photos), status


@bp.get("/portal/requests/<uuid:request_id>")
@requires(PORTAL_VIEW)
def mine_detail(request_id: uuid.UUID):
    """One of the customer's requests, as the office sees it: where, what, the photos sent, and the answer."""
    found = services.get(g.db, request_id, customer_id=_own_customer_id())
    if found is None:
        abort(404)
    return render_template("service_requests/mine_detail.html", request_=found,
                           devices=services.devices_named(g.db, found), photos=services.photos_of(g.db, found.id),
                           timezone=company_timezone(g.db).key)


@bp.get("/portal/requests/photos/<uuid:photo_id>")
@requires(PORTAL_VIEW)
def my_photo(photo_id: uuid.UUID):
    return stored_picture(_my_photo(photo_id).key)


@bp.get("/portal/requests/photos/<uuid:photo_id>/thumbnail")
@requires(PORTAL_VIEW)
def my_photo_thumbnail(photo_id: uuid.UUID):
    return stored_picture(_my_photo(photo_id).thumbnail_key)


def _own_customer_id() -> uuid.UUID:
    """The customer the portal user belongs to; a sign-in linked to none has no requests to show."""
    customer = portal.customer_of(g.db, current_user.user_id)
    if customer is None:
        abort(404)
    return customer.id


def _my_photo(photo_id: uuid.UUID):
    """A photo of one of the customer's own requests; any other is not found."""
    found = services.photo(g.db, photo_id, customer_id=_own_customer_id())
    if found is None:
        abort(404)
    return found


@bp.get("/requests/photos/<uuid:photo_id>")
@requires(SERVICE_REQUESTS_MANAGE)
def photo(photo_id: uuid.UUID):
    return stored_picture(_office_photo(photo_id).key)


@bp.get("/requests/photos/<uuid:photo_id>/thumbnail")
@requires(SERVICE_REQUESTS_MANAGE)
def photo_thumbnail(photo_id: uuid.UUID):
    return stored_picture(_office_photo(photo_id).thumbnail_key)


def _office_photo(photo_id: uuid.UUID):
    found = services.photo(g.db, photo_id)
    if found is None:
        abort(404)
    return found


def _id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (TypeError, ValueError):
        abort(404)


@bp.get("/requests/")
@requires(SERVICE_REQUESTS_MANAGE)
def queue():
    status = request.args.get("status", RequestStatus.open.value)
    if status not in {s.value for s in RequestStatus}:
        status = RequestStatus.open.value
    return render_template("service_requests/queue.html", requests=services.queue(g.db, status=status),
                           status=status, statuses=list(RequestStatus), timezone=company_timezone(g.db).key)


def _request(request_id: uuid.UUID):
    found = services.get(g.db, request_id)
    if found is None:
        abort(404)
    return found


def _convert_form(found, *, submitted: bool) -> ConvertForm:
    """The form as posted, or, to show, as the request proposes it: its kind of work and the devices it named."""
    form = ConvertForm() if submitted else ConvertForm(
        formdata=None, kind=RequestKind(found.kind).work_kind, devices=[str(d) for d in found.device_ids])
    form.devices.choices = [(str(device.id), f"{device.serial} · {device.device_type}"
                             f"{' · ' + device.where_installed if device.where_installed else ''}")
                            for device in services.devices_at_place(g.db, found)]
    return form


def _detail(found, convert_form=None, decline_form=None, status=200):
    return render_template(
        "service_requests/detail.html", request_=found, devices=services.devices_named(g.db, found),
        hints=_hints(found),
        photos=services.photos_of(g.db, found.id), quotes=services.quotes_of(g.db, found),
        today=company_today(g.db),
        convert_form=convert_form or _convert_form(found, submitted=False),
        decline_form=decline_form or DeclineForm(), timezone=company_timezone(g.db).key), status


def _hints(found) -> hints.Found:
    """The hints of a request: its customer owing an old invoice, an assembly it names that keeps failing."""
    scope = hints.Scope(requests=frozenset({found.id}), devices=frozenset(found.device_ids))
    return hints.of_request(hints.find(g.db, hints.kinds_for(current_user.role), company_today(g.db), scope),
                            found.id, found.device_ids)


@bp.get("/requests/<uuid:request_id>")
@requires(SERVICE_REQUESTS_MANAGE)
def detail(request_id: uuid.UUID):
    return _detail(_request(request_id))


@bp.post("/requests/<uuid:request_id>/convert")
@requires(WORK_ORDERS_EDIT)  # a work order carries prices: whoever makes work orders, not every request reader
def convert(request_id: uuid.UUID):
    found = _request(request_id)
    form = _convert_form(found, submitted=True)
    if not form.validate_on_submit():
        return _detail(found, convert_form=form, status=422)
    try:
        services.convert(g.db, found, current_user.user_id, work_kind=form.kind.data,
                         device_ids=[uuid.UUID(value) for value in form.devices.data])
    except services.AlreadyAnswered:
        return _answered_already(request_id)
    except WorkRefused as refused:
        g.db.rollback()
        add_error(form.devices, str(refused))
        return _detail(_request(request_id), convert_form=form, status=422)
    g.db.commit()
    flash("Work order made; the customer is emailed.", "success")
    return redirect(url_for("service_requests.detail", request_id=request_id), code=303)


@bp.post("/requests/<uuid:request_id>/decline")
@requires(SERVICE_REQUESTS_MANAGE)
def decline(request_id: uuid.UUID):
    found = _request(request_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _detail(found, decline_form=form, status=422)
    try:
        services.decline(g.db, found, current_user.user_id, reason=form.reason.data)
    except services.AlreadyAnswered:
        return _answered_already(request_id)
    g.db.commit()
    flash("Request declined; the customer is emailed the reason.", "success")
    return redirect(url_for("service_requests.queue"), code=303)


def _answered_already(request_id: uuid.UUID):
    g.db.rollback()
    flash("Someone answered this request already.", "error")
    return redirect(url_for("service_requests.detail", request_id=request_id), code=303)
