"""Dataplates for tests: a plate drawn with Pillow as a phone would photograph it, and its photo kept for a device
form, read or not."""
from __future__ import annotations

import io
import os

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from flowtrack.devices import dataplates
from flowtrack.models.customers import CustomerLocation
from tests.customers.factories import Records
from tests.factories import Tenant, file_store

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def require_ocr() -> None:
    """The OCR engine's OpenCV loads the system's libGL and GLib, which a machine with only Python lacks: skipped
    with the reason there, failed where FLOWTRACK_REQUIRE_BROWSER asks for every tool (CI)."""
    try:
        import cv2  # noqa: F401
    except ImportError as missing:
        reason = f"OpenCV cannot load ({missing}): apt-get install libgl1 libglib2.0-0 (.ci/run installs them)"
        if os.environ.get("FLOWTRACK_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)


def dataplate_photo(maker: str = "WATTS", lines: tuple[str, ...] = ("MODEL 909", "SIZE 3/4 IN", "SERIAL NO. AB12345",
                                                                     "MAX 175 PSI  33-180 F")) -> bytes:
    """A photo of a stamped plate on a pipe: the maker's name large, then its lines, a little turned and soft."""
    photo = Image.new("RGB", (1600, 1200), (150, 152, 148))
    draw = ImageDraw.Draw(photo)
    draw.rounded_rectangle((120, 140, 1480, 1060), 40, fill=(208, 210, 203), outline=(80, 80, 80), width=8)
    draw.text((200, 200), maker, font=ImageFont.truetype(FONT, 96), fill=(30, 30, 30))
    for number, line in enumerate(lines):
        draw.text((200, 380 + number * 150), line, font=ImageFont.truetype(FONT, 72), fill=(35, 35, 35))
    photo = photo.rotate(2.5, fillcolor=(120, 120, 120)).filter(ImageFilter.GaussianBlur(1.5))
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=82)
    return out.getvalue()


def dataplate_read(app, tenant: Tenant, location=None, proposal: dict | None = None):
    """A dataplate's photo kept for a new device's form at a location (a new one unless given); read as `proposal`
    when given (what the OCR job would have proposed: the reading itself is tested on a drawn plate)."""
    records = Records(app)
    location = location or records.location(tenant)
    with records.session(tenant) as session:
        read = dataplates.start_read(session, file_store(app), session.get(CustomerLocation, location.id), None,
                                     tenant.members["manager"].user_id, dataplate_photo())
        if proposal is not None:
            read.proposal, read.status, read.progress = proposal, "done", 100
        return read


def _location(app, factory, tenant):
    return {"location_id": Records(app).location(tenant).id}


def _read(app, factory, tenant):
    return {"read_id": dataplate_read(app, tenant, proposal={"serial": "AB12345"}).id}


DATAPLATE_URLS = {"devices.read_plate": _location, "devices.dataplate": _read, "devices.dataplate_photo": _read}
