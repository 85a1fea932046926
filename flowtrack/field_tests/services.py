"""Field tests: judge readings as they are typed, record a submitted test, and find tests for the people allowed.

A submitted test is final. The database holds it so: the app role may insert
test records and mark their report's progress, never change what was measured
(see migration 0007). The rules that judge readings live in `rules.py`; this
module adds what the rules cannot know: who tested, with which kit, whether
both were fit to test that day, and what the device's next due date becomes.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import postgresql

from flowtrack.audit import services as audit
from flowtrack.companies import services as companies
from flowtrack.core.dates import date
from flowtrack.core.db import utcnow
from flowtrack.core.forms import WHOLE_NUMBER
from flowtrack.core.signatures import signature_png
from flowtrack.core.storage import FileStorage
from flowtrack.devices import services as devices
from flowtrack.field_tests import rules
from flowtrack.field_tests.evidence import PhoneEvidence, can_place_location
from flowtrack.field_tests.evidence import flags as visit_flags
from flowtrack.inventory import services as inventory
from flowtrack.models.accounts import Profile
from flowtrack.models.companies import Company
from flowtrack.models.customers import CustomerLocation, Device, DeviceStatus, District, Gauge
from flowtrack.models.field_tests import (
    REPAIR_ACTIONS,
    REPAIR_PARTS,
    TestRecord,
    TestResult,
    TestType,
    current_tests,
    visible_tests,
)
from flowtrack.models.inventory import Part
from flowtrack.models.notifications import NotificationEmail
from flowtrack.models.scheduling import ScheduledJob, WorkOrderStatus
from flowtrack.notifications import services as notifications
from flowtrack.photos import services as photos
from flowtrack.work_orders import services as work_orders

RETEST_PREFIX = "retest_"
READING_PREFIX = "r_"
REPAIR_CHOICES = tuple(f"{action} {part}" for part in REPAIR_PARTS for action in REPAIR_ACTIONS)
# The parts fitted on a repair, a row each on the form (`part_<n>`, `part_qty_<n>`): plain fields, so that they
# travel with the test in the phone's outbox.
PART_ROWS = 3
MOST_OF_A_PART = 99
PAGE_SIZE = 50


class TestRefused(Exception):
    """The submission cannot be recorded; `errors` maps form fields to what to fix."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class Submission:
    """What the technician entered, as plain values (the form's job is only to collect them)."""

    test_type: str
    gauge_id: uuid.UUID | None = None
    line_pressure_psi: int | None = None
    shutoff1_tight: bool | None = None
    readings: dict[str, str] = field(default_factory=dict)
    repairs: list[str] = field(default_factory=list)
    retest_readings: dict[str, str] = field(default_factory=dict)
    notes: str | None = None
    photo_ids: list[uuid.UUID] = field(default_factory=list)
    # Signature pads' PNG data URLs.
    technician_signature: str | None = None
    customer_signature: str | None = None
    customer_signer_name: str | None = None
    # The parts rows as typed: row number -> (part id, quantity); a quantity left empty is one.
    parts: dict[int, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Verdict:
    """The rules' judgement of a (possibly half-typed) submission, for the live feedback and the record."""

    initial: rules.Evaluation | None
    retest: rules.Evaluation | None

    @property
    def final(self) -> rules.Evaluation | None:
        return self.retest or self.initial

    @property
    def result(self) -> str:
        return self.final.result if self.final else TestResult.removed.value


def readings_from(form: Mapping[str, Any], assembly_type: str, prefix: str = "") -> dict[str, str]:
    """The readings an assembly type needs, as typed (fields named `r_<key>`, or `retest_r_<key>`)."""
    values = {}
    for key in rules.required_readings(assembly_type):
        raw = form.get(f"{prefix}{READING_PREFIX}{key}")
        if raw is not None and str(raw).strip():
            values[key] = str(raw).strip()
    return values


def parts_from(form: Mapping[str, Any]) -> dict[int, tuple[str, str]]:
    """The parts rows that have anything in them."""
    rows = {}
    for row in range(1, PART_ROWS + 1):
        part, quantity = (str(form.get(f"{name}_{row}") or "").strip() for name in ("part", "part_qty"))
        if part or quantity:
            rows[row] = (part, quantity)
    return rows


def _parts_used(session: so.Session, device: Device, submission: Submission, errors: dict[str, str],
                *, from_van: bool) -> list[tuple[Part, int]]:
    """The parts fitted and how many of each (a part on two rows counts once, with both quantities)."""
    if not submission.parts:
        return []
    if not from_van:
        errors["parts"] = "Parts are taken from a technician's van: the technician who fitted them records them."
        return []
    used: dict[uuid.UUID, list] = {}
    for row, (part_text, quantity_text) in sorted(submission.parts.items()):
        try:
            part = inventory.get_part(session, uuid.UUID(part_text)) if part_text else None
        except ValueError:
            part = None
        if part is None:
            errors[f"part_{row}"] = "Choose a part from the list." if part_text else \
                "Choose the part, or clear its quantity."
            continue
        if not part.fits(device.device_type):
            errors[f"part_{row}"] = f"{part.name} does not fit a {device.device_type} assembly."
            continue
        quantity = 1 if not quantity_text else \
            int(quantity_text) if WHOLE_NUMBER.fullmatch(quantity_text) and len(quantity_text) < 6 else 0
        if not 1 <= quantity <= MOST_OF_A_PART:
            errors[f"part_qty_{row}"] = f"Enter how many, from 1 to {MOST_OF_A_PART}."
            continue
        used.setdefault(part.id, [part, 0])[1] += quantity
    return [(part, quantity) for part, quantity in used.values()]


def district_thresholds(session: so.Session, device: Device) -> dict:
    overrides = session.scalar(sa.select(District.threshold_overrides)
                               .join(CustomerLocation, CustomerLocation.district_id == District.id)
                               .where(CustomerLocation.id == device.location_id))
    return overrides or {}


def customer_signature_required(session: so.Session, device: Device) -> bool:
    """Whether the device's district's form has a line the customer must sign."""
    return bool(session.scalar(sa.select(District.requires_customer_signature)
                               .join(CustomerLocation, CustomerLocation.district_id == District.id)
                               .where(CustomerLocation.id == device.location_id)))


def form_values(record: TestRecord) -> dict:
    """A recorded test as the form's fixed fields hold it, for an amendment to start from."""
    return {"test_type": record.test_type, "gauge_id": str(record.gauge_id) if record.gauge_id else "",
            "line_pressure_psi": record.line_pressure_psi, "repairs": list(record.repairs), "notes": record.notes,
            "shutoff1_tight": {True: "yes", False: "no"}.get(record.shutoff1_tight)}


def typed_readings(record: TestRecord) -> dict[str, str]:
    """A recorded test's readings under the form's field names (`r_<key>`, `retest_r_<key>`)."""
    typed = {READING_PREFIX + key: str(value) for key, value in record.readings.items()}
    typed.update({RETEST_PREFIX + READING_PREFIX + key: str(value)
                  for key, value in (record.retest_readings or {}).items()})
    return typed


def person_name(session: so.Session, user_id: uuid.UUID | None) -> str | None:
    if user_id is None:
        return None
    return session.scalar(sa.select(Profile.full_name).where(Profile.user_id == user_id))


def judge(device: Device, submission: Submission, overrides: Mapping[str, object]) -> Verdict:
    """Evaluate the readings, and the retest's when the first test failed and a retest was entered."""
    if submission.test_type == TestType.removed_capped.value:
        return Verdict(None, None)
    initial = rules.evaluate(device.device_type, submission.readings, overrides)
    retest = None
    if initial.result == "fail" and submission.retest_readings:
        retest = rules.evaluate(device.device_type, submission.retest_readings, overrides)
    return Verdict(initial, retest)


def test_kits(session: so.Session, on: dt.date, *, kept: uuid.UUID | None = None,
              vendor_id: uuid.UUID | None = None) -> list[Gauge]:
    """The kits a test of that day may name: those in service then (a kit retired since stays on the form of an
    earlier day's test), and `kept`, the kit of the test an amendment corrects. A vendor's people test with their
    vendor's kits, the company's people with the company's."""
    owner = Gauge.vendor_id == vendor_id if vendor_id is not None else Gauge.vendor_id.is_(None)
    return list(session.scalars(sa.select(Gauge).where(owner, sa.or_(Gauge.retired_on.is_(None), Gauge.retired_on > on,
                                                                     Gauge.id == kept)).order_by(Gauge.serial)))


def kit_to_offer(session: so.Session, technician_user_id: uuid.UUID, kits: list[Gauge], on: dt.date) -> Gauge | None:
    """The kit a technician most likely has in the van: the last one they tested with that is still calibrated
    on `on`; else the company's only calibrated kit, if it has just one."""
    calibrated = [kit for kit in kits if kit.calibration_due_on >= on]
    last = session.scalar(sa.select(TestRecord.gauge_id).where(
        TestRecord.technician_id == technician_user_id,
        TestRecord.gauge_id.in_([kit.id for kit in calibrated])).order_by(TestRecord.tested_at.desc()).limit(1))
    if last is not None:
        return next(kit for kit in calibrated if kit.id == last)
    return calibrated[0] if len(calibrated) == 1 else None


def record_test(session: so.Session, device: Device, technician_user_id: uuid.UUID, submission: Submission,
                *, storage: FileStorage, today: dt.date | None = None, client_id: uuid.UUID | None = None,
                evidence: PhoneEvidence | None = None, from_van: bool = True) -> TestRecord:
    """Record a submitted test, or raise TestRefused naming every problem at once.

    A test from the phone's outbox brings its id (`client_id`) and the phone's `evidence`: it is dated when the
    phone submitted it, and the kit and the tester's certification are judged on that day. The parts fitted are
    taken from the technician's van (`from_van`: whoever records the test has one) and billed on its work order."""
    tested_at = evidence.tested_at if evidence is not None else utcnow()
    if evidence is not None:
        today = tested_at.astimezone(companies.company_timezone(session)).date()
    today = today or companies.company_today(session)
    errors: dict[str, str] = {}
    if device.status != DeviceStatus.active.value:
        errors["device"] = "This device is no longer in service; test its replacement instead."
    profile = session.scalar(sa.select(Profile).where(Profile.user_id == technician_user_id))
    if profile is None or not profile.certification_valid_on(today):
        errors["certification"] = (
            f"Your tester certification expired on {profile.certification_expires_on:%b %-d, %Y}. "
            "Renew it and ask the office to update your profile before you submit tests."
            if profile is not None and profile.certification_expires_on else
            "No tester certification is on file for you. Ask the office to add it before you submit tests.")
    verdict, gauge = _judged(session, device, submission, today, errors)
    if gauge is not None and profile is not None and gauge.vendor_id != profile.vendor_id:
        errors["gauge_id"] = "Choose the test kit you used."  # a kit of another vendor's, or of the company's
    used = _parts_used(session, device, submission, errors, from_van=from_van)
    drawn = _signatures(session, device, submission, errors)
    if errors:
        raise TestRefused(errors)

    record = _new_record(session, device, submission, verdict, gauge, technician_id=technician_user_id,
                         tested_at=tested_at, facts=_facts(session, device, profile, gauge))
    if evidence is not None:
        _keep_evidence(session, record, device, client_id, evidence)
    for signer, png in drawn.items():
        key = f"{device.company_id}/signatures/{record.id}-{signer}.png"
        storage.put(key, png, "image/png")
        setattr(record, f"{signer}_signature_key", key)
    record.customer_signer_name = (submission.customer_signer_name or "").strip() or None if "customer" in drawn \
        else None
    _save(session, record, submission)
    if record.result == TestResult.passed.value and (device.last_test_on is None or device.last_test_on <= today):
        devices.update_device(session, device, last_test_on=today)
    elif record.result == TestResult.removed.value:
        devices.update_device(session, device, status=DeviceStatus.removed.value)
    _settle_failure(session, device)
    if profile.vendor_id is None:
        settle_on_work_order(session, record, today, parts=used)
    audit.record(session, "test.submitted", entity_type="test_record", entity_id=record.id,
                 changes=audit.changes_between(None, {**_audited(record, device, gauge),
                                                      **({"from_phone": str(client_id), "flags": record.flags}
                                                         if evidence is not None else {})}))
    return record


def settle_on_work_order(session: so.Session, record: TestRecord, tested_on: dt.date,
                         parts: list[tuple[Part, int]] | None = None) -> None:
    """The test on its work order (the device tested, repairs and the parts fitted priced, the parts taken from the
    van) and, when it failed, the customer told. A vendor's test is settled by a job as the company
    (`tasks.settle_vendor_test`): a vendor's session reads no prices and no customer's email, and a vendor has no
    van."""
    parts = parts or []
    order = work_orders.note_test(session, record, parts=parts)
    inventory.take_for_test(session, record.id, record.device_id, record.technician_id, parts,
                            order.id if order else None)
    if record.result == TestResult.failed.value:
        tell_customer_of_failure(session, record, tested_on)


def _keep_evidence(session: so.Session, record: TestRecord, device: Device, client_id: uuid.UUID | None,
                   evidence: PhoneEvidence) -> None:
    """The phone's account of the visit on the record, with what the office should look at; a location with no
    coordinates yet takes them from its first test with a good position."""
    location = device.location
    record.client_id = client_id
    record.steps = {name: moment.isoformat() for name, moment in evidence.steps.items()}
    record.clock_skew_seconds = round(evidence.skew.total_seconds())
    if evidence.position is not None:
        record.latitude, record.longitude = evidence.position.latitude, evidence.position.longitude
        record.position_accuracy_m = evidence.position.accuracy_m
    placed = (location.latitude, location.longitude) if location.latitude is not None else None
    record.flags = visit_flags(evidence, placed, companies.settings_of(session).far_from_location_m,
                               has_gauge_readings=any(rules.is_psid(key) for key in record.readings))
    if placed is None and can_place_location(evidence):
        location.latitude, location.longitude = evidence.position.latitude, evidence.position.longitude
        location.coordinates_source = "tests"
        audit.record(session, "location.placed", entity_type="location", entity_id=location.id,
                     changes={"latitude": location.latitude, "longitude": location.longitude,
                              "from_test": str(record.id)})


def test_from_phone(session: so.Session, client_id: uuid.UUID) -> TestRecord | None:
    """The test stored for this id the phone gave it, if it has arrived before."""
    return session.scalar(sa.select(TestRecord).where(TestRecord.client_id == client_id))


def still_on_job(job: ScheduledJob, device: Device) -> None:
    """A test taken on a job arrives later: the device must still be on that job, and the job still open."""
    order = job.work_order
    if device.id not in {item.device_id for item in order.devices}:
        raise TestRefused({"job": f"{device.serial} was moved off this job by the office before the test arrived. "
                                  "Send it as a test of the device on its own, or ask the office."})
    if WorkOrderStatus(order.status).closed:
        raise TestRefused({"job": f"This job was {WorkOrderStatus(order.status).label.lower()} before the test of "
                                  f"{device.serial} arrived. Send it as a test of the device on its own, or ask "
                                  "the office."})


def amend_test(session: so.Session, original: TestRecord, amended_by: uuid.UUID, submission: Submission,
               reason: str | None) -> TestRecord:
    """Correct a submitted test: a new record naming the original (which stays as it was), with who and why.

    The tester, the time of the test and the signatures are the original's; the kit is judged against its
    calibration on the day of the test, not today; the device's last passing test follows the correction.
    """
    device = original.device
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if not reason:
        errors["amendment_reason"] = "Say what this amendment corrects."
    elif len(reason) > 500:
        errors["amendment_reason"] = "Keep the reason under 500 characters."
    if amendment_of(session, original.id) is not None:
        errors["amends"] = "This test has been amended already; amend its newest version."
    tested_on = original.tested_at.astimezone(companies.company_timezone(session)).date()
    verdict, gauge = _judged(session, device, submission, tested_on, errors, kept_kit=original.gauge_id)
    if errors:
        raise TestRefused(errors)

    facts = dict(original.facts)
    if gauge is not None:
        facts["gauge"] = _gauge_facts(gauge)
    record = _new_record(session, device, submission, verdict, gauge, technician_id=original.technician_id,
                         tested_at=original.tested_at, facts=facts)
    record.amends_id, record.amended_by_id, record.amendment_reason = original.id, amended_by, reason
    record.technician_signature_key = original.technician_signature_key
    record.customer_signature_key = original.customer_signature_key
    record.customer_signer_name = original.customer_signer_name
    try:
        with session.begin_nested():  # two people amending the same test at once: the second one is told
            _save(session, record, submission)
    except sa.exc.IntegrityError:
        raise TestRefused({"amends": "This test has just been amended by someone else; amend its newest "
                                     "version."}) from None
    _follow_correction(session, device, original, record, tested_on)
    _settle_failure(session, device)
    audit.record(session, "test.amended", entity_type="test_record", entity_id=record.id,
                 changes={**audit.changes_between(_audited(original, device, original.gauge),
                                                  _audited(record, device, gauge)),
                          "amends": str(original.id), "reason": reason})
    return record


def _judged(session: so.Session, device: Device, submission: Submission, on: dt.date,
            errors: dict[str, str], *, kept_kit: uuid.UUID | None = None) -> tuple[Verdict | None, Gauge | None]:
    """Check what was typed and judge the readings; problems go into `errors` under the form's field names."""
    if submission.test_type not in {t.value for t in TestType}:
        errors["test_type"] = "Choose the kind of test."
    gauge = _check_gauge(session, device, submission, on, errors, kept_kit=kept_kit)
    if submission.line_pressure_psi is not None and not 0 <= submission.line_pressure_psi <= 400:
        errors["line_pressure_psi"] = "Line pressure is between 0 and 400 psi."
    unknown = set(submission.repairs) - set(REPAIR_CHOICES)
    if unknown:
        errors["repairs"] = f"Unknown repair: {', '.join(sorted(unknown))}."
    notes = (submission.notes or "").strip()
    if len(notes) > 2000:
        errors["notes"] = "Keep the notes under 2,000 characters."
    if len(submission.photo_ids) > photos.MAX_PER_TEST:
        errors["photos"] = f"A test can carry at most {photos.MAX_PER_TEST} photos."
    verdict = judge(device, submission, district_thresholds(session, device)) if "test_type" not in errors else None
    if verdict and verdict.initial and verdict.initial.errors:
        errors.update({READING_PREFIX + k: v for k, v in verdict.initial.errors.items()})
    if verdict and verdict.retest and verdict.retest.errors:
        errors.update({RETEST_PREFIX + READING_PREFIX + k: v for k, v in verdict.retest.errors.items()})
    return verdict, gauge


def _signatures(session: so.Session, device: Device, submission: Submission, errors: dict[str, str]) -> dict:
    """The drawn signatures as PNGs: the tester's always, the customer's where the district's form asks for it."""
    drawn = {}
    try:
        drawn["technician"] = signature_png(submission.technician_signature,
                                                       missing="Sign the test before you submit it.")
    except ValueError as problem:
        errors["technician_signature"] = str(problem)
    if customer_signature_required(session, device) or (submission.customer_signature or "").strip():
        try:
            drawn["customer"] = signature_png(
                submission.customer_signature, missing="The district's form asks for the customer's signature: "
                                                       "have them sign here.")
        except ValueError as problem:
            errors["customer_signature"] = str(problem)
        if not (submission.customer_signer_name or "").strip():
            errors["customer_signer_name"] = "Write the name of the person who signed."
        elif len(submission.customer_signer_name.strip()) > 200:
            errors["customer_signer_name"] = "Keep the name under 200 characters."
    return drawn


def _new_record(session: so.Session, device: Device, submission: Submission, verdict: Verdict, gauge: Gauge | None,
                *, technician_id: uuid.UUID, tested_at: dt.datetime, facts: dict) -> TestRecord:
    return TestRecord(
        id=uuid.uuid4(), company_id=device.company_id, device_id=device.id, technician_id=technician_id,
        gauge_id=gauge.id if gauge else None, test_type=submission.test_type, tested_at=tested_at,
        line_pressure_psi=submission.line_pressure_psi, shutoff1_tight=submission.shutoff1_tight,
        readings=submission.readings, initial_result=verdict.initial.result if verdict.initial else None,
        repairs=submission.repairs, retest_readings=submission.retest_readings if verdict.retest else None,
        result=verdict.result, checks=[_check_json(c) for c in verdict.final.checks] if verdict.final else [],
        facts=facts, notes=(submission.notes or "").strip() or None)


def _save(session: so.Session, record: TestRecord, submission: Submission) -> None:
    """Insert the record (final from here on) and bring the photos taken for it along."""
    session.add(record)
    session.flush()
    photos.attach_to_test(photos.waiting_photos(session, record.device_id, submission.photo_ids), record.id)


def _follow_correction(session: so.Session, device: Device, original: TestRecord, amendment: TestRecord,
                       tested_on: dt.date) -> None:
    """Keep the device's last passing test true after a correction changed whether the test passed."""
    passed = TestResult.passed.value
    if amendment.result == passed and original.result != passed:
        if device.last_test_on is None or device.last_test_on < tested_on:
            devices.update_device(session, device, last_test_on=tested_on)
    elif original.result == passed and amendment.result != passed and device.last_test_on == tested_on:
        zone = companies.company_timezone(session)
        latest = session.scalar(current_tests().where(
            TestRecord.device_id == device.id, TestRecord.result == passed, TestRecord.id != amendment.id)
            .order_by(TestRecord.tested_at.desc()).limit(1))
        devices.update_device(session, device,
                              last_test_on=latest.tested_at.astimezone(zone).date() if latest else None)


def tell_customer_of_failure(session: so.Session, record: TestRecord, tested_on: dt.date) -> NotificationEmail | None:
    """Email the customer that their assembly failed: what failed, what the district requires, what comes next.
    Without an email address on file the office tells them its own way (the failure is on its list)."""
    location = session.get(CustomerLocation, record.device.location_id)
    customer = location.customer
    if not customer.email:
        return None
    facts, company = record.facts, session.get(Company, record.company_id)
    device = f"{facts['device']['type']} assembly {facts['device']['serial']}"
    failed_checks = [check["label"] for check in record.checks if not check.get("passed", True)]
    district = location.district
    body = "\n".join([
        f"Hello {customer.name},", "",
        f"The backflow prevention {device} at {location.one_line} failed its test on {date(tested_on, long=True)}."
        + (f" What did not pass: {', '.join(failed_checks)}." if failed_checks else ""), "",
        (f"{district.name} requires a failed assembly to be repaired and to pass a retest, and receives the "
         "report of each test." if district else
         "A failed assembly must be repaired and pass a retest before it can be certified."), "",
        f"What happens next: {company.name} will contact you to plan the repair and retest. Until then the "
        "assembly may not protect your water supply as it should.", "",
        company.name])
    email = notifications.send_email(session, customer.email, f"Your backflow assembly {facts['device']['serial']} "
                                     "failed its test and needs repair", body)
    audit.record(session, "customer.failure_notified", entity_type="test_record", entity_id=record.id,
                 changes={"to": customer.email, "email_id": str(email.id), "device": facts["device"]["serial"]})
    return email


def _settle_failure(session: so.Session, device: Device) -> None:
    """A device whose latest test (as it stands) failed needs repair until a passing test follows."""
    latest = session.scalar(current_tests().where(TestRecord.device_id == device.id)
                            .order_by(TestRecord.tested_at.desc()).limit(1))
    failed = latest is not None and latest.result == TestResult.failed.value \
        and device.status == DeviceStatus.active.value
    failed_on = latest.tested_at.astimezone(companies.company_timezone(session)).date() if failed else None
    if device.failed_on != failed_on:
        devices.update_device(session, device, failed_on=failed_on)


def _audited(record: TestRecord, device: Device, gauge: Gauge | None) -> dict:
    return {"device": device.serial, "test_type": record.test_type, "result": record.result,
            "initial_result": record.initial_result, "readings": record.readings,
            "retest_readings": record.retest_readings, "repairs": record.repairs,
            "gauge": gauge.serial if gauge else None, "notes": record.notes}


def _check_gauge(session: so.Session, device: Device, submission: Submission, on: dt.date,
                 errors: dict[str, str], *, kept_kit: uuid.UUID | None = None) -> Gauge | None:
    """The kit used: required for every test with readings in psid; refused once past its calibration due date or
    retired (but for `kept_kit`, the kit of the test an amendment corrects: its readings were taken with it)."""
    needs_gauge = submission.test_type != TestType.removed_capped.value and any(
        rules.is_psid(key) for key in rules.required_readings(device.device_type))
    gauge = session.get(Gauge, submission.gauge_id) if submission.gauge_id else None
    if gauge is None:
        if needs_gauge:
            errors["gauge_id"] = "Choose the test kit you used."
        return None
    if not gauge.in_service_on(on) and gauge.id != kept_kit:
        errors["gauge_id"] = (f"Test kit {gauge.serial} was retired on {gauge.retired_on:%b %-d, %Y}. "
                              "Choose the kit you used; the office can return this one to service.")
    elif gauge.calibration_due_on < on:
        errors["gauge_id"] = (f"Test kit {gauge.serial} was due for calibration on "
                              f"{gauge.calibration_due_on:%b %-d, %Y}. "
                              "Use a calibrated kit; readings from this one cannot be accepted.")
    return gauge


def _check_json(check: rules.CheckResult) -> dict:
    return {"key": check.key, "label": check.label, "passed": check.passed, "reason": check.reason}


def _facts(session: so.Session, device: Device, profile: Profile, gauge: Gauge | None) -> dict:
    """What the report shows, frozen as it was when the test was submitted."""
    location = session.get(CustomerLocation, device.location_id)
    return {
        "tester": profile.full_name, "certification_number": profile.certification_number,
        "certification_expires_on": profile.certification_expires_on.isoformat(),
        "gauge": None if gauge is None else _gauge_facts(gauge),
        "device": {"type": device.device_type, "serial": device.serial, "manufacturer": device.manufacturer,
                   "model": device.model, "size": device.size, "where_installed": device.where_installed},
        "customer": location.customer.name, "location": location.one_line,
        "district": location.district.name if location.district else None,
        # A replacement's first test names the assembly it took the place of.
        "replaces": [old.serial for old in devices.replaced_devices(session, device.id)],
    }


def _gauge_facts(gauge: Gauge) -> dict:
    return {"make": gauge.make, "model": gauge.model, "serial": gauge.serial,
            "last_calibrated_on": gauge.last_calibrated_on.isoformat(),
            "calibration_due_on": gauge.calibration_due_on.isoformat()}


# --- finding tests ----------------------------------------------------------------------------------------

def get_test(session: so.Session, test_id: uuid.UUID, technician_user_id: uuid.UUID | None) -> TestRecord | None:
    return session.scalar(visible_tests(technician_user_id).where(TestRecord.id == test_id)
                          .options(so.joinedload(TestRecord.device), so.joinedload(TestRecord.gauge)))


def versions_before(session: so.Session, record: TestRecord) -> list[uuid.UUID]:
    """The record's id and those of the records it amends, back to the test as first submitted."""
    ids = [record.id]
    while record.amends_id is not None:
        record = session.get(TestRecord, record.amends_id)
        ids.append(record.id)
    return ids


def amendment_of(session: so.Session, test_id: uuid.UUID) -> TestRecord | None:
    """The record that corrects this one, if any."""
    return session.scalar(sa.select(TestRecord).where(TestRecord.amends_id == test_id))


def recent_tests(session: so.Session, technician_user_id: uuid.UUID | None, before: dt.datetime | None = None,
                 limit: int = PAGE_SIZE) -> list[TestRecord]:
    statement = visible_tests(technician_user_id, current_only=True).options(so.joinedload(TestRecord.device))
    if before is not None:
        statement = statement.where(TestRecord.tested_at < before)
    return list(session.scalars(statement.order_by(TestRecord.tested_at.desc()).limit(limit)))


def latest_certificates(session: so.Session, customer_id: uuid.UUID) -> list[TestRecord]:
    """Each of a customer's devices' latest test with a finished report (for the customer portal)."""
    latest = (current_tests().with_only_columns(TestRecord.id)
              .join(Device, Device.id == TestRecord.device_id)
              .join(CustomerLocation, CustomerLocation.id == Device.location_id)
              .where(CustomerLocation.customer_id == customer_id, TestRecord.report_status == "done")
              .ext(postgresql.distinct_on(TestRecord.device_id))
              .order_by(TestRecord.device_id, TestRecord.tested_at.desc()))
    return list(session.scalars(sa.select(TestRecord).where(TestRecord.id.in_(latest))
                                .options(so.joinedload(TestRecord.device)).order_by(TestRecord.tested_at.desc())))
