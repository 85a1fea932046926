"""Devices: the list by serial, a device's page, add one at a location (or its replacement), with what a photo of
its dataplate proposes, and edit it."""
import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.companies.services import company_today
from flowtrack.core.forms import add_error
from flowtrack.core.images import PHOTO_MAX_BYTES, PictureRefused
from flowtrack.core.permissions import (
    DEVICES_EDIT,
    DEVICES_VIEW,
    HINTS_VIEW,
    INVOICES_VIEW,
    TESTS_VIEW,
    allowed,
    own_work_of,
    requires,
)
from flowtrack.core.queue import enqueue_after_commit
from flowtrack.core.storage import file_storage
from flowtrack.core.templating import is_fragment
from flowtrack.core.web import stored_picture
from flowtrack.devices import dataplates, services
from flowtrack.devices.forms import DeviceFilterForm, DeviceForm
from flowtrack.devices.tasks import read_dataplate
from flowtrack.hints import services as hints
from flowtrack.models.companies import Company
from flowtrack.models.customers import CrossConnection, Device, DeviceStatus, DeviceType, Hazard

bp = Blueprint("devices", __name__)


def _device(device_id: uuid.UUID) -> Device:
    device = services.get_device(g.db, device_id)
    if device is None:
        abort(404)
    return device


def _form(device: Device | None = None, *, with_status: bool = False) -> DeviceForm:
    form = DeviceForm(obj=device)
    form.today = company_today(g.db)
    if not with_status:
        del form.status
    return form


def _page(status: int, **context):
    read = context.get("dataplate")
    return render_template("devices/form.html", proposal=dataplates.proposal(g.db, read) if read else [],
                           **context), status


def _dataplate_of_form(location, replacing):
    """The dataplate read the form was opened with (`?dataplate=`) or sends back (`dataplate_id`)."""
    read_id = request.form.get("dataplate_id", type=uuid.UUID) or request.args.get("dataplate", type=uuid.UUID)
    return dataplates.read_for_form(g.db, read_id, location, replacing)


def _saved_with_plate(read, device) -> None:
    """The device is saved: its plate's photo joins it (the read's own files go once that commits)."""
    if read is None:
        g.db.commit()
        return
    keys = dataplates.use_read(g.db, file_storage(), read, device)
    g.db.commit()
    for key in keys:
        file_storage().delete(key)


def _serial_taken(taken: services.SerialTaken, context: dict):
    g.db.rollback()
    add_error(context["form"].serial, str(taken))
    return _page(422, **context)


@bp.get("/devices/")
@requires(DEVICES_VIEW)
def index():
    """Devices by serial, searched by its beginning, a page at a time."""
    form = DeviceFilterForm(request.args)
    valid = form.validate()
    query = services.DeviceQuery(q=form.q.data, status=form.status.data, after=request.args.get("after")) \
        if valid else services.DeviceQuery()
    page = services.list_devices(g.db, query, technician_user_id=own_work_of(current_user))
    status = 200 if valid else 422
    if is_fragment():
        return render_template("devices/_rows.html", page=page, query=query), status
    return render_template("devices/index.html", form=form, page=page, query=query), status


@bp.get("/devices/<uuid:device_id>")
@requires(DEVICES_VIEW)
def detail(device_id: uuid.UUID):
    device = services.device_with_place(g.db, device_id, technician_user_id=own_work_of(current_user))
    if device is None:
        abort(404)
    tests = services.device_tests(g.db, device.id, own_work_of(current_user)) \
        if allowed(current_user.role, TESTS_VIEW) else None
    return render_template("devices/detail.html", device=device, replaced=services.replaced_devices(g.db, device.id),
                           tests=tests, photos=services.device_photos(g.db, device.id),
                           quotes=services.device_quotes(g.db, device.id)
                           if allowed(current_user.role, INVOICES_VIEW) else [],
                           today=company_today(g.db), hints=_hints(device),
                           timezone=g.db.get(Company, current_user.company_id).timezone,
                           type_label=DeviceType(device.device_type).label,
                           hazard_label=Hazard(device.hazard).label if device.hazard else None,
                           cross_connection_label=(CrossConnection(device.cross_connection).label
                                                   if device.cross_connection else None))


def _hints(device) -> hints.Found | None:
    """The office's hints about a device: its own (it keeps failing), and a visit booked at its place it could
    join."""
    if not allowed(current_user.role, HINTS_VIEW):
        return None
    scope = hints.Scope(devices=frozenset({device.id}), visits_at=frozenset({device.location_id}))
    return hints.of_device(hints.find(g.db, hints.kinds_for(current_user.role), company_today(g.db), scope), device.id)


