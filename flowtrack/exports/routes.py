"""Settings → Data export: the company admin's full copy of the company's data."""
import uuid

from flask import Blueprint, g, render_template

from flowtrack.core.db import utcnow
from flowtrack.core.extensions import limiter
from flowtrack.core.permissions import DATA_EXPORT, requires
from flowtrack.exports import services, views

bp = Blueprint("exports", __name__, url_prefix="/account/export")

KINDS = ("data_zip",)


@bp.get("/")
@requires(DATA_EXPORT)
def index():
    """The export page: start one, and the recent ones with their downloads."""
    return render_template("exports/index.html", exports=services.recent_exports(g.db, KINDS), blueprint="exports",
                           now=utcnow())


@bp.post("/")
@requires(DATA_EXPORT)
@limiter.limit("5 per hour")
def start():
    """Queue a full export of the company's data."""
    return views.start("data_zip", "exports")


@bp.get("/<uuid:export_id>")
@requires(DATA_EXPORT)
def status(export_id: uuid.UUID):
    """Progress of one export (polled by HTMX), then its download link."""
    return views.status(views.find_or_404(export_id, KINDS), "exports")


@bp.get("/<uuid:export_id>/download")
@requires(DATA_EXPORT)
def download(export_id: uuid.UUID):
    """The finished ZIP, to this company's admins only, until it expires."""
    return views.download(views.find_or_404(export_id, KINDS))
