"""Import customers, locations and devices from a CSV file: upload, preview each row's problems, import."""
import uuid

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from flowtrack.auth.permissions import CUSTOMERS_IMPORT, requires
from flowtrack.devices.services import company_today
from flowtrack.imports import services
from flowtrack.imports.forms import UploadForm
from flowtrack.models.imports import CustomerImport, ImportStatus

bp = Blueprint("imports", __name__, url_prefix="/import")
SHOWN_ROWS = 200


def _upload(upload_id: uuid.UUID) -> CustomerImport:
    upload = services.get_upload(g.db, upload_id)
    if upload is None:
        abort(404)
    return upload


def _preview(upload: CustomerImport, plan: services.Plan | None, status: int = 200):
    return render_template("imports/preview.html", upload=upload, plan=plan, shown=SHOWN_ROWS), status


@bp.route("/", methods=["GET", "POST"])
@requires(CUSTOMERS_IMPORT)
def index():
    form = UploadForm()
    if form.validate_on_submit():
        try:
            upload = services.store_upload(g.db, form.file.data.filename or "", form.file.data.read(),
                                           current_user.user_id)
        except services.UnreadableFile as problem:
            form.file.errors.append(str(problem))
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
    upload = _upload(upload_id)
    plan = services.plan_rows(g.db, upload.rows, company_today(g.db)) \
        if upload.status == ImportStatus.previewed.value else None
    return _preview(upload, plan)


@bp.post("/<uuid:upload_id>/import")
@requires(CUSTOMERS_IMPORT)
def commit(upload_id: uuid.UUID):
    """Import every row or none."""
    upload = _upload(upload_id)
    try:
        plan = services.import_upload(g.db, upload, company_today(g.db))
    except services.AlreadyImported:
        flash("This file has been imported already.", "info")
        return redirect(url_for("imports.preview", upload_id=upload.id), code=303)
    except IntegrityError:
        g.db.rollback()
        flash("Someone added some of these records while the file was importing. Nothing was imported; "
              "check the rows again below.", "error")
        return redirect(url_for("imports.preview", upload_id=upload.id), code=303)
    if plan.problem_rows:
        g.db.rollback()
        flash("Records have changed since the preview and some rows have problems now. Nothing was imported.",
              "error")
        return _preview(_upload(upload_id), plan, 422)
    g.db.commit()
    counts = plan.counts()
    flash(f"Imported {counts['customers']} customers, {counts['locations']} service locations and "
          f"{counts['devices']} devices.", "success")
    return redirect(url_for("imports.preview", upload_id=upload.id), code=303)