@bp.route("/locations/<uuid:location_id>/devices/new", methods=["GET", "POST"])
@requires(DEVICES_EDIT)
def new(location_id: uuid.UUID):
    """Add a device at a service location."""
    location = services.get_location(g.db, location_id)
    if location is None:
        abort(404)
    form = _form()
    read = _dataplate_of_form(location, None)
    context = {"form": form, "location": location, "device": None, "replacing": None, "dataplate": read}
    if not form.validate_on_submit():
        return _page(422 if form.is_submitted() else 200, **context)
    try:
        device = services.create_device(g.db, location, **form.values())
    except services.SerialTaken as taken:
        return _serial_taken(taken, context)
    _saved_with_plate(read, device)
    flash(f"Device {device.serial} added.", "success")
    return redirect(url_for("devices.detail", device_id=device.id), code=303)


@bp.route("/devices/<uuid:device_id>/edit", methods=["GET", "POST"])
@requires(DEVICES_EDIT)
def edit(device_id: uuid.UUID):
    device = _device(device_id)
    form = _form(device, with_status=device.status != DeviceStatus.replaced.value)
    context = {"form": form, "location": device.location, "device": device, "replacing": None}
    if not form.validate_on_submit():
        return _page(422 if form.is_submitted() else 200, **context)
    try:
        services.update_device(g.db, device, **form.values())
    except services.SerialTaken as taken:
        return _serial_taken(taken, context)
    g.db.commit()
    flash("Changes saved.", "success")
    return redirect(url_for("devices.detail", device_id=device.id), code=303)


@bp.route("/devices/<uuid:device_id>/replace", methods=["GET", "POST"])
@requires(DEVICES_EDIT)
def replace(device_id: uuid.UUID):
    """Record the assembly that took this one's place; this one is kept, marked replaced."""
    old = _device(device_id)
    if old.status != DeviceStatus.active.value:
        flash("Only an active device can be replaced.", "error")
        return redirect(url_for("devices.detail", device_id=old.id), code=303)
    form = _form()
    if not form.is_submitted():
        form.device_type.data, form.size.data = old.device_type, old.size
        form.where_installed.data, form.hazard.data = old.where_installed, old.hazard
        form.cross_connection.data, form.meter_number.data = old.cross_connection, old.meter_number
    read = _dataplate_of_form(old.location, old)
    context = {"form": form, "location": old.location, "device": None, "replacing": old, "dataplate": read}
    if not form.validate_on_submit():
        return _page(422 if form.is_submitted() else 200, **context)
    try:
        new_device = services.replace_device(g.db, old, **form.values())
    except services.SerialTaken as taken:
        return _serial_taken(taken, context)
    _saved_with_plate(read, new_device)
    flash(f"Device {old.serial} is recorded as replaced by {new_device.serial}.", "success")
    return redirect(url_for("devices.detail", device_id=new_device.id), code=303)


@bp.post("/locations/<uuid:location_id>/dataplates")
@requires(DEVICES_EDIT)
def read_plate(location_id: uuid.UUID):
    """Keep a photo of the new assembly's dataplate and queue its reading; back to the device form, which shows the
    reading's progress and then what it proposes."""
    location = services.get_location(g.db, location_id)
    if location is None:
        abort(404)
    replacing = None
    if request.form.get("replacing"):  # the plate of the assembly replacing this active one, at the same place
        replacing = services.get_device(g.db, request.form.get("replacing", type=uuid.UUID) or uuid.UUID(int=0))
        if replacing is None or replacing.location_id != location.id or \
                replacing.status != DeviceStatus.active.value:
            abort(404)
    upload = request.files.get("photo")
    try:
        if upload is None or not upload.filename:
            raise PictureRefused("Take or choose a photo of the dataplate.")
        read = dataplates.start_read(g.db, file_storage(), location, replacing, current_user.user_id,
                                     upload.read(PHOTO_MAX_BYTES + 1))
    except PictureRefused as refused:
        g.db.rollback()
        form = _form()
        if replacing is not None:
            form.device_type.data, form.size.data = replacing.device_type, replacing.size
        return _page(422, form=form, location=location, device=None, replacing=replacing, dataplate=None,
                     dataplate_error=str(refused))
    enqueue_after_commit(g.db, read_dataplate, current_user.company_id, str(read.id), description="dataplate")
    g.db.commit()
    if replacing is not None:
        return redirect(url_for("devices.replace", device_id=replacing.id, dataplate=read.id), code=303)
    return redirect(url_for("devices.new", location_id=location.id, dataplate=read.id), code=303)


def _read(read_id: uuid.UUID):
    read = dataplates.get_read(g.db, read_id)
    if read is None:
        abort(404)
    return read


@bp.get("/dataplates/<uuid:read_id>")
@requires(DEVICES_EDIT)
def dataplate(read_id: uuid.UUID):
    """The dataplate's reading on the device form: its progress (polled), then the values it proposes."""
    read = _read(read_id)
    return render_template("devices/_dataplate.html", dataplate=read, proposal=dataplates.proposal(g.db, read))


@bp.get("/dataplates/<uuid:read_id>/photo")
@requires(DEVICES_EDIT)
def dataplate_photo(read_id: uuid.UUID):
    return stored_picture(_read(read_id).thumbnail_key)
