"""Dataplates: a photo of an assembly's plate, read by OCR in a job into a proposed manufacturer, model, size and
serial for a new device (or the one replacing an old one). Nothing read is saved by itself: the device form shows
each proposed value beside its field, the person uses it or types their own, and a serial already recorded for
another device of the company is pointed out before they try to save it.

Once the device is saved, the photo of its plate becomes one of its photos and the read goes.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.core.db import utcnow
from flowtrack.core.images import prepared_photo
from flowtrack.core.storage import FileStorage
from flowtrack.devices import ocr
from flowtrack.devices.services import SIZES, normal_serial
from flowtrack.models.customers import CustomerLocation, Device
from flowtrack.models.field_help import DataplateRead, ReadingStatus
from flowtrack.models.field_tests import DevicePhoto

FIELDS = ("manufacturer", "model", "size", "serial")
LABELS = {"manufacturer": "Manufacturer", "model": "Model", "size": "Size", "serial": "Serial number"}

# Makers of backflow prevention assemblies, as plates spell them, and as the office writes them.
MANUFACTURERS = {
    "ZURN WILKINS": "Zurn Wilkins", "WILKINS": "Wilkins", "ZURN": "Zurn", "WATTS": "Watts", "FEBCO": "Febco",
    "AMES": "Ames", "APOLLO": "Apollo", "CONBRACO": "Conbraco", "CLA-VAL": "Cla-Val", "CLA VAL": "Cla-Val",
    "FLOMATIC": "Flomatic", "HERSEY": "Hersey", "BEECO": "Beeco", "DERINGER": "Deringer", "LAWLER": "Lawler",
    "MAXIM": "Maxim", "COLT": "Colt", "ARROW": "Arrow", "CASH ACME": "Cash Acme", "BACKFLOW DIRECT": "Backflow Direct",
}
# What a plate writes before each value (OCR reads "NO." as "N0." or "NO" now and then).
_SERIAL_LABEL = r"(?:SERIAL|SER\.?|S/N|SN)\s*(?:N[O0]\.?|NUMBER|#)?"
_MODEL_LABEL = r"(?:MODEL|MOD\.?|MDL\.?)\s*(?:N[O0]\.?|#)?"
_SIZE_LABEL = r"SIZE"
_LABELS = rf"(?:{_SERIAL_LABEL}|{_MODEL_LABEL}|{_SIZE_LABEL})"
_SEPARATOR = r"\s*[:#.]?\s*"
SERIAL = re.compile(rf"\b{_SERIAL_LABEL}{_SEPARATOR}([A-Z0-9][A-Z0-9-]{{2,40}})\b")
MODEL = re.compile(rf"\b{_MODEL_LABEL}{_SEPARATOR}([A-Z0-9][A-Z0-9./-]*(?: [A-Z0-9][A-Z0-9./-]*)*?)"
                   rf"(?=\s+{_LABELS}|\s{{2,}}|$)")
_INCHES = r"(\d{1,2}[- ]\d/\d|\d/\d|\d{1,2})"
SIZE = re.compile(rf"\b{_SIZE_LABEL}{_SEPARATOR}{_INCHES}\s*(?:IN\b|INCH|\"|″)?")
SIZE_IN_INCHES = re.compile(rf"(?<![\d/-]){_INCHES}\s*(?:IN\b|INCH|\"|″)")


def proposed_fields(lines: list[str]) -> dict[str, str]:
    """The fields a plate's lines of text give, each only when it was found: manufacturer (from the makers we
    know), model, size (one of the sizes a device may have) and serial (with at least one digit)."""
    text = [" ".join(line.upper().split()) for line in lines]
    # A label alone on its line is followed by its value on the next: read each line with the next one too.
    joined = [f"{line} {following}" for line, following in zip(text, text[1:] + [""], strict=True)]
    found: dict[str, str] = {}
    for line in text:
        maker = next((name for spelled, name in MANUFACTURERS.items() if re.search(rf"\b{spelled}\b", line)), None)
        if maker:
            found["manufacturer"] = maker
            break
    for pattern, name in ((MODEL, "model"), (SERIAL, "serial")):
        for line in joined:
            match = pattern.search(line)
            if match and (name != "serial" or any(c.isdigit() for c in match.group(1))):
                found[name] = match.group(1).strip()
                break
    for pattern in (SIZE, SIZE_IN_INCHES):
        size = next((value for line in joined for value in _sizes(pattern, line)), None)
        if size:
            found["size"] = size
            break
    return found


def _sizes(pattern: re.Pattern, line: str) -> list[str]:
    sizes = [re.sub(r"\s", "-", match.group(1)) for match in pattern.finditer(line)]
    return [size for size in sizes if size in SIZES]


# --- the reads ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProposedField:
    """One proposed value on the device form, and the device already recorded with it (a serial only)."""

    name: str
    label: str
    value: str
    taken_by: Device | None = None


def start_read(session: so.Session, storage: FileStorage, location: CustomerLocation, replacing: Device | None,
               user_id: uuid.UUID, data: bytes) -> DataplateRead:
    """Keep a photo of a dataplate for a device at `location` (the replacement of `replacing`, if given), re-encoded
    without its EXIF like any photo; the caller queues the job that reads it once this commits. PictureRefused
    with the reason when the file is not a usable picture."""
    picture = prepared_photo(data)
    read = DataplateRead(id=uuid.uuid4(), company_id=location.company_id, location_id=location.id,
                         replacing_id=replacing.id if replacing else None, uploaded_by=user_id, width=picture.width,
                         height=picture.height, status=ReadingStatus.queued.value, progress=0, lines=[], proposal={})
    storage.put(read.key, picture.full, "image/jpeg")  # files first: a failed insert leaves files, never a row without
    storage.put(read.thumbnail_key, picture.thumbnail, "image/jpeg")
    session.add(read)
    session.flush()
    return read


def get_read(session: so.Session, read_id: uuid.UUID | None) -> DataplateRead | None:
    return session.get(DataplateRead, read_id) if read_id else None


def read_for_form(session: so.Session, read_id: uuid.UUID | None, location: CustomerLocation,
                  replacing: Device | None) -> DataplateRead | None:
    """The read a device form names, when it was taken for this form (the same place, the same old device)."""
    read = get_read(session, read_id)
    if read is None or read.location_id != location.id or read.replacing_id != (replacing.id if replacing else None):
        return None
    return read


def proposal(session: so.Session, read: DataplateRead) -> list[ProposedField]:
    """The values read, in the form's order, with the device already recorded under the proposed serial."""
    fields = []
    for name in FIELDS:
        value = read.proposal.get(name)
        if value:
            taken = session.scalar(sa.select(Device).where(Device.serial == normal_serial(value))) \
                if name == "serial" else None
            fields.append(ProposedField(name, LABELS[name], value, taken))
    return fields


