"""Work orders: the list, one work order's page, creating them (at a location, or in bulk from the due list),
canceling, and their price lines."""
import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.companies.services import company_timezone, company_today
from flowtrack.core.forms import add_error, first_error
from flowtrack.core.money import cents
from flowtrack.core.permissions import INVOICES_VIEW, WORK_ORDERS_EDIT, WORK_ORDERS_VIEW, allowed, requires
from flowtrack.core.templating import is_fragment
from flowtrack.devices import services as devices
from flowtrack.hints import services as hints
from flowtrack.models.customers import DeviceStatus
from flowtrack.models.quotes import repair_quotes
from flowtrack.models.scheduling import NotTestedReason, WorkKind, WorkOrder, WorkOrderStatus
from flowtrack.work_orders import bookings, services
from flowtrack.work_orders.forms import LineForm, LinePriceForm, WorkOrderFilterForm, WorkOrderForm
from flowtrack.work_orders.pricing import billing_order

bp = Blueprint("work_orders", __name__)


@bp.app_template_filter("work_kind")
def work_kind(value: str) -> str:
    return WorkKind(value).label


@bp.app_template_filter("not_tested_reason")
def not_tested_reason(value: str) -> str:
    return NotTestedReason(value).label.lower()


def _work_order(work_order_id: uuid.UUID) -> WorkOrder:
    """The work order of the URL, locked when the request changes it (`lock_for_change`)."""
    order = services.get_work_order(g.db, work_order_id, for_update=request.method == "POST")
    if order is None:
        abort(404)
    return order


@bp.get("/work-orders/")
@requires(WORK_ORDERS_VIEW)
def index():
    form = WorkOrderFilterForm(request.args)
    valid = form.validate()
    status = form.status.data if valid else None
    customer = uuid.UUID(form.customer.data) if valid and form.customer.data else None
    page = services.list_work_orders(g.db, status=status, customer_id=customer, after=request.args.get("after"))
    params = {name: value for name, value in (("status", status), ("customer", customer)) if value}
    code = 200 if valid else 422
    timezone = company_timezone(g.db).key
    if is_fragment():
        return render_template("work_orders/_rows.html", page=page, params=params, timezone=timezone), code
    return render_template("work_orders/index.html", form=form, page=page, params=params, timezone=timezone), code


def _lines_context(order: WorkOrder, line_form: LineForm | None) -> dict:
    invoice = services.invoice_of(g.db, order)
    return {"order": order, "lines": billing_order(order), "line_form": line_form or LineForm(),
            "price_form": LinePriceForm(formdata=None), "invoice": invoice,
            "editable": order.status != WorkOrderStatus.canceled.value and invoice is None}


def _detail(order: WorkOrder, line_form: LineForm | None = None, status: int = 200):
    conflicts = bookings.conflicts_of(g.db, order.job) if order.job else []
    zone, quote = company_timezone(g.db), services.quote_of(g.db, order)
    # A failed assembly found on this work order: its repair's quote, or the offer to quote it.
    repairs = repair_quotes(g.db, [item.device for item in order.devices], zone) \
        if quote is None and allowed(current_user.role, INVOICES_VIEW) else {}
    today = company_today(g.db)
    return render_template("work_orders/detail.html", conflicts=conflicts, zone=zone, vendors=devices.vendors(g.db),
                           quote=quote, repairs=repairs, today=today, hints=_hints(order, today),
                           **_lines_context(order, line_form)), status


def _hints(order: WorkOrder, today) -> hints.Found:
    """The hints about this work order: its visit's, its job's, its customer's, its devices'."""
    device_ids = [item.device_id for item in order.devices]
    scope = hints.Scope(devices=frozenset(device_ids), work_orders=frozenset({order.id}))
    return hints.of_work_order(hints.find(g.db, hints.kinds_for(current_user.role), today, scope), order.id,
                               device_ids)


@bp.get("/work-orders/<uuid:work_order_id>")
@requires(WORK_ORDERS_VIEW)
def detail(work_order_id: uuid.UUID):
    return _detail(_work_order(work_order_id))


