"""The company's logo on its invoices: an uploaded PNG or JPEG, checked, shrunk and re-encoded as PNG (which
drops whatever else the file carried), kept under the instance folder and put into PDFs as a data URI."""
from __future__ import annotations

import base64
import io
import uuid
from pathlib import Path

from PIL import Image, UnidentifiedImageError

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 25_000_000  # refused before decoding: a small file can unpack into a huge image
LARGEST_SIDE = 600
FORMATS = ("PNG", "JPEG")


class LogoRefused(ValueError):
    """Not a logo we can use; the message says why, for the form."""


def logo_path(instance_path: Path, company_id: uuid.UUID) -> Path:
    return instance_path / "logos" / str(company_id) / "logo.png"


def save_logo(instance_path: Path, company_id: uuid.UUID, data: bytes) -> None:
    if len(data) > MAX_BYTES:
        raise LogoRefused("The logo can be at most 2 MB.")
    try:
        image = Image.open(io.BytesIO(data))
        if image.format not in FORMATS:
            raise LogoRefused("Upload the logo as a PNG or JPEG picture.")
        if image.width * image.height > MAX_PIXELS:
            raise LogoRefused("That picture is too large; use one under 5,000 pixels a side.")
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise LogoRefused("That file is not a picture we can read; upload a PNG or JPEG.") from None
    image.thumbnail((LARGEST_SIDE, LARGEST_SIDE))
    out = io.BytesIO()
    image.convert("RGBA").save(out, format="PNG", optimize=True)
    path = logo_path(instance_path, company_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def remove_logo(instance_path: Path, company_id: uuid.UUID) -> bool:
    path = logo_path(instance_path, company_id)
    if not path.exists():
        return False
    path.unlink()
    return True


def logo_data_uri(instance_path: Path, company_id: uuid.UUID) -> str | None:
    path = logo_path(instance_path, company_id)
    if not path.exists():
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()
