"""Field tests: the technician's test form with live pass/fail, a test's page, and its report PDF."""
import datetime as dt
import uuid

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy.exc import IntegrityError

from flowtrack.audit import services as audit
from flowtrack.companies.services import company_timezone, company_today
from flowtrack.core.db import utcnow
from flowtrack.core.images import PictureRefused
from flowtrack.core.permissions import (
    INVENTORY_VAN,
    TESTS_RECORD,
    TESTS_VIEW,
    allowed,
    own_work_of,
    requires,
)
from flowtrack.core.queue import enqueue_after_commit
from flowtrack.core.storage import StoredFileMissing, file_storage
from flowtrack.core.web import stored_picture
from flowtrack.devices import services as devices
from flowtrack.field_tests import evidence as visit
from flowtrack.field_tests import report, rules, services, speech, voice_notes
from flowtrack.field_tests.forms import FieldTestForm
from flowtrack.field_tests.tasks import render_test_report, settle_vendor_test, transcribe_voice_note
from flowtrack.inventory import services as inventory
from flowtrack.models.companies import Company
from flowtrack.models.customers import Device
from flowtrack.models.field_tests import ReportStatus, TestResult, TestType
from flowtrack.models.submissions import ReportSubmission
from flowtrack.photos import services as photos
from flowtrack.schedule import services as schedule
from flowtrack.work_orders import services as work_orders

bp = Blueprint("testing", __name__)


@bp.app_template_filter("test_result")
def result_label(value: str) -> str:
    return TestResult(value).label


@bp.app_template_filter("visit_flag")
def visit_flag(flag: dict) -> str:
    return visit.describe(flag)


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


def _form(data: dict | None = None, *, on: dt.date | None = None, kept_kit: uuid.UUID | None = None) -> FieldTestForm:
    """The form with the company's test kits in service on the day of the test (retired ones are not offered);
    those past calibration then shown but disabled, with the reason; a new test starts with the last calibrated kit
    this technician used."""
    form = FieldTestForm(data=data)
    on = on or company_today(g.db)
    kits = services.test_kits(g.db, on, kept=kept_kit, vendor_id=current_user.vendor_id)
    form.gauge_id.choices = [("", "Choose…")] + [
        (str(kit.id), f"{kit.serial} {kit.make} (calibration due {kit.calibration_due_on:%b %-d, %Y})")
        if kit.calibration_due_on >= on else
        (str(kit.id), f"{kit.serial} {kit.make}: calibration was due {kit.calibration_due_on:%b %-d, %Y}",
         {"disabled": True})
        for kit in kits]
    if data is None and not form.is_submitted():
        kit = services.kit_to_offer(g.db, current_user.user_id, kits, on)
        form.gauge_id.data = str(kit.id) if kit else ""
    return form


def _ids(values: list[str]) -> list[uuid.UUID]:
    ids = []
    for value in values:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue  # not one of ours: nothing to attach
    return ids


def _submission(form: FieldTestForm, device: Device) -> services.Submission:
    """What was typed, whether or not it is complete (the live check judges half-filled forms too)."""
    gauge_ids = _ids([form.gauge_id.data] if form.gauge_id.data else [])
    return services.Submission(
        test_type=form.test_type.data or "", gauge_id=gauge_ids[0] if gauge_ids else None,
        line_pressure_psi=form.line_pressure_psi.data if not form.line_pressure_psi.errors else None,
        shutoff1_tight={"yes": True, "no": False}.get(form.shutoff1_tight.data),
        readings=services.readings_from(request.form, device.device_type),
        repairs=list(form.repairs.data or []),
        retest_readings=services.readings_from(request.form, device.device_type, services.RETEST_PREFIX),
        notes=form.notes.data, photo_ids=_ids(request.form.getlist("photo_id")),
        technician_signature=request.form.get("technician_signature"),
        customer_signature=request.form.get("customer_signature"),
        customer_signer_name=request.form.get("customer_signer_name"),
        parts=services.parts_from(request.form))


def _from_van() -> bool:
    """Whether the person recording has a van the parts they fit come from (a technician)."""
    return allowed(current_user.role, INVENTORY_VAN)


