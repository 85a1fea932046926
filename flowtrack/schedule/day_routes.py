"""The technician's day on a phone: today's jobs in route order, a job's page, start, complete, and the devices
that could not be tested. A technician sees only jobs booked for them; anyone else's answers 404."""
import uuid

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.companies.services import company_timezone, company_today
from flowtrack.core.dates import typed_day
from flowtrack.core.permissions import JOBS_WORK, requires
from flowtrack.hints import services as hints
from flowtrack.models.scheduling import DeviceOutcome, NotTestedReason, ScheduledJob, WorkOrderStatus
from flowtrack.schedule import day_map, services
from flowtrack.schedule.forms import NotTestedForm
from flowtrack.work_orders import bookings
from flowtrack.work_orders import services as work_orders

bp = Blueprint("day", __name__)


def _own_job(job_id: uuid.UUID, *, for_update: bool = False) -> ScheduledJob:
    job = services.get_job(g.db, job_id, technician_user_id=current_user.user_id, for_update=for_update)
    if job is None:
        abort(404)
    return job


@bp.get("/my-day/")
@requires(JOBS_WORK)
def my_day():
    today = company_today(g.db)
    try:
        day = typed_day(request.args["date"]) if request.args.get("date") else today
    except ValueError:
        abort(400, "Not a date.")
    jobs = services.day_jobs(g.db, current_user.user_id, day)
    technician = bookings.profile_of(g.db, current_user.user_id)
    zone = company_timezone(g.db)
    return day_map.shown(render_template("schedule/day.html", technician=technician, day=day, jobs=jobs, zone=zone,
                                         today=today, office=False, **day_map.context(jobs, zone),
                                         day_pages=_pages_for_offline(jobs) if day == today else None))


def _pages_for_offline(jobs: list[ScheduledJob]) -> list[str]:
    """What the phone keeps of today, for working with no signal: this list, each job, each device's test form."""
    open_jobs = [job for job in jobs if not WorkOrderStatus(job.work_order.status).closed]
    return [url_for("day.my_day"), *(url_for("day.job", job_id=job.id) for job in jobs),
            *(url_for("testing.new_test", device_id=item.device_id, job=job.id)
              for job in open_jobs for item in job.work_order.devices)]


@bp.get("/jobs/<uuid:job_id>")
@requires(JOBS_WORK)
def job(job_id: uuid.UUID):
    found = _own_job(job_id)
    return render_template("schedule/job.html", job=found, zone=company_timezone(g.db), hints=_field_hints(found),
                           not_tested_form=NotTestedForm(), tested=request.args.get("tested", type=uuid.UUID))


def _field_hints(job: ScheduledJob) -> hints.Found:
    """What helps at this visit: devices due at the place and not on it, the technician's own kit or certification
    running out before it."""
    order = job.work_order
    found = hints.find(g.db, hints.FIELD_KINDS, company_today(g.db), hints.Scope(work_orders=frozenset({order.id})))
    return hints.of_work_order(found, order.id, [item.device_id for item in order.devices])


def _back(job: ScheduledJob):
    return redirect(url_for("day.job", job_id=job.id), code=303)


def _act(job: ScheduledJob, action, done: str, *, settled, then: str | None = None):
    """Do it and say so, then back to the job (or on to `then`); refused, back with the reason.

    The phone's outbox sends the same request later, perhaps twice, asking for JSON: something already done
    (`settled`) answers as done, so a replay changes nothing. Two sent at the same moment take turns: the job was
    read locked (`_own_job(..., for_update=True)`), so the second sees what the first did."""
    outbox = request.accept_mimetypes.best == "application/json"
    next_page = then or url_for("day.job", job_id=job.id)
    if outbox and settled():
        return jsonify(status="stored", message=done, next=next_page)
    try:
        action()
    except work_orders.WorkRefused as refused:
        g.db.rollback()
        if outbox:
            return jsonify(status="refused", errors={"job": str(refused)}, message=str(refused)), 422
        flash(str(refused), "error")
        return _back(job)
    g.db.commit()
    if not outbox or request.headers.get("X-Outbox-Foreground"):
        flash(done, "success")
    if outbox:
        return jsonify(status="stored", message=done, next=next_page)
    return redirect(next_page, code=303)


@bp.post("/jobs/<uuid:job_id>/start")
@requires(JOBS_WORK)
def start(job_id: uuid.UUID):
    job = _own_job(job_id, for_update=True)
    return _act(job, lambda: services.start_job(g.db, job), "Job started.",
                settled=lambda: job.work_order.status != WorkOrderStatus.scheduled.value)


@bp.post("/jobs/<uuid:job_id>/complete")
@requires(JOBS_WORK)
def complete(job_id: uuid.UUID):
    job = _own_job(job_id, for_update=True)
    day = job.starts_at.astimezone(company_timezone(g.db)).date()
    return _act(job, lambda: services.complete_job(g.db, job), "Job completed.",  # on to the next stop
                settled=lambda: job.work_order.status == WorkOrderStatus.completed.value,
                then=url_for("day.my_day", date=None if day == company_today(g.db) else day.isoformat()))


@bp.post("/jobs/<uuid:job_id>/devices/<uuid:item_id>/not-tested")
@requires(JOBS_WORK)
def not_tested(job_id: uuid.UUID, item_id: uuid.UUID):
    job = _own_job(job_id, for_update=True)
    item = next((i for i in job.work_order.devices if i.id == item_id), None)
    if item is None:
        abort(404)
    form = NotTestedForm()
    if not form.validate_on_submit():
        flash("Choose why the device could not be tested.", "error")
        return _back(job)
    reason = NotTestedReason(form.reason.data)
    return _act(job, lambda: work_orders.mark_not_tested(g.db, item, reason),
                f"{item.device.serial}: could not test ({reason.label.lower()}).",
                settled=lambda: (item.outcome, item.reason) == (DeviceOutcome.could_not_test.value, reason.value))
