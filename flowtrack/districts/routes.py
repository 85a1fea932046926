"""Water districts: who they are, where reports go, and when their devices fall due."""
import uuid
from decimal import Decimal

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for

from flowtrack.core.forms import add_error
from flowtrack.core.money import cents
from flowtrack.core.permissions import DISTRICTS_MANAGE, requires
from flowtrack.core.templating import is_fragment
from flowtrack.districts import services
from flowtrack.districts.forms import DistrictForm, ReportFormForm
from flowtrack.field_tests.report import DEFAULT_FORM
from flowtrack.models.customers import District

bp = Blueprint("districts", __name__, url_prefix="/districts")


def _district(district_id: uuid.UUID) -> District:
    district = services.get_district(g.db, district_id)
    if district is None:
        abort(404)
    return district


def _page(form: DistrictForm, district: District | None, status: int):
    return render_template("districts/form.html", form=form, district=district), status


def _values(form: DistrictForm) -> dict:
    """The form as the service takes it: the fee in cents."""
    values = {f: form[f].data for f in services.DISTRICT_FIELDS if f != "fee_cents"}
    return {**values, "fee_cents": cents(form.fee.data) if form.fee.data is not None else 0}


def _refused(form: DistrictForm, district: District | None, error: services.DistrictError):
    g.db.rollback()
    add_error(form[error.field], str(error))
    return _page(form, district, 422)


@bp.get("/")
@requires(DISTRICTS_MANAGE)
def index():
    return render_template("districts/index.html", districts=services.list_districts(g.db))


@bp.route("/new", methods=["GET", "POST"])
@requires(DISTRICTS_MANAGE)
def new():
    form = DistrictForm()
    if not form.validate_on_submit():
        return _page(form, None, 422 if form.is_submitted() else 200)
    try:
        district = services.create_district(g.db, **_values(form))
    except services.DistrictError as error:
        return _refused(form, None, error)
    g.db.commit()
    flash(f"{district.name} added.", "success")
    return redirect(url_for("districts.index"), code=303)


@bp.route("/<uuid:district_id>/edit", methods=["GET", "POST"])
@requires(DISTRICTS_MANAGE)
def edit(district_id: uuid.UUID):
    """Change a district; a changed due-date rule reschedules the devices in it."""
    district = _district(district_id)
    form = DistrictForm(obj=district, fee=Decimal(district.fee_cents) / 100)
    if not form.validate_on_submit():
        return _page(form, district, 422 if form.is_submitted() else 200)
    try:
        rescheduled = services.update_district(g.db, district, **_values(form))
    except services.DistrictError as error:
        return _refused(form, district, error)
    g.db.commit()
    flash("Changes saved." + (f" {rescheduled} device{'s' if rescheduled != 1 else ''} rescheduled by the new rule."
                              if rescheduled else ""), "success")
    return redirect(url_for("districts.index"), code=303)


@bp.post("/<uuid:district_id>/delete")
@requires(DISTRICTS_MANAGE)
def delete(district_id: uuid.UUID):
    """Remove a district that no service location is in."""
    district = _district(district_id)
    try:
        services.delete_district(g.db, district)
    except services.DistrictError as error:
        g.db.rollback()
        flash(str(error), "error")
        return redirect(url_for("districts.index"), code=303)
    g.db.commit()
    flash(f"{district.name} removed.", "success")
    return redirect(url_for("districts.index"), code=303)


# The preview is the admin's own HTML: it may style itself and show inline images, and nothing else: no
# script, no request anywhere, no form, shown only inside our editor page (in a sandboxed frame).
PREVIEW_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
               "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox")


def _editor(district: District, form: ReportFormForm, status: int, checked: str | None = None):
    """The editor page; `checked` says a check asked for without HTMX found the form fine (a problem shows as the
    field's error)."""
    return render_template("districts/report_form.html", district=district, form=form, checked=checked), status


def _submitted_text(form: ReportFormForm) -> str:
    return form.report_template.data or ""


@bp.route("/<uuid:district_id>/report-form", methods=["GET", "POST"])
@requires(DISTRICTS_MANAGE)
def report_form(district_id: uuid.UUID):
    """Edit the district's own test report form; saving checks it first and keeps the text when refused."""
    district = _district(district_id)
    form = ReportFormForm()
    if not form.is_submitted():
        start = DEFAULT_FORM if request.args.get("start") == "standard" else district.report_template
        form.report_template.data = start or ""
        return _editor(district, form, 200)
    if not form.validate():
        return _editor(district, form, 422)
    try:
        changed = services.save_report_form(g.db, district, _submitted_text(form))
    except services.DistrictError as error:
        g.db.rollback()
        form.report_template.errors = [str(error)]
        return _editor(district, form, 422)
    g.db.commit()
    if not changed:
        flash("Nothing changed.", "info")
    elif district.report_template is None:
        flash(f"{district.name}'s reports use the standard form.", "success")
    else:
        flash(f"{district.name}'s report form saved; reports printed from now on use it.", "success")
    return redirect(url_for("districts.report_form", district_id=district.id), code=303)


@bp.post("/<uuid:district_id>/report-form/check")
@requires(DISTRICTS_MANAGE)
def check_report_form(district_id: uuid.UUID):
    """Live check while the form is typed: does it compile and fill in with the sample test?"""
    district = _district(district_id)
    form = ReportFormForm()
    try:
        services.sample_report(_submitted_text(form))
        problem = None
    except services.DistrictError as error:
        problem = str(error)
    if is_fragment():
        return render_template("districts/_report_form_check.html", problem=problem, form=form)
    if problem:
        form.report_template.errors = [problem]
    return _editor(district, form, 422 if problem else 200, checked=None if problem else "ok")


@bp.post("/<uuid:district_id>/report-form/preview")
@requires(DISTRICTS_MANAGE)
def preview_report_form(district_id: uuid.UUID):
    """The unsaved form filled in with the sample test, as the page inside the editor's sandboxed frame."""
    _district(district_id)
    form = ReportFormForm()
    try:
        html, status = services.sample_report(_submitted_text(form)), 200
    except services.DistrictError as error:
        html, status = render_template("districts/report_form_preview_problem.html", problem=str(error)), 422
    return Response(html, status, mimetype="text/html",
                    headers={"Content-Security-Policy": PREVIEW_CSP, "X-Frame-Options": "SAMEORIGIN"})


@bp.route("/<uuid:district_id>/report-form/preview.pdf", methods=["GET", "POST"])
@requires(DISTRICTS_MANAGE)
def report_form_pdf(district_id: uuid.UUID):
    """The form printed with the sample test as a real PDF: the saved one (GET) or the one being edited (POST)."""
    district = _district(district_id)
    form = ReportFormForm()
    if request.method == "POST":
        source = _submitted_text(form)
    else:
        source = district.report_template
        form.report_template.data = source or ""
    try:
        pdf = services.sample_report_pdf(source)
    except services.DistrictError as error:
        form.report_template.errors = [str(error)]
        return _editor(district, form, 422)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": 'inline; filename="report-form-preview.pdf"'})