def _parts_offered(device: Device) -> list[tuple]:
    """The parts that fit the assembly, each with how many the technician's van holds (None: none on record)."""
    if not _from_van():
        return []
    van = inventory.van_of(g.db, current_user.user_id)
    held = {level.part.id: level.on_hand for level in inventory.levels_at(g.db, van)} if van else {}
    return [(part, held.get(part.id)) for part in inventory.parts_fitting(g.db, device.device_type)]


def _form_page(device: Device, form: FieldTestForm, status: int, errors: dict | None = None, verdict=None,
               amending=None, typed: dict | None = None, photo_ids: list[uuid.UUID] | None = None):
    errors = errors or {}
    retest_open = bool(form.repairs.data) or bool(services.parts_from(request.form)) or any(
        name.startswith(services.RETEST_PREFIX) and (value or name in errors) for name, value in request.form.items())
    return render_template("testing/new.html", device=device, form=form, errors=errors, verdict=verdict,
                           retest_open=retest_open, amending=amending, timezone=_timezone(),
                           customer_signature_required=services.customer_signature_required(g.db, device),
                           waiting_photos=photos.waiting_photos(g.db, device.id, photo_ids or []),
                           job=_job_of_form(device),
                           parts_offered=[] if amending else _parts_offered(device), part_rows=services.PART_ROWS,
                           parts_used=inventory.parts_used_on(g.db, services.versions_before(g.db, amending))
                           if amending else [],
                           keys=rules.required_readings(device.device_type), is_psid=rules.is_psid,
                           labels=rules.LABELS, typed=request.form if typed is None else typed,
                           rules_table=rules.table(device.device_type, services.district_thresholds(g.db, device))), \
        status


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
    photo_problem = _keep_sent_photos(device, submission)
    try:
        if form.errors or photo_problem:
            raise services.TestRefused({**{name: messages[0] for name, messages in form.errors.items()},
                                        **({"photos": photo_problem} if photo_problem else {})})
        record = services.record_test(g.db, device, current_user.user_id, submission, storage=file_storage(),
                                      from_van=_from_van())
    except services.TestRefused as refused:
        return _refused_page(device, form, submission, refused)
    return _submitted(record)


def _sent_photos() -> list[bytes]:
    return [upload.read(photos.MAX_BYTES + 1) for upload in request.files.getlist("photo") if upload.filename]


def _keep_sent_photos(device: Device, submission: services.Submission) -> str | None:
    """Photos sent with the form (a phone without scripts) are stored first, so that a refused form keeps them
    waiting in it; the reason when one is not a usable picture."""
    sent = _sent_photos()
    if not sent:
        return None
    try:
        added = photos.add_photos(g.db, file_storage(), device, current_user.user_id, sent[:photos.MAX_PER_TEST])
    except PictureRefused as refused:
        g.db.rollback()
        return str(refused)
    g.db.commit()
    submission.photo_ids.extend(photo.id for photo in added)
    return None


def _job_of_form(device: Device):
    """The job the form was opened from (`?job=`), when it is this technician's and holds the device."""
    job_id = request.args.get("job", type=uuid.UUID)
    job = schedule.get_job(g.db, job_id, technician_user_id=current_user.user_id) if job_id else None
    return job if job and device.id in {item.device_id for item in job.work_order.devices} else None


def _refused_page(device: Device, form: FieldTestForm, submission: services.Submission,
                  refused: services.TestRefused, amending=None):
    g.db.rollback()
    verdict = services.judge(device, submission, services.district_thresholds(g.db, device)) \
        if submission.test_type in {t.value for t in TestType} else None
    return _form_page(device, form, 422, refused.errors, verdict, amending, photo_ids=submission.photo_ids)


def _queue_jobs_of_test(record) -> None:
    """Once the test commits: its report printed and, for a vendor's test, its work order settled as the company."""
    enqueue_after_commit(g.db, render_test_report, current_user.company_id, str(record.id), description="test report")
    if current_user.vendor_id is not None:
        enqueue_after_commit(g.db, settle_vendor_test, current_user.company_id, str(record.id),
                             description="vendor's test on its work order")


def _outcome(record) -> str:
    device = record.device
    outcome = ("failed: needs repair" if device.failed_on else "repaired and passed"
               if record.initial_result == TestResult.failed.value else TestResult(record.result).label.lower())
    return f"{device.device_type} {device.serial} {outcome}."


