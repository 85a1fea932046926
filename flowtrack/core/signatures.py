"""Signatures drawn on a signature pad (static/app.js, templates/_signature_pad.html): the pad sends its canvas as
a PNG data URL; it is checked, re-encoded and stored as a PNG (flowtrack/core/storage.py) by the feature that asked
for it (a test's tester and customer, a customer approving a quote), and printed as an inline image."""
from __future__ import annotations

import base64
import binascii

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
    if not data_url.startswith(PREFIX) or len(data_url) > len(PREFIX) + 4 * (MAX_BYTES + 2) // 3:
        raise ValueError("The signature did not come through; clear it and sign again.")  # not decoded if too long
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


def data_uri(storage: FileStorage, key: str | None) -> str | None:
    """The stored signature as an inline image for a printed page (WeasyPrint may read nothing else)."""
    if not key:
        return None
    try:
        return PREFIX + base64.b64encode(storage.get(key)).decode()
    except StoredFileMissing:
        return None
