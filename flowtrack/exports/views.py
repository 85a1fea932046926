"""Request handling shared by the data-export and audit-report pages: start, find, show, download."""
import uuid

from flask import abort, g, redirect, render_template, url_for
from flask_login import current_user

from flowtrack.audit import services as audit
from flowtrack.core.db import utcnow
from flowtrack.core.queue import enqueue_after_commit
from flowtrack.core.storage import StoredFileMissing, file_storage, send_stored
from flowtrack.core.templating import is_fragment
from flowtrack.exports import services
from flowtrack.exports.tasks import build_export
from flowtrack.models.companies import Company


def start(kind: str, blueprint: str, params: dict | None = None):
    """Record the request and queue the build once it is committed (never the other way round)."""
    export = services.request_export(g.db, kind, current_user.user_id, params)
    enqueue_after_commit(g.db, build_export, current_user.company_id, str(export.id), description=kind)
    g.db.commit()
    if is_fragment():
        return render_template("exports/_item.html", export=export, blueprint=blueprint, now=utcnow()), 202
    return redirect(url_for(f"{blueprint}.index"), code=303)


def find_or_404(export_id: uuid.UUID, kinds: tuple[str, ...]):
    export = services.find_export(g.db, export_id, kinds)
    if export is None:
        abort(404)
    return export


def status(export, blueprint: str):
    return render_template("exports/_status.html", export=export, blueprint=blueprint, now=utcnow())


def download(export):
    """Send a finished file; 410 once its window has closed."""
    if export.status != "done":
        abort(404)
    if export.expires_at <= utcnow():
        abort(410)
    company = g.db.get(Company, export.company_id)
    try:
        response = send_stored(file_storage(), services.file_key(export), mimetype=services.MEDIA_TYPE[export.kind],
                               download_name=services.download_name(company, export))
    except StoredFileMissing:
        abort(410)
    audit.record(g.db, "export.downloaded", entity_type="export", entity_id=export.id)
    g.db.commit()
    return response
