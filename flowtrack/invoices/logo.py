"""The company's logo on its invoices: an uploaded PNG or JPEG, checked, shrunk and re-encoded as PNG (which
drops whatever else the file carried), kept under the instance folder and put into PDFs as a data URI."""
from __future__ import annotations

import base64
import uuid
from pathlib import Path

from flowtrack.core.images import encoded, read_picture

MAX_BYTES = 2 * 1024 * 1024
LARGEST_SIDE = 600
MAX_PIXELS = 25_000_000
FORMATS = ("PNG", "JPEG")


def logo_path(instance_path: Path, company_id: uuid.UUID) -> Path:
    return instance_path / "logos" / str(company_id) / "logo.png"


def save_logo(instance_path: Path, company_id: uuid.UUID, data: bytes) -> None:
    image = read_picture(data, formats=FORMATS, max_bytes=MAX_BYTES, what="logo", max_pixels=MAX_PIXELS)
    png, _, _ = encoded(image, largest_side=LARGEST_SIDE, format="PNG")
    path = logo_path(instance_path, company_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)


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
