"""Test kits (gauges): the list with calibration state, add, edit, retire (or return to service), remove."""
import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for

from flowtrack.companies.services import company_today
from flowtrack.core.forms import add_error
from flowtrack.core.permissions import GAUGES_MANAGE, GAUGES_VIEW, requires
from flowtrack.devices import services
from flowtrack.devices.forms import GaugeForm
from flowtrack.models.customers import Gauge

bp = Blueprint("gauges", __name__, url_prefix="/gauges")

def _gauge(gauge_id: uuid.UUID) -> Gauge:
    gauge = services.get_gauge(g.db, gauge_id)
    if gauge is None:
        abort(404)
    return gauge


def _form(gauge: Gauge | None = None) -> GaugeForm:
    form = GaugeForm(obj=gauge)
    form.today = company_today(g.db)
    form.vendor_id.choices = [("", "Our own testers"), *((str(vendor.id), f"{vendor.name} (vendor)")
                                                          for vendor in services.vendors(g.db))]
    if not form.vendor_id.raw_data:  # not chosen on this form: the kit keeps its owner
        form.vendor_id.data = str(gauge.vendor_id or "") if gauge is not None else ""
    return form


def _values(form: GaugeForm) -> dict:
    return {**{field: form[field].data for field in services.GAUGE_FIELDS},
            "vendor_id": uuid.UUID(form.vendor_id.data) if form.vendor_id.data else None}


def _page(form: GaugeForm, gauge: Gauge | None, status: int):
    return render_template("devices/gauge_form.html", form=form, gauge=gauge), status


@bp.get("/")
@requires(GAUGES_VIEW)
def index():
    """Every test kit, the first to need calibration first; expired ones say so."""
    today = company_today(g.db)
    gauges = [(gauge, services.gauge_state(gauge, today)) for gauge in services.list_gauges(g.db)]
    # A vendor's kit is named as theirs: the company's own testers are not offered it.
    owners = {vendor.id: vendor.name for vendor in services.vendors(g.db)}
    return render_template("devices/gauges.html", gauges=gauges, owners=owners)


@bp.route("/new", methods=["GET", "POST"])
@requires(GAUGES_MANAGE)
def new():
    form = _form()
    if not form.validate_on_submit():
        return _page(form, None, 422 if form.is_submitted() else 200)
    try:
        gauge = services.create_gauge(g.db, **_values(form))
    except services.SerialTaken as taken:
        g.db.rollback()
        add_error(form.serial, str(taken))
        return _page(form, None, 422)
    g.db.commit()
    flash(f"Test kit {gauge.serial} added.", "success")
    return redirect(url_for("gauges.index"), code=303)


@bp.route("/<uuid:gauge_id>/edit", methods=["GET", "POST"])
@requires(GAUGES_MANAGE)
def edit(gauge_id: uuid.UUID):
    """Change a kit's details; after a calibration, its new dates."""
    gauge = _gauge(gauge_id)
    form = _form(gauge)
    if not form.validate_on_submit():
        return _page(form, gauge, 422 if form.is_submitted() else 200)
    try:
        services.update_gauge(g.db, gauge, **_values(form))
    except services.SerialTaken as taken:
        g.db.rollback()
        add_error(form.serial, str(taken))
        return _page(form, gauge, 422)
    g.db.commit()
    flash("Changes saved.", "success")
    return redirect(url_for("gauges.index"), code=303)


@bp.post("/<uuid:gauge_id>/delete")
@requires(GAUGES_MANAGE)
def delete(gauge_id: uuid.UUID):
    """Remove a kit added by mistake; one that tests were recorded with is refused, with the way to retire it."""
    gauge = _gauge(gauge_id)
    try:
        services.delete_gauge(g.db, gauge)
    except services.KitInUse as in_use:
        g.db.rollback()
        flash(str(in_use), "error")
        return redirect(url_for("gauges.index"), code=303)
    g.db.commit()
    flash(f"Test kit {gauge.serial} removed.", "success")
    return redirect(url_for("gauges.index"), code=303)


@bp.post("/<uuid:gauge_id>/retire")
@requires(GAUGES_MANAGE)
def retire(gauge_id: uuid.UUID):
    """Take a kit out of service: it stays on its tests and reports and is no longer offered on the test form."""
    gauge = _gauge(gauge_id)
    services.retire_gauge(g.db, gauge, company_today(g.db))
    g.db.commit()
    flash(f"Test kit {gauge.serial} retired: it is no longer offered on the test form.", "success")
    return redirect(url_for("gauges.index"), code=303)


@bp.post("/<uuid:gauge_id>/return")
@requires(GAUGES_MANAGE)
def return_to_service(gauge_id: uuid.UUID):
    gauge = _gauge(gauge_id)
    services.return_gauge_to_service(g.db, gauge)
    g.db.commit()
    flash(f"Test kit {gauge.serial} is back in service.", "success")
    return redirect(url_for("gauges.index"), code=303)
