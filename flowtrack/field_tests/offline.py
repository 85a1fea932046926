"""The service worker, served from the site's root so that it may keep and serve the technician's pages. Its
version is the hash of the files it keeps: a release that changes them makes the phones take the new ones."""
from __future__ import annotations

import functools
import hashlib

from flask import Blueprint, Response, current_app

from flowtrack.core.permissions import public

bp = Blueprint("offline", __name__)

KEPT_FILES = ("app.css", "app.js", "field.js", "day_map.js", "vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css",
              "sw.js")


@functools.cache
def _worker(static_folder: str) -> str:
    files = {name: open(f"{static_folder}/{name}", encoding="utf-8").read() for name in KEPT_FILES}
    version = hashlib.sha256("".join(files.values()).encode()).hexdigest()[:16]
    return f'var VERSION = "{version}";\n' + files["sw.js"]


@bp.get("/sw.js")
@public
def service_worker():
    return Response(_worker(current_app.static_folder), mimetype="text/javascript",
                    headers={"Cache-Control": "no-cache"})
