"""Photos of devices: add one (from the phone's camera or a file), look at it, remove one not on a test."""
import uuid

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_login import current_user

from flowtrack.core.images import PictureRefused
from flowtrack.core.permissions import DEVICES_EDIT, DEVICES_VIEW, PHOTOS_ADD, allowed, own_work_of, requires
from flowtrack.core.storage import file_storage
from flowtrack.core.web import stored_picture
from flowtrack.devices import services as devices
from flowtrack.models.customers import Device
from flowtrack.models.field_tests import DevicePhoto
from flowtrack.photos import services

bp = Blueprint("photos", __name__)


def _device(device_id: uuid.UUID) -> Device:
    device = devices.device_with_place(g.db, device_id, technician_user_id=own_work_of(current_user))
    if device is None:
        abort(404)
    return device


def _photo(photo_id: uuid.UUID) -> DevicePhoto:
    """A photo of a device the person may see (a technician: at their jobs' locations)."""
    photo = services.get_photo(g.db, photo_id)
    if photo is None:
        abort(404)
    _device(photo.device_id)
    return photo


def _refused(refused: PictureRefused, device_id: uuid.UUID):
    """Nothing changed: the reason on the device's page."""
    g.db.rollback()
    flash(str(refused), "error")
    return redirect(url_for("devices.detail", device_id=device_id), code=303)


@bp.post("/devices/<uuid:device_id>/photos")
@requires(PHOTOS_ADD)
def add(device_id: uuid.UUID):
    """Store the chosen photos of a device (the test form sends its photos with the test instead)."""
    device = _device(device_id)
    uploads = [upload for upload in request.files.getlist("photo") if upload.filename]
    try:
        if not uploads:
            raise PictureRefused("Choose a photo to add.")
        added = services.add_photos(g.db, file_storage(), device, current_user.user_id,
                                    [upload.read(services.MAX_BYTES + 1) for upload in uploads[:services.MAX_PER_TEST]],
                                    request.form.get("caption"))
    except PictureRefused as refused:
        return _refused(refused, device.id)
    g.db.commit()
    flash("Photo added." if len(added) == 1 else f"{len(added)} photos added.", "success")
    return redirect(url_for("devices.detail", device_id=device.id), code=303)


@bp.get("/photos/<uuid:photo_id>")
@requires(DEVICES_VIEW)
def full(photo_id: uuid.UUID):
    return stored_picture(_photo(photo_id).key)


@bp.get("/photos/<uuid:photo_id>/thumbnail")
@requires(DEVICES_VIEW)
def thumbnail(photo_id: uuid.UUID):
    return stored_picture(_photo(photo_id).thumbnail_key)


@bp.post("/photos/<uuid:photo_id>/delete")
@requires(PHOTOS_ADD)
def delete(photo_id: uuid.UUID):
    """Remove a photo taken by mistake: one's own, or any for those who edit devices; never one on a test."""
    photo = _photo(photo_id)
    if photo.uploaded_by != current_user.user_id and not allowed(current_user.role, DEVICES_EDIT):
        abort(403)
    try:
        keys = services.delete_photo(g.db, photo)
    except PictureRefused as refused:
        return _refused(refused, photo.device_id)
    g.db.commit()
    for key in keys:
        file_storage().delete(key)
    flash("Photo removed.", "success")
    return redirect(url_for("devices.detail", device_id=photo.device_id), code=303)
