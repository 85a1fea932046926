"""The week board (technicians by days) and its moves, by drag and drop or by form, and the office's view of a
technician's day, where it sets the route order."""
import datetime as dt
import uuid
from typing import Callable

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from flowtrack.companies.services import company_timezone, company_today
from flowtrack.core.dates import typed_day
from flowtrack.core.forms import add_error
from flowtrack.core.permissions import SCHEDULE_MANAGE, requires
from flowtrack.core.templating import is_fragment
from flowtrack.models.scheduling import ScheduledJob
from flowtrack.schedule import board_cache, day_map, services
from flowtrack.schedule.forms import JobForm, PlaceForm
from flowtrack.work_orders import bookings
from flowtrack.work_orders import services as work_orders

bp = Blueprint("schedule", __name__, url_prefix="/schedule")


def _week(value: str | None, today: dt.date) -> dt.date:
    try:
        return services.monday_of(typed_day(value)) if value else services.monday_of(today)
    except ValueError:
        abort(400, "Not a date; open the board from the menu.")


def _board(monday: dt.date, *, message: str | None = None, refused: bool = False, status: int = 200):
    week = board_cache.rendered_week(g.db, monday, company_today(g.db))
    template = "schedule/_board.html" if is_fragment() else "schedule/board.html"
    return render_template(template, week=week, message=message, refused=refused), status


@bp.get("/")
@requires(SCHEDULE_MANAGE)
def board():
    return _board(_week(request.args.get("week"), company_today(g.db)))


@bp.post("/place")
@requires(SCHEDULE_MANAGE)
def place():
    """A card dropped in a cell. Answers with the whole board: as it now is, or as it was with the reason."""
    form = PlaceForm()
    today = company_today(g.db)
    monday = form.week.data or services.monday_of(form.day.data or today)
    if not form.validate_on_submit():
        return _board(monday, message="That move was not understood; the board is as it was.", refused=True,
                      status=400)
    order = work_orders.get_work_order(g.db, uuid.UUID(form.work_order.data), for_update=True)
    if order is None:
        abort(404)
    try:
        cell_order = [uuid.UUID(v) for v in (form.order.data or "").split(",") if v]
        job = services.place(g.db, order, uuid.UUID(form.technician.data), form.day.data, cell_order, today=today)
    except ValueError:
        abort(400, "That move was not understood.")
    except services.WorkRefused as refused:
        g.db.rollback()
        return _board(monday, message=str(refused), refused=True, status=422)
    conflicts = bookings.conflicts_of(g.db, job)
    g.db.commit()
    message = "Moved." if not conflicts else "Moved, with a conflict: " + "; ".join(conflicts) + "."
    return _board(monday, message=message, refused=bool(conflicts))


def _job_form(job: ScheduledJob | None = None) -> JobForm:
    form = JobForm().with_technicians(bookings.technicians(g.db))
    if job is not None and not form.is_submitted():
        zone = company_timezone(g.db)
        start, end = job.starts_at.astimezone(zone), job.ends_at.astimezone(zone)
        form.technician.data, form.day.data = str(job.technician_id), start.date()
        form.starts.data, form.ends.data = start.time(), end.time()
        form.position.data = job.route_position + 1
    return form


def _window(form: JobForm) -> services.Window:
    return services.Window.local(form.day.data, form.starts.data, form.ends.data, company_timezone(g.db))


def _save(form: JobForm, verb: str, change: Callable[[], ScheduledJob]):
    """Book or move by form: on to the board with what came of it, or None with the reason on the form."""
    try:
        job = change()
        if form.position.data:
            services.reorder_to(g.db, job, form.position.data - 1)
    except services.WorkRefused as refused:
        g.db.rollback()
        add_error(form.day, str(refused))
        return None
    conflicts = bookings.conflicts_of(g.db, job)
    g.db.commit()
    if conflicts:
        flash(f"{verb}, with a conflict: " + "; ".join(conflicts) + ".", "error")
    else:
        flash(f"{verb}.", "success")
    return redirect(url_for("schedule.board", week=services.monday_of(
        bookings.local_day(job.starts_at, company_timezone(g.db))).isoformat()), code=303)


@bp.route("/book/<uuid:work_order_id>", methods=["GET", "POST"])
@requires(SCHEDULE_MANAGE)
def book(work_order_id: uuid.UUID):
    # Posted twice at once (a double click, two people), the second waits for the first and finds it booked.
    order = work_orders.get_work_order(g.db, work_order_id, for_update=request.method == "POST")
    if order is None:
        abort(404)
    if order.job is not None:
        return redirect(url_for("schedule.edit_job", job_id=order.job.id))
    form = _job_form()
    if not form.is_submitted():
        form.day.data = company_today(g.db)
    if form.validate_on_submit():
        saved = _save(form, "Booked", lambda: services.book(g.db, order, uuid.UUID(form.technician.data),
                                                            _window(form), today=company_today(g.db)))
        if saved:
            return saved
    return render_template("schedule/job_form.html", form=form, order=order, job=None), 422 if form.errors else 200


