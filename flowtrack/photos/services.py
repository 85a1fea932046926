"""Photos of devices: taken on a phone during a test (or uploaded in the office), checked, re-encoded without
their EXIF (a phone writes its GPS position there), shrunk, and kept with a thumbnail in the storage backend.

A photo taken while a test form is open belongs to the device until the test is submitted; then it joins that
test and stays with it (the app's database role may set that link, never change it, and the service refuses to
delete a photo that is part of a submitted test).
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.core.images import PHOTO_MAX_BYTES, PictureRefused, prepared_photo
from flowtrack.core.storage import FileStorage
from flowtrack.models.customers import Device
from flowtrack.models.field_tests import DevicePhoto

MAX_BYTES = PHOTO_MAX_BYTES
MAX_PER_TEST = 12


def add_photo(session: so.Session, storage: FileStorage, device: Device, user_id: uuid.UUID, data: bytes,
              caption: str | None = None) -> DevicePhoto:
    """Store a photo of a device; raises PictureRefused with the reason when the file is not a usable picture."""
    caption = (caption or "").strip() or None
    if caption and len(caption) > 200:
        raise PictureRefused("A caption is at most 200 characters.")
    picture = prepared_photo(data)
    full, thumbnail, width, height = picture.full, picture.thumbnail, picture.width, picture.height
    photo = DevicePhoto(id=uuid.uuid4(), company_id=device.company_id, device_id=device.id, uploaded_by=user_id,
                        caption=caption, width=width, height=height, byte_size=len(full))
    # Files first: a failed insert leaves an unused file, never a row without its file.
    storage.put(photo.key, full, "image/jpeg")
    storage.put(photo.thumbnail_key, thumbnail, "image/jpeg")
    session.add(photo)
    session.flush()
    audit.record(session, "device.photo_added", entity_type="device", entity_id=device.id,
                 changes=audit.changes_between(None, {"photo": str(photo.id), "caption": caption}))
    return photo


def add_photos(session: so.Session, storage: FileStorage, device: Device, user_id: uuid.UUID, files: list[bytes],
               caption: str | None = None) -> list[DevicePhoto]:
    """Store several photos at once, all or none: when one is refused, the files of those stored before it are
    removed again (the caller rolls their rows back), so a refused upload leaves nothing behind."""
    added: list[DevicePhoto] = []
    try:
        for data in files:
            added.append(add_photo(session, storage, device, user_id, data, caption))
    except PictureRefused:
        for photo in added:
            storage.delete(photo.key)
            storage.delete(photo.thumbnail_key)
        raise
    return added


def get_photo(session: so.Session, photo_id: uuid.UUID) -> DevicePhoto | None:
    return session.get(DevicePhoto, photo_id)


def waiting_photos(session: so.Session, device_id: uuid.UUID, photo_ids: list[uuid.UUID]) -> list[DevicePhoto]:
    """Of the named photos, those of this device not yet part of a test (others are ignored, not joined)."""
    if not photo_ids:
        return []
    return list(session.scalars(sa.select(DevicePhoto).where(
        DevicePhoto.id.in_(photo_ids), DevicePhoto.device_id == device_id, DevicePhoto.test_record_id.is_(None))
        .order_by(DevicePhoto.created_at)))


def attach_to_test(photos: list[DevicePhoto], test_record_id: uuid.UUID) -> None:
    for photo in photos:
        photo.test_record_id = test_record_id


def delete_photo(session: so.Session, photo: DevicePhoto) -> list[str]:
    """Remove a photo that is not part of a submitted test; returns the storage keys to remove once the
    change is committed (so a rollback never leaves a row without its file)."""
    if photo.test_record_id is not None:
        raise PictureRefused("This photo is part of a submitted test and stays with it.")
    session.delete(photo)
    session.flush()
    audit.record(session, "device.photo_removed", entity_type="device", entity_id=photo.device_id,
                 changes=audit.changes_between({"photo": str(photo.id), "caption": photo.caption}, None))
    return [photo.key, photo.thumbnail_key]
