"""Field tests: the technician's test form with live pass/fail, a test's page, and its report PDF."""
import uuid

from flask import Blueprint, abort, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from flowtrack.audit import services as audit
from flowtrack.auth.permissions import TESTS_RECORD, TESTS_VIEW, own_work_of, requires
from flowtrack.devices import services as devices
from flowtrack.models.companies import Company
from flowtrack.models.customers import Device
from flowtrack.models.testing import ReportStatus, TestType
from flowtrack.queue import enqueue_for_company
from flowtrack.testing import report, rules, services
from flowtrack.testing.forms import FieldTestForm
from flowtrack.testing.tasks import render_test_report, storage_dir

bp = Blueprint("testing", __name__)


def _timezone() -> str:
    return g.db.get(Company, current_user.company_id).timezone


def _device(device_id: uuid.UUID) -> Device:
    device = devices.device_with_place(g.db, device_id, technician_user_id=own_work_of(current_user))
    if device is None:
        abort(404)
    return device


def _test(test_id: uuid.UUID):
    record = services.get_test(g.db, test_id, own_work_of(current_user))
    if record is None:
        abort(404)
    return record


def _form() -> FieldTestForm:
    form = FieldTestForm()
    form.gauge_id.choices = [("", "Choose…")] + [
        (str(gauge.id), f"{gauge.make} {gauge.serial} (calibration due {gauge.calibration_due_on:%b %-d, %Y})")
        for gauge in services.usable_gauges(g.db)]
    return form


def _submission(form: FieldTestForm, device: Device) -> services.Submission:
    """What was typed, whether or not it is complete (the live check judges half-filled forms too)."""
    try:
        gauge_id = uuid.UUID(form.gauge_id.data) if form.gauge_id.data else None
    except ValueError:
        gauge_id = None
    return services.Submission(
        test_type=form.test_type.data or "", gauge_id=gauge_id,
        line_pressure_psi=form.line_pressure_psi.data if not form.line_pressure_psi.errors else None,
        shutoff1_tight={"yes": True, "no": False}.get(form.shutoff1_tight.data),
        readings=services.readings_from(request.form, device.device_type),
        repairs=list(form.repairs.data or []),
        retest_readings=services.readings_from(request.form, device.device_type, services.RETEST_PREFIX),
        notes=form.notes.data)


def _form_page(device: Device, form: FieldTestForm, status: int, errors: dict | None = None, verdict=None):
    errors = errors or {}
    retest_open = bool(form.repairs.data) or any(
        name.startswith(services.RETEST_PREFIX) and (value or name in errors) for name, value in request.form.items())
    return render_template("testing/new.html", device=device, form=form, errors=errors, verdict=verdict,
                           retest_open=retest_open,
                           keys=rules.required_readings(device.device_type), is_psid=rules.is_psid,
                           labels=report.READING_LABELS, typed=request.form), status


@bp.route("/devices/<uuid:device_id>/tests/new", methods=["GET", "POST"])
@requires(TESTS_RECORD)
def new_test(device_id: uuid.UUID):
    """The test form, shaped by the assembly type; submitting records the test and locks it."""
    device = _device(device_id)
    form = _form()
    if not form.is_submitted():
        return _form_page(device, form, 200)
    form.validate()
    submission = _submission(form, device)
    try:
        if form.errors:
            raise services.TestRefused({name: messages[0] for name, messages in form.errors.items()})
        record = services.record_test(g.db, device, current_user.user_id, submission)
    except services.TestRefused as refused:
        g.db.rollback()
        verdict = services.judge(device, submission, services.district_thresholds(g.db, device)) \
            if submission.test_type in {t.value for t in TestType} else None
        return _form_page(device, form, 422, refused.errors, verdict)
    g.db.commit()
    enqueue_for_company(render_test_report, current_user.company_id, str(record.id), description="test report")
    return redirect(url_for("testing.detail", test_id=record.id), code=303)


@bp.post("/devices/<uuid:device_id>/tests/check")
@requires(TESTS_RECORD)
def check(device_id: uuid.UUID):
    """Live feedback while readings are typed: the same rules the submission is judged by."""
    device = _device(device_id)
    form = _form()
    form.validate()
    submission = _submission(form, device)
    if submission.test_type not in {t.value for t in TestType}:
        abort(400)
    verdict = services.judge(device, submission, services.district_thresholds(g.db, device))
    return render_template("testing/_verdict.html", verdict=verdict, typed=request.form)


@bp.get("/tests/")
@requires(TESTS_VIEW)
def index():
    """Recent tests: the office sees everyone's, a technician their own."""
    tests = services.recent_tests(g.db, own_work_of(current_user))
    return render_template("testing/index.html", tests=tests, timezone=_timezone())


@bp.get("/tests/<uuid:test_id>")
@requires(TESTS_VIEW)
def detail(test_id: uuid.UUID):
    record = _test(test_id)
    return render_template("testing/detail.html", record=record, device=record.device,
                           labels=report.READING_LABELS, keys=rules.required_readings(record.device.device_type),
                           test_type=TestType(record.test_type).label, timezone=_timezone())


@bp.get("/tests/<uuid:test_id>/report")
@requires(TESTS_VIEW)
def report_status(test_id: uuid.UUID):
    """The report's progress, polled by HTMX until it is ready."""
    return render_template("testing/_report.html", record=_test(test_id))


@bp.get("/tests/<uuid:test_id>/report.pdf")
@requires(TESTS_VIEW)
def report_pdf(test_id: uuid.UUID):
    record = _test(test_id)
    path = report.report_path(storage_dir(), record)
    if record.report_status != ReportStatus.done.value or not path.exists():
        abort(404)
    audit.record(g.db, "test_report.downloaded", entity_type="test_record", entity_id=record.id)
    g.db.commit()
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=report.download_name(record))
