"""Vendors: the office keeps them and assigns work orders to them; a vendor's person sees their assigned work."""
import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_login import current_user

from flowtrack.account.links import invitation_link
from flowtrack.companies.services import company_timezone
from flowtrack.core.extensions import company_key, limiter
from flowtrack.core.forms import add_error
from flowtrack.core.permissions import VENDOR_WORK, VENDORS_MANAGE, requires
from flowtrack.devices import services as devices
from flowtrack.vendors import services
from flowtrack.vendors.forms import AssignForm, VendorForm, VendorPersonForm
from flowtrack.work_orders import services as work_orders

bp = Blueprint("vendors", __name__)


@bp.route("/vendors/", methods=["GET", "POST"])
@requires(VENDORS_MANAGE)
def index():
    form = VendorForm()
    if form.validate_on_submit():
        try:
            vendor = services.add_vendor(g.db, name=form.name.data, contact_email=form.contact_email.data,
                                         phone=form.phone.data)
        except services.VendorRefused as refused:
            add_error(form.name, str(refused))
        else:
            g.db.commit()
            flash(f"{vendor.name} added. Invite their testers and register their test kits next.", "success")
            return redirect(url_for("vendors.detail", vendor_id=vendor.id), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("vendors/index.html", vendors=devices.vendors(g.db), form=form), status


def _vendor(vendor_id: uuid.UUID):
    vendor = services.get_vendor(g.db, vendor_id)
    if vendor is None:
        abort(404)
    return vendor


def _detail(vendor, person_form: VendorPersonForm | None = None, status: int = 200):
    return render_template("vendors/detail.html", vendor=vendor, people=services.people_of(g.db, vendor.id),
                           kits=services.kits_of(g.db, vendor.id), work=services.assigned_work(g.db, vendor.id),
                           person_form=person_form or VendorPersonForm(), zone=company_timezone(g.db)), status


@bp.get("/vendors/<uuid:vendor_id>")
@requires(VENDORS_MANAGE)
def detail(vendor_id: uuid.UUID):
    return _detail(_vendor(vendor_id))


@bp.post("/vendors/<uuid:vendor_id>/people")
@requires(VENDORS_MANAGE)
@limiter.limit("30 per hour", key_func=company_key)
def invite_person(vendor_id: uuid.UUID):
    vendor = _vendor(vendor_id)
    form = VendorPersonForm()
    if not form.validate_on_submit():
        return _detail(vendor, form, 422)
    try:
        services.invite_person(g.db, vendor, email=form.email.data, full_name=form.full_name.data,
                               certification_number=form.certification_number.data,
                               certification_expires_on=form.certification_expires_on.data,
                               invited_by=current_user.user_id, inviter_name=current_user.full_name,
                               link_for=invitation_link)
    except services.VendorRefused as refused:
        g.db.rollback()
        add_error(form.email, str(refused))
        return _detail(vendor, form, 422)
    g.db.commit()
    flash(f"Invitation sent to {form.email.data.strip().lower()}.", "success")
    return redirect(url_for("vendors.detail", vendor_id=vendor.id), code=303)


@bp.post("/work-orders/<uuid:work_order_id>/vendor")
@requires(VENDORS_MANAGE)
def assign(work_order_id: uuid.UUID):
    order = work_orders.get_work_order(g.db, work_order_id)
    if order is None:
        abort(404)
    form = AssignForm()
    if not form.validate_on_submit():
        abort(400)
    vendor = None
    if form.vendor.data:
        try:
            vendor = services.get_vendor(g.db, uuid.UUID(form.vendor.data))
        except ValueError:
            vendor = None
        if vendor is None:
            abort(404)
    try:
        services.assign(g.db, order, vendor)
    except services.VendorRefused as refused:
        g.db.rollback()
        flash(str(refused), "error")
    else:
        g.db.commit()
        flash(f"Subcontracted to {vendor.name}: their people see it now." if vendor else
              "Taken back from the vendor: their people no longer see it.", "success")
    return redirect(url_for("work_orders.detail", work_order_id=order.id), code=303)


@bp.get("/vendor/work/")
@requires(VENDOR_WORK)
def work():
    return render_template("vendors/work.html", work=services.assigned_work(g.db, current_user.vendor_id),
                           vendor=services.get_vendor(g.db, current_user.vendor_id))


@bp.get("/vendor/work/<uuid:work_order_id>")
@requires(VENDOR_WORK)
def work_order(work_order_id: uuid.UUID):
    order = services.assigned_order(g.db, current_user.vendor_id, work_order_id)
    if order is None:
        abort(404)
    return render_template("vendors/work_order.html", order=order, tests=services.tests_on_order(g.db, order),
                           zone=company_timezone(g.db))