def _next_page(record, job) -> str:
    """Back to the job with the next device at hand when the test was part of one, else the test's page."""
    if job is None or job.technician_id != current_user.user_id:
        return url_for("testing.detail", test_id=record.id)
    return url_for("day.job", job_id=job.id, tested=record.id)


def _vendor_order_of_form(device: Device):
    """The vendor's work order the form was opened from (`?order=`), when it holds the device."""
    order_id = request.args.get("order", type=uuid.UUID)
    order = work_orders.get_work_order(g.db, order_id) if order_id and current_user.vendor_id else None
    ours = order is not None and order.vendor_id == current_user.vendor_id
    return order if ours and device.id in {item.device_id for item in order.devices} else None


def _submitted(record, *, back_to_job: bool = True):
    """Queue the report, say how the test came out and go on."""
    _queue_jobs_of_test(record)
    job = work_orders.job_of_test(g.db, record.id) if back_to_job else None
    order = _vendor_order_of_form(record.device) if back_to_job else None
    g.db.commit()
    if job is not None or order is not None:
        flash(_outcome(record), "error" if record.device.failed_on else "success")
    if order is not None:
        return redirect(url_for("vendors.work_order", work_order_id=order.id), code=303)
    return redirect(_next_page(record, job), code=303)


@bp.route("/tests/<uuid:test_id>/amend", methods=["GET", "POST"])
@requires(TESTS_RECORD)
def amend(test_id: uuid.UUID):
    """Correct a submitted test: the form starts from what was recorded; the original is kept as it was."""
    original = _test(test_id)
    newer = services.amendment_of(g.db, original.id)
    if newer is not None:
        flash("This test has been amended already; this is its newest version.", "info")
        return redirect(url_for("testing.amend", test_id=newer.id), code=303)
    device = original.device
    tested_on = original.tested_at.astimezone(company_timezone(g.db)).date()
    if request.method == "GET":
        return _form_page(device, _form(services.form_values(original), on=tested_on, kept_kit=original.gauge_id),
                          200, amending=original, typed=services.typed_readings(original))
    form = _form(on=tested_on, kept_kit=original.gauge_id)
    form.validate()
    submission = _submission(form, device)
    try:
        if form.errors:
            raise services.TestRefused({name: messages[0] for name, messages in form.errors.items()})
        record = services.amend_test(g.db, original, current_user.user_id, submission,
                                     request.form.get("amendment_reason"))
    except services.TestRefused as refused:
        return _refused_page(device, form, submission, refused, amending=original)
    flash("Amendment saved; the original test is kept as it was.", "success")
    return _submitted(record, back_to_job=False)


@bp.get("/outbox/token")
@requires(TESTS_RECORD)
def outbox_token():
    """A fresh CSRF token for the phone's outbox (the page a record was made on may be hours old), and who is
    signed in: the phone sends only that person's records."""
    return jsonify(csrf=generate_csrf(), user=str(current_user.user_id))


