"""Import customers, locations and devices from a CSV file: upload, preview each row's problems, import (in
the worker, its progress polled by the page)."""
import uuid

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, url_for
from flask_login import current_user

from flowtrack.companies.services import company_today
from flowtrack.core.db import utcnow
from flowtrack.core.forms import add_error
from flowtrack.core.permissions import CUSTOMERS_IMPORT, requires
from flowtrack.core.queue import enqueue_after_commit
from flowtrack.core.templating import is_fragment
from flowtrack.imports import services
from flowtrack.imports.forms import UploadForm
from flowtrack.imports.tasks import import_file
from flowtrack.models.imports import CustomerImport, ImportStatus

bp = Blueprint("imports", __name__, url_prefix="/import")
SHOWN_ROWS = 200


def _upload(upload_id: uuid.UUID, *, with_rows: bool = True) -> CustomerImport:
    upload = services.get_upload(g.db, upload_id, with_rows=with_rows)
    if upload is None:
        abort(404)
    return upload


def _status(upload: CustomerImport, notice: str | None = None) -> str:
    return render_template("imports/_status.html", notice=notice, **_state(upload))


def _state(upload: CustomerImport) -> dict:
    """What the import's status partial needs, on its own or in the upload's page."""
    return {"upload": upload, "stopped": services.stopped(upload, utcnow()),
            "stale_minutes": int(services.STALE_AFTER.total_seconds() // 60)}


@bp.route("/", methods=["GET", "POST"])
@requires(CUSTOMERS_IMPORT)
def index():
    form = UploadForm()
    if form.validate_on_submit():
        try:
            upload = services.store_upload(g.db, form.file.data.filename or "", form.file.data.read(),
                                           current_user.user_id)
        except services.UnreadableFile as problem:
            add_error(form.file, str(problem))
        else:
            g.db.commit()
            return redirect(url_for("imports.preview", upload_id=upload.id), code=303)
    return render_template("imports/index.html", form=form, uploads=services.recent_uploads(g.db),
                           columns=services.COLUMNS, required=services.REQUIRED_COLUMNS,
                           max_rows=services.MAX_ROWS), 422 if form.is_submitted() else 200


@bp.get("/template.csv")
@requires(CUSTOMERS_IMPORT)
def template():
    return Response(services.template_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="flowtrack-import-template.csv"'})


@bp.get("/<uuid:upload_id>")
@requires(CUSTOMERS_IMPORT)
def preview(upload_id: uuid.UUID):
    """The file's rows and their problems before importing; its import's progress or result after."""
    upload = _upload(upload_id)
    plan = services.plan_rows(g.db, upload.rows, company_today(g.db)) \
        if upload.status == ImportStatus.previewed.value else None
    return render_template("imports/preview.html", plan=plan, shown=SHOWN_ROWS, **_state(upload))


@bp.post("/<uuid:upload_id>/import")
@requires(CUSTOMERS_IMPORT)
def commit(upload_id: uuid.UUID):
    """Queue the import of every row or none; the answer shows its progress."""
    upload = _upload(upload_id, with_rows=False)
    try:
        attempt_id = services.start_import(g.db, upload, utcnow())
    except (services.AlreadyImported, services.ImportRunning) as refused:
        message = "This file has been imported already." if isinstance(refused, services.AlreadyImported) \
            else "This file is being imported already (from another click or tab); its progress is below."
        if is_fragment():
            return _status(upload, message), 409
        flash(message, "info")
        return redirect(url_for("imports.preview", upload_id=upload.id), code=303)
    enqueue_after_commit(g.db, import_file, current_user.company_id, str(upload.id), str(attempt_id),
                         str(current_user.user_id), description="CSV import")
    g.db.commit()
    if is_fragment():
        return _status(upload), 202
    return redirect(url_for("imports.preview", upload_id=upload.id), code=303)


@bp.get("/<uuid:upload_id>/status")
@requires(CUSTOMERS_IMPORT)
def status(upload_id: uuid.UUID):
    """The import's progress (polled by HTMX), then what it made or why it made nothing."""
    return _status(_upload(upload_id, with_rows=False))
