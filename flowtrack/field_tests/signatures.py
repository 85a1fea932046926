"""Signatures drawn on the phone: the signature pad (static/app.js) sends the canvas as a PNG data URL;
it is checked, re-encoded and stored as a PNG beside the test (flowtrack/core/storage.py), and printed on the report
as an inline image."""
from __future__ import annotations

import base64
import binascii
import uuid

from PIL import Image, ImageOps

from flowtrack.core.images import PictureRefused, encoded, read_picture
from flowtrack.core.storage import FileStorage, StoredFileMissing

PREFIX = "data:image/png;base64,"
MAX_BYTES = 512 * 1024
LARGEST_SIDE = 1200


def signature_png(data_url: str | None, *, missing: str) -> bytes:
    """The drawn signature as a clean PNG; ValueError(`missing`) when nothing was drawn."""
    data_url = (data_url or "").strip()
    if not data_url:
        raise ValueError(missing)
    if not data_url.startswith(PREFIX):
        raise ValueError("The signature did not come through; clear it and sign again.")
    try:
        data = base64.b64decode(data_url.removeprefix(PREFIX), validate=True)
        image = read_picture(data, formats=("PNG",), max_bytes=MAX_BYTES, what="signature", max_pixels=4_000_000)
    except (binascii.Error, PictureRefused):
        raise ValueError("The signature did not come through; clear it and sign again.") from None
    if _blank(image):
        raise ValueError(missing)
    png, _, _ = encoded(image, largest_side=LARGEST_SIDE, format="PNG")
    return png


def _blank(image: Image.Image) -> bool:
    """Nothing drawn: every pixel transparent or white."""
    paper = Image.new("RGBA", image.size, "white")
    paper.alpha_composite(image.convert("RGBA"))
    return ImageOps.invert(paper.convert("L")).getbbox() is None


def signature_key(company_id: uuid.UUID, test_id: uuid.UUID, signer: str) -> str:
    return f"{company_id}/signatures/{test_id}-{signer}.png"


def data_uri(storage: FileStorage, key: str | None) -> str | None:
    """The stored signature as an inline image for the report (WeasyPrint may read nothing else)."""
    if not key:
        return None
    try:
        return PREFIX + base64.b64encode(storage.get(key)).decode()
    except StoredFileMissing:
        return None