@bp.route("/locations/<uuid:location_id>/work-orders/new", methods=["GET", "POST"])
@requires(WORK_ORDERS_EDIT)
def new(location_id: uuid.UUID):
    location = devices.location_with_devices(g.db, location_id)
    if location is None:
        abort(404)
    form = WorkOrderForm()
    active = [d for d in location.devices if d.status == DeviceStatus.active.value]
    # Devices already on unfinished work are shown as such, not offered again (they would be refused).
    planned = services.unfinished_work_of(g.db, [d.id for d in active])
    form.devices.choices = [(str(d.id), " · ".join(filter(None, (d.serial, d.device_type, d.where_installed))))
                            for d in active if d.id not in planned]
    if request.method == "GET":
        form.devices.data = [value for value, _ in form.devices.choices]
    if form.validate_on_submit():
        try:
            order = services.create_work_order(g.db, location, [uuid.UUID(v) for v in form.devices.data or []],
                                               created_by=current_user.user_id, kind=form.kind.data,
                                               notes=form.notes.data)
        except services.WorkRefused as refused:
            g.db.rollback()
            form.devices.errors = [str(refused)]
        else:
            g.db.commit()
            flash("Work order created. Book it on the board, or from its page.", "success")
            return redirect(url_for("work_orders.detail", work_order_id=order.id), code=303)
    return render_template("work_orders/new.html", form=form, location=location,
                           planned=[(d, planned[d.id]) for d in active if d.id in planned]), 422 if form.errors else 200


@bp.post("/work-orders/<uuid:work_order_id>/devices")
@requires(WORK_ORDERS_EDIT)
def add_devices(work_order_id: uuid.UUID):
    """Add devices of the place to the visit (the hint's button), then back to the work order."""
    order = _work_order(work_order_id)
    try:
        device_ids = [uuid.UUID(value) for value in request.form.getlist("device")]
    except ValueError:
        abort(400, "Choose devices of this work order's place.")
    try:
        added = services.add_devices(g.db, order, device_ids)
    except services.WorkRefused as refused:
        g.db.rollback()
        flash(str(refused), "error")
    else:
        g.db.commit()
        flash("Added to the visit: " + ", ".join(device.serial for device in added) + ".", "success")
    return redirect(url_for("work_orders.detail", work_order_id=order.id), code=303)


@bp.post("/work-orders/<uuid:work_order_id>/cancel")
@requires(WORK_ORDERS_EDIT)
def cancel(work_order_id: uuid.UUID):
    order = _work_order(work_order_id)
    try:
        services.cancel(g.db, order)
    except services.WorkRefused as refused:
        g.db.rollback()
        flash(str(refused), "error")
    else:
        g.db.commit()
        flash("Work order canceled.", "success")
    return redirect(url_for("work_orders.detail", work_order_id=order.id), code=303)


def _lines(order: WorkOrder, form: LineForm, status: int = 200):
    if is_fragment():
        return render_template("work_orders/_lines.html", **_lines_context(order, form)), status
    if status != 200:
        return _detail(order, form, status)
    return redirect(url_for("work_orders.detail", work_order_id=order.id), code=303)


def _change_lines(order: WorkOrder, change, form: LineForm):
    """Make a change to the lines, answering with them; a refusal shows under the line form, the lines unchanged."""
    try:
        change()
    except LookupError:
        abort(404)
    except services.WorkRefused as refused:
        g.db.rollback()
        add_error(form.description, str(refused))
        return _lines(order, form, 422)
    g.db.commit()
    return _lines(order, LineForm(formdata=None))


@bp.post("/work-orders/<uuid:work_order_id>/lines")
@requires(WORK_ORDERS_EDIT)
def add_line(work_order_id: uuid.UUID):
    order = _work_order(work_order_id)
    form = LineForm()
    if not form.validate_on_submit():
        return _lines(order, form, 422)
    return _change_lines(order, lambda: services.add_line(
        g.db, order, description=form.description.data, quantity=form.quantity.data,
        unit_price_cents=cents(form.unit_price.data)), form)


@bp.post("/work-orders/<uuid:work_order_id>/lines/<uuid:line_id>/price")
@requires(WORK_ORDERS_EDIT)
def price_line(work_order_id: uuid.UUID, line_id: uuid.UUID):
    """Set a line's price: one the price list lacked, or a changed one."""
    order = _work_order(work_order_id)
    form, lines = LinePriceForm(), LineForm(formdata=None)
    if not form.validate_on_submit():
        add_error(lines.description, f"Price not saved: {first_error(form)}")
        return _lines(order, lines, 422)
    return _change_lines(order, lambda: services.set_line_price(g.db, order, line_id, cents(form.unit_price.data)),
                         lines)


@bp.post("/work-orders/<uuid:work_order_id>/lines/<uuid:line_id>/delete")
@requires(WORK_ORDERS_EDIT)
def remove_line(work_order_id: uuid.UUID, line_id: uuid.UUID):
    order = _work_order(work_order_id)
    return _change_lines(order, lambda: services.remove_line(g.db, order, line_id), LineForm(formdata=None))
