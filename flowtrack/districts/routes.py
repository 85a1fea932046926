"""Water districts: who they are, where reports go, and when their devices fall due."""
import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for

from flowtrack.auth.permissions import DISTRICTS_MANAGE, requires
from flowtrack.districts import services
from flowtrack.districts.forms import DistrictForm
from flowtrack.models.customers import District

bp = Blueprint("districts", __name__, url_prefix="/districts")


def _district(district_id: uuid.UUID) -> District:
    district = services.get_district(g.db, district_id)
    if district is None:
        abort(404)
    return district


def _page(form: DistrictForm, district: District | None, status: int):
    return render_template("districts/form.html", form=form, district=district), status


def _refused(form: DistrictForm, district: District | None, error: services.DistrictError):
    g.db.rollback()
    form[error.field].errors.append(str(error))
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
        district = services.create_district(g.db, **{f: form[f].data for f in services.DISTRICT_FIELDS})
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
    form = DistrictForm(obj=district)
    if not form.validate_on_submit():
        return _page(form, district, 422 if form.is_submitted() else 200)
    try:
        rescheduled = services.update_district(g.db, district, **{f: form[f].data for f in services.DISTRICT_FIELDS})
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