@bp.route("/jobs/<uuid:job_id>/edit", methods=["GET", "POST"])
@requires(SCHEDULE_MANAGE)
def edit_job(job_id: uuid.UUID):
    job = services.get_job(g.db, job_id, for_update=request.method == "POST")
    if job is None:
        abort(404)
    form = _job_form(job)
    if form.validate_on_submit():
        saved = _save(form, "Saved", lambda: services.move(g.db, job, uuid.UUID(form.technician.data), _window(form),
                                                           today=company_today(g.db)))
        if saved:
            return saved
    return render_template("schedule/job_form.html", form=form, order=job.work_order, job=job), \
        422 if form.errors else 200


def _technician_day(technician_id: uuid.UUID, day: str):
    """The technician (an active one of the company) and the day of the URL; anything else is not found."""
    technician = next((p for p in bookings.technicians(g.db) if p.user_id == technician_id), None)
    if technician is None:
        abort(404)
    try:
        return technician, typed_day(day)
    except ValueError:
        abort(404)


@bp.get("/day/<uuid:technician_id>/<day>")
@requires(SCHEDULE_MANAGE)
def technician_day(technician_id: uuid.UUID, day: str):
    """A technician's day as the office sees it, on a map, with the route order to set."""
    technician, date = _technician_day(technician_id, day)
    jobs = services.day_jobs(g.db, technician_id, date)
    zone = company_timezone(g.db)
    return day_map.shown(render_template("schedule/day.html", technician=technician, day=date, jobs=jobs, zone=zone,
                                         today=company_today(g.db), office=True, **day_map.context(jobs, zone)))


def _proposal_page(technician, date, *, refused: str | None = None, status: int = 200):
    zone = company_timezone(g.db)
    try:
        proposed = services.propose_route(g.db, technician.user_id, date) if refused is None else None
    except services.RouteRefused as refusal:
        proposed, refused = None, str(refusal)
    jobs = proposed.proposed if proposed else services.day_jobs(g.db, technician.user_id, date)
    return day_map.shown((render_template(
        "schedule/route.html", technician=technician, day=date, zone=zone, proposed=proposed, refused=refused,
        **day_map.context(jobs, zone), map_title="The proposed route" if proposed else "The day on a map"), status))


@bp.get("/day/<uuid:technician_id>/<day>/route")
@requires(SCHEDULE_MANAGE)
def route_proposal(technician_id: uuid.UUID, day: str):
    """The order of the day that shortens the driving, keeping each booked window, beside the office's."""
    return _proposal_page(*_technician_day(technician_id, day))


@bp.post("/day/<uuid:technician_id>/<day>/route")
@requires(SCHEDULE_MANAGE)
def accept_route(technician_id: uuid.UUID, day: str):
    """The office accepts the proposed order: the day takes it."""
    technician, date = _technician_day(technician_id, day)
    try:
        job_ids = [uuid.UUID(value) for value in request.form.get("order", "").split(",") if value]
        saved = services.accept_route(g.db, technician_id, date, job_ids)
    except ValueError:
        abort(400, "That order was not understood; order the route again.")
    except services.RouteRefused as refusal:
        g.db.rollback()
        return _proposal_page(technician, date, refused=str(refusal), status=409)
    g.db.commit()
    flash(f"Route ordered: {saved / 1000:.1f} km less driving." if saved >= 50 else "Route ordered.", "success")
    return redirect(url_for("schedule.technician_day", technician_id=technician_id, day=date.isoformat()), code=303)


@bp.post("/jobs/<uuid:job_id>/route")
@requires(SCHEDULE_MANAGE)
def route_order(job_id: uuid.UUID):
    """One stop earlier or later in the technician's day (the buttons beside each stop)."""
    job = services.get_job(g.db, job_id)
    if job is None:
        abort(404)
    step = {"earlier": -1, "later": 1}.get(request.form.get("direction", ""))
    if step is None:
        abort(400, "Choose earlier or later.")
    services.reorder_to(g.db, job, max(job.route_position + step, 0))
    g.db.commit()
    day = bookings.local_day(job.starts_at, company_timezone(g.db))
    return redirect(url_for("schedule.technician_day", technician_id=job.technician_id, day=day.isoformat()), code=303)