@bp.post("/outbox/tests/<uuid:client_id>")
@requires(TESTS_RECORD)
def arrive(client_id: uuid.UUID):
    """A test from the phone's outbox, taken perhaps hours ago with no signal: stored once however often it arrives,
    checked and judged exactly as a test submitted from the form, with the phone's evidence of the visit. Answers
    in JSON; a refusal says what to fix, and the phone keeps the test until it is fixed or sent."""
    stored = services.test_from_phone(g.db, client_id)
    if stored is not None:
        return _arrived(stored, 200)
    device = devices.device_with_place(g.db, _uuid_or_none(request.form.get("device_id")),
                                       technician_user_id=own_work_of(current_user))
    if device is None:
        return _refused_json({"device": "This device is not on any of your jobs now: the office may have canceled "
                                        "or moved the visit. Ask the office to book it again, then send the test."},
                             404)
    job = None
    if request.form.get("job_id"):
        job = schedule.get_job(g.db, _uuid_or_none(request.form["job_id"]), technician_user_id=current_user.user_id)
        if job is None:
            return _refused_json({"job": "This job is not yours now: the office canceled it or gave it to someone "
                                         "else. Send the test of the device on its own, or ask the office."}, 404)
    files = _sent_photos()
    try:
        evidence = visit.from_phone(request.form, utcnow())
        form = _form()
        form.validate()
        submission = _submission(form, device)
        if form.errors:
            raise services.TestRefused({name: messages[0] for name, messages in form.errors.items()})
        if len(files) > photos.MAX_PER_TEST:
            raise services.TestRefused({"photos": f"A test can carry at most {photos.MAX_PER_TEST} photos."})
        if job is not None:
            services.still_on_job(job, device)
        record = services.record_test(g.db, device, current_user.user_id, submission, storage=file_storage(),
                                      client_id=client_id, evidence=evidence, from_van=_from_van())
        photos.attach_to_test(photos.add_photos(g.db, file_storage(), device, current_user.user_id, files),
                              record.id)
        voice = request.files.get("voice_note")
        note = voice_notes.add_voice_note(g.db, file_storage(), record, current_user.user_id,
                                          voice.read(speech.MAX_BYTES + 1), voice.mimetype) \
            if voice is not None and voice.filename else None
        g.db.flush()
    except visit.EvidenceRefused as refused:
        return _refused_json({"evidence": str(refused)})
    except PictureRefused as refused:
        return _refused_json({"photos": str(refused)})
    except speech.AudioRefused as refused:
        return _refused_json({"voice_note": str(refused)})
    except services.TestRefused as refused:
        return _refused_json(refused.errors)
    except IntegrityError:  # the same test arriving twice at once: the other request stored it
        g.db.rollback()
        stored = services.test_from_phone(g.db, client_id)
        if stored is None:
            raise
        return _arrived(stored, 200)
    _queue_jobs_of_test(record)
    if note is not None:
        enqueue_after_commit(g.db, transcribe_voice_note, current_user.company_id, str(note.id),
                             description="voice note transcript")
    g.db.commit()
    return _arrived(record, 201)


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value or "")
    except ValueError:
        return None


def _arrived(record, status: int):
    if record.technician_id != current_user.user_id:
        abort(404)  # an id another technician's phone gave: not this one's to know about
    job = work_orders.job_of_test(g.db, record.id)
    message = _outcome(record)
    if request.headers.get("X-Outbox-Foreground"):  # the technician waits on this answer: the next page says it
        flash(message, "error" if record.device.failed_on else "success")
    return jsonify(status="stored", message=message, next=_next_page(record, job),
                   test=url_for("testing.detail", test_id=record.id)), status


def _refused_json(errors: dict[str, str], status: int = 422):
    g.db.rollback()
    return jsonify(status="refused", errors=errors, message=" ".join(dict.fromkeys(errors.values()))), status


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
    district = report.district_of(g.db, record)
    return render_template("testing/detail.html", record=record, device=record.device, district=district,
                           submission=g.db.scalar(sa.select(ReportSubmission)
                                                  .where(ReportSubmission.test_record_id == record.id)),
                           amendment=services.amendment_of(g.db, record.id),
                           amended=(services.get_test(g.db, record.amends_id, own_work_of(current_user))
                                    if record.amends_id else None),
                           amended_by=services.person_name(g.db, record.amended_by_id),
                           labels=rules.LABELS, keys=rules.required_readings(record.device.device_type),
                           test_type=TestType(record.test_type).label, timezone=_timezone(),
                           job=work_orders.job_of_test(g.db, record.id),
                           voice_notes=[voice_notes.card(g.db, note, record)
                                        for note in voice_notes.voice_notes_of(g.db, record)])


@bp.get("/tests/<uuid:test_id>/report")
@requires(TESTS_VIEW)
def report_status(test_id: uuid.UUID):
    """The report's progress, polled by HTMX until it is ready."""
    return render_template("testing/_report.html", record=_test(test_id))


@bp.get("/tests/<uuid:test_id>/signatures/<any(technician, customer):signer>")
@requires(TESTS_VIEW)
def signature(test_id: uuid.UUID, signer: str):
    key = getattr(_test(test_id), f"{signer}_signature_key")
    if key is None:
        abort(404)
    return stored_picture(key, "image/png")


@bp.get("/tests/<uuid:test_id>/report.pdf")
@requires(TESTS_VIEW)
def report_pdf(test_id: uuid.UUID):
    record = _test(test_id)
    if record.report_status != ReportStatus.done.value:
        abort(404)
    try:
        response = report.send_report(file_storage(), record, company_timezone(g.db))
    except StoredFileMissing:
        abort(404)
    audit.record(g.db, "test_report.downloaded", entity_type="test_record", entity_id=record.id)
    g.db.commit()
    return response
