"""Work orders: the list, one work order's page, creating them (at a location, or in bulk from the due list),
canceling, and their price lines."""
import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from htmx_flask import request as htmx_request

from flowtrack.auth.permissions import WORK_ORDERS_EDIT, WORK_ORDERS_VIEW, requires
from flowtrack.customers import services as customers
from flowtrack.devices.services import company_timezone, company_today
from flowtrack.models.customers import DeviceStatus
from flowtrack.money import cents, format_cents
from flowtrack.models.scheduling import NotTestedReason, WorkKind, WorkOrder
from flowtrack.schedule import services as schedule
from flowtrack.work_orders import services
from flowtrack.work_orders.forms import AUTO_ASSIGN, FromDueForm, LineForm, WorkOrderFilterForm, WorkOrderForm

bp = Blueprint("work_orders", __name__)


bp.add_app_template_filter(format_cents, "money")


@bp.app_template_filter("work_kind")
def work_kind(value: str) -> str:
    return WorkKind(value).label


@bp.app_template_filter("not_tested_reason")
def not_tested_reason(value: str) -> str:
    return NotTestedReason(value).label.lower()


def _work_order(work_order_id: uuid.UUID) -> WorkOrder:
    order = services.get_work_order(g.db, work_order_id)
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
    if htmx_request.htmx and not htmx_request.htmx.history_restore_request:
        return render_template("work_orders/_rows.html", page=page, params=params, timezone=timezone), code
    return render_template("work_orders/index.html", form=form, page=page, params=params, timezone=timezone), code


def _detail(order: WorkOrder, line_form: LineForm | None = None, status: int = 200):
    conflicts = schedule.conflicts_of(g.db, order.job) if order.job else []
    return render_template("work_orders/detail.html", order=order, line_form=line_form or LineForm(),
                           conflicts=conflicts, zone=company_timezone(g.db)), status


@bp.get("/work-orders/<uuid:work_order_id>")
@requires(WORK_ORDERS_VIEW)
def detail(work_order_id: uuid.UUID):
    return _detail(_work_order(work_order_id))


@bp.route("/locations/<uuid:location_id>/work-orders/new", methods=["GET", "POST"])
@requires(WORK_ORDERS_EDIT)
def new(location_id: uuid.UUID):
    location = customers.location_with_devices(g.db, location_id)
    if location is None:
        abort(404)
    form = WorkOrderForm()
    form.devices.choices = [(str(d.id), " · ".join(filter(None, (d.serial, d.device_type, d.where_installed))))
                            for d in location.devices if d.status == DeviceStatus.active.value]
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
    return render_template("work_orders/new.html", form=form, location=location), 422 if form.errors else 200


@bp.post("/work-orders/from-due")
@requires(WORK_ORDERS_EDIT)
def from_due():
    """The due list's chosen devices: one work order per location, booked on a day if asked, else on to the
    board to book them."""
    form = FromDueForm().with_technicians(schedule.technicians(g.db))
    try:
        device_ids = [uuid.UUID(value) for value in form.devices.data or []]
    except ValueError:
        abort(400, "Those are not devices of this company.")
    if not form.validate_on_submit():
        problems = "; ".join(errors[0] for errors in form.errors.values())
        flash(f"No work orders created. {problems}", "error")
        return redirect(request.referrer or url_for("due.index"), code=303)
    result = services.work_orders_for_devices(g.db, device_ids, created_by=current_user.user_id)
    message = f"{len(result.created)} work order{'s' if len(result.created) != 1 else ''} created"
    week = None
    if form.book_on.data and result.created:
        chosen = None if form.technician.data in (None, "", AUTO_ASSIGN) else uuid.UUID(form.technician.data)
        try:
            schedule.auto_book(g.db, result.created, form.book_on.data, today=company_today(g.db),
                               technician_id=chosen)
        except schedule.MoveRefused as refused:
            g.db.rollback()
            flash(f"No work orders created. {refused}", "error")
            return redirect(request.referrer or url_for("due.index"), code=303)
        message += f" and booked on {form.book_on.data:%b %-d}"
        week = schedule.monday_of(form.book_on.data).isoformat()
    g.db.commit()
    message += "."
    if result.skipped_serials:
        message += " Already on unfinished work, so left out: " + ", ".join(result.skipped_serials) + "."
    flash(message, "success" if result.created else "error")
    return redirect(url_for("schedule.board", week=week), code=303)


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
    if htmx_request.htmx:
        return render_template("work_orders/_lines.html", order=order, line_form=form), status
    if status != 200:
        return _detail(order, form, status)
    return redirect(url_for("work_orders.detail", work_order_id=order.id), code=303)


@bp.post("/work-orders/<uuid:work_order_id>/lines")
@requires(WORK_ORDERS_EDIT)
def add_line(work_order_id: uuid.UUID):
    order = _work_order(work_order_id)
    form = LineForm()
    if not form.validate_on_submit():
        return _lines(order, form, 422)
    try:
        services.add_line(g.db, order, description=form.description.data, quantity=form.quantity.data,
                          unit_price_cents=cents(form.unit_price.data))
    except services.WorkRefused as refused:
        g.db.rollback()
        form.description.errors.append(str(refused))
        return _lines(order, form, 422)
    g.db.commit()
    return _lines(order, LineForm(formdata=None))


@bp.post("/work-orders/<uuid:work_order_id>/lines/<uuid:line_id>/delete")
@requires(WORK_ORDERS_EDIT)
def remove_line(work_order_id: uuid.UUID, line_id: uuid.UUID):
    order = _work_order(work_order_id)
    form = LineForm(formdata=None)
    try:
        services.remove_line(g.db, order, line_id)
    except LookupError:
        abort(404)
    except services.WorkRefused as refused:
        g.db.rollback()
        form.description.errors.append(str(refused))
        return _lines(order, form, 422)
    g.db.commit()
    return _lines(order, form)
