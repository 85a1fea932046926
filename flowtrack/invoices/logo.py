"""The company's logo on its invoices: an uploaded PNG or JPEG, checked, shrunk and re-encoded as PNG (which
drops whatever else the file carried), kept in the file store under `<company id>/logos/logo.png` and put into
PDFs as a data URI. Changing it is audited (`change_logo`, `drop_logo`)."""
from __future__ import annotations

import base64
import uuid

import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.core.images import encoded, read_picture
from flowtrack.core.storage import FileStorage, StoredFileMissing

MAX_BYTES = 2 * 1024 * 1024
LARGEST_SIDE = 600
MAX_PIXELS = 25_000_000
FORMATS = ("PNG", "JPEG")


def logo_key(company_id: uuid.UUID) -> str:
    return f"{company_id}/logos/logo.png"


def save_logo(storage: FileStorage, company_id: uuid.UUID, data: bytes) -> None:
    image = read_picture(data, formats=FORMATS, max_bytes=MAX_BYTES, what="logo", max_pixels=MAX_PIXELS)
    png, _, _ = encoded(image, largest_side=LARGEST_SIDE, format="PNG")
    storage.put(logo_key(company_id), png, "image/png")


def remove_logo(storage: FileStorage, company_id: uuid.UUID) -> bool:
    if not storage.exists(logo_key(company_id)):
        return False
    storage.delete(logo_key(company_id))
    return True


def logo_png(storage: FileStorage, company_id: uuid.UUID) -> bytes | None:
    try:
        return storage.get(logo_key(company_id))
    except StoredFileMissing:
        return None


def logo_data_uri(storage: FileStorage, company_id: uuid.UUID) -> str | None:
    png = logo_png(storage, company_id)
    return None if png is None else "data:image/png;base64," + base64.b64encode(png).decode()


def change_logo(session: so.Session, storage: FileStorage, company_id: uuid.UUID, data: bytes) -> None:
    """The logo printed on invoices from now on; raises PictureRefused, saying why, for anything unusable (an
    empty upload too)."""
    save_logo(storage, company_id, data)
    audit.record(session, "invoices.logo_changed", entity_type="company", entity_id=company_id,
                 changes={"logo": "uploaded"})


def drop_logo(session: so.Session, storage: FileStorage, company_id: uuid.UUID) -> bool:
    """Invoices print without a logo from now on. Returns whether there was one."""
    if not remove_logo(storage, company_id):
        return False
    audit.record(session, "invoices.logo_changed", entity_type="company", entity_id=company_id,
                 changes={"logo": "removed"})
    return True
