"""Due and overdue: the devices to test next, for the office to turn into work; also as CSV."""
import uuid

from flask import Blueprint, Response, abort, g, render_template, request
from flask_login import current_user
from htmx_flask import request as htmx_request

from flowtrack.audit import services as audit
from flowtrack.auth.permissions import DEVICES_DUE, WORK_ORDERS_EDIT, allowed, requires
from flowtrack.customers import services as customers
from flowtrack.devices.services import company_today
from flowtrack.districts import services as districts
from flowtrack.due import services
from flowtrack.due.forms import DueFilterForm
from flowtrack.schedule import services as schedule
from flowtrack.work_orders.forms import FromDueForm

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
                                   after=request.args.get("after")), True


@bp.get("/")
@requires(DEVICES_DUE)
def index():
    form, query, valid = _filters()
    today = company_today(g.db)
    page = services.due_page(g.db, query, today)
    status = 200 if valid else 422
    if htmx_request.htmx and not htmx_request.htmx.history_restore_request:
        return render_template("due/_rows.html", page=page, query=query, today=today), status
    customer = customers.get_customer(g.db, query.customer) if query.customer else None
    plan_form = FromDueForm().with_technicians(schedule.technicians(g.db)) \
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
    session = g.db

    def chunks():
        # The rows are read after the view returns (and its session is closed): the stream opens the session
        # again and must give its connection back itself.
        try:
            yield from services.due_csv(session, query, today)
        finally:
            session.close()

    return Response(chunks(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="due-devices-{today.isoformat()}.csv"'})