def use_read(session: so.Session, storage: FileStorage, read: DataplateRead, device: Device) -> list[str]:
    """The device is saved: the plate's photo becomes one of its photos, what was proposed and what was saved go
    into the audit log, and the read goes. Returns the read's storage keys, to remove once this commits."""
    # The photo was checked and re-encoded when it was taken: its files are copied as they are (photos.add_photo
    # would do it all again, and the photos package stands above this one).
    full = storage.get(read.key)
    photo = DevicePhoto(id=uuid.uuid4(), company_id=device.company_id, device_id=device.id,
                        uploaded_by=read.uploaded_by, caption="Dataplate", width=read.width, height=read.height,
                        byte_size=len(full))
    storage.put(photo.key, full, "image/jpeg")
    storage.put(photo.thumbnail_key, storage.get(read.thumbnail_key), "image/jpeg")
    session.add(photo)
    saved = {name: getattr(device, name) for name in FIELDS}
    audit.record(session, "device.dataplate_read", entity_type="device", entity_id=device.id,
                 changes={"proposed": read.proposal, "saved": saved, "photo": str(photo.id),
                          "used": sorted(name for name in FIELDS
                                         if read.proposal.get(name) and read.proposal[name] == saved[name])})
    session.delete(read)
    session.flush()
    return [read.key, read.thumbnail_key]


# --- the job's side ----------------------------------------------------------------------------------------------

def read_plate(session: so.Session, storage: FileStorage, read: DataplateRead) -> None:
    """Read the plate's photo and propose its fields, committing the progress as it goes."""
    read.status, read.progress = ReadingStatus.running.value, 10
    session.commit()
    picture = storage.get(read.key)
    read.progress = 20
    session.commit()
    lines = ocr.read_lines(picture)
    read.lines, read.progress = lines[:100], 90
    session.commit()
    read.proposal = proposed_fields(lines)
    read.status, read.progress, read.read_at = ReadingStatus.done.value, 100, utcnow()
    session.commit()
