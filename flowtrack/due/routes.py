"""Due and overdue: the devices to test next, for the office to turn into work; also as CSV."""
import uuid

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.audit import services as audit
from flowtrack.companies.services import company_timezone, company_today
from flowtrack.core.permissions import DEVICES_DUE, INVOICES_VIEW, WORK_ORDERS_EDIT, allowed, requires
from flowtrack.core.templating import is_fragment
from flowtrack.core.web import get_db
from flowtrack.customers import services as customers
from flowtrack.districts import services as districts
from flowtrack.due import services
from flowtrack.due.forms import AUTO_ASSIGN, DueFilterForm, FromDueForm
from flowtrack.models.quotes import repair_quotes
from flowtrack.models.scheduling import WorkKind
from flowtrack.schedule import services as schedule
from flowtrack.work_orders import bookings
from flowtrack.work_orders import services as work_orders

bp = Blueprint("due", __name__, url_prefix="/due")


def _filters() -> tuple[DueFilterForm, services.DueQuery, bool]:
    """The form, the query it asks for (the default one when it does not validate) and whether it validated."""
    form = DueFilterForm(request.args).with_districts(districts.choices(g.db))
    if not form.validate():
        return form, services.DueQuery(), False
    customer = uuid.UUID(form.customer.data) if form.customer.data else None
    if customer is not None and customers.get_customer(g.db, customer) is None:
        abort(404)
    return form, services.DueQuery(window=form.window.data, district=form.district.data or None, customer=customer,
                                   unbooked=form.unbooked.data, after=request.args.get("after")), True


@bp.get("/")
@requires(DEVICES_DUE)
def index():
    form, query, valid = _filters()
    today = company_today(g.db)
    page = services.due_page(g.db, query, today)
    status = 200 if valid else 422
    if is_fragment():
        return render_template("due/_rows.html", page=page, query=query, today=today), status
    customer = customers.get_customer(g.db, query.customer) if query.customer else None
    plan_form = FromDueForm().with_technicians(bookings.technicians(g.db)) \
        if allowed(current_user.role, WORK_ORDERS_EDIT) else None
    return render_template("due/index.html", form=form, page=page, query=query, today=today,
                           customer=customer, plan_form=plan_form), status


@bp.get("/devices.csv")
@requires(DEVICES_DUE)
def export_csv():
    """Every device the list's filters select, as a CSV file (streamed: it may hold thousands of rows)."""
    form, query, valid = _filters()
    if not valid:
        abort(422, "The filters are not valid; open the list and choose them again.")
    today = company_today(g.db)
    audit.record(g.db, "devices.due_exported", entity_type="device",
                 changes={"filters": query.params(after=None)})
    g.db.commit()
    session, db = g.db, get_db()

    def chunks():
        # The rows are read after the view returns (and its session is closed): the stream opens the session
        # again and must give its connection back itself.
        try:
            with db.heavy_reads(session) as reads:
                yield from services.due_csv(reads, query, today)
        finally:
            session.close()

    return Response(chunks(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="due-devices-{today.isoformat()}.csv"'})


@bp.get("/needs-repair")
@requires(DEVICES_DUE)
def needs_repair():
    """Assemblies that failed their test and wait for a repair and a passing retest."""
    plan_form = FromDueForm(kind=WorkKind.repair.value).with_technicians(bookings.technicians(g.db)) \
        if allowed(current_user.role, WORK_ORDERS_EDIT) else None
    rows = services.needs_repair(g.db)
    quoted = repair_quotes(g.db, [row.device for row in rows], company_timezone(g.db)) \
        if allowed(current_user.role, INVOICES_VIEW) else None
    return render_template("due/needs_repair.html", rows=rows, shown=services.REPAIRS_SHOWN, quoted=quoted,
                           plan_form=plan_form, today=company_today(g.db))


@bp.post("/plan")
@requires(WORK_ORDERS_EDIT)
def plan():
    """The due list's chosen devices: one work order per location, booked on a day if asked, else on to the
    board to book them."""
    form = FromDueForm().with_technicians(bookings.technicians(g.db))
    try:
        device_ids = [uuid.UUID(value) for value in form.devices.data or []]
    except ValueError:
        abort(400, "Those are not devices of this company.")
    if not form.validate_on_submit():
        problems = "; ".join(errors[0] for errors in form.errors.values())
        flash(f"No work orders created. {problems}", "error")
        return redirect(request.referrer or url_for("due.index"), code=303)
    result = work_orders.work_orders_for_devices(g.db, device_ids, created_by=current_user.user_id,
                                                 kind=form.kind.data)
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
