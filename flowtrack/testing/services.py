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

from flowtrack.audit import services as audit
from flowtrack.db import utcnow
from flowtrack.devices import services as devices
from flowtrack.models.accounts import Profile
from flowtrack.models.customers import CustomerLocation, Device, DeviceStatus, District, Gauge
from flowtrack.models.testing import REPAIR_ACTIONS, REPAIR_PARTS, TestRecord, TestResult, TestType
from flowtrack.testing import rules
from flowtrack.work_orders import services as work_orders

RETEST_PREFIX = "retest_"
READING_PREFIX = "r_"
REPAIR_CHOICES = tuple(f"{action} {part}" for part in REPAIR_PARTS for action in REPAIR_ACTIONS)
PAGE_SIZE = 50


class TestRefused(Exception):
    """The submission cannot be recorded; `errors` maps form fields to what to fix."""

    __test__ = False

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


def district_thresholds(session: so.Session, device: Device) -> dict:
    overrides = session.scalar(sa.select(District.threshold_overrides)
                               .join(CustomerLocation, CustomerLocation.district_id == District.id)
                               .where(CustomerLocation.id == device.location_id))
    return overrides or {}


def judge(device: Device, submission: Submission, overrides: Mapping[str, object]) -> Verdict:
    """Evaluate the readings, and the retest's when the first test failed and a retest was entered."""
    if submission.test_type == TestType.removed_capped.value:
        return Verdict(None, None)
    initial = rules.evaluate(device.device_type, submission.readings, overrides)
    retest = None
    if initial.result == "fail" and submission.retest_readings:
        retest = rules.evaluate(device.device_type, submission.retest_readings, overrides)
    return Verdict(initial, retest)


def usable_gauges(session: so.Session) -> list[Gauge]:
    return list(session.scalars(sa.select(Gauge).order_by(Gauge.serial)))


def record_test(session: so.Session, device: Device, technician_user_id: uuid.UUID, submission: Submission,
                *, today: dt.date | None = None) -> TestRecord:
    """Record a submitted test, or raise TestRefused naming every problem at once."""
    today = today or devices.company_today(session)
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
    if submission.test_type not in {t.value for t in TestType}:
        errors["test_type"] = "Choose the kind of test."
    gauge = _check_gauge(session, device, submission, today, errors)
    if submission.line_pressure_psi is not None and not 0 <= submission.line_pressure_psi <= 400:
        errors["line_pressure_psi"] = "Line pressure is between 0 and 400 psi."
    unknown = set(submission.repairs) - set(REPAIR_CHOICES)
    if unknown:
        errors["repairs"] = f"Unknown repair: {', '.join(sorted(unknown))}."
    verdict = judge(device, submission, district_thresholds(session, device)) if "test_type" not in errors else None
    if verdict and verdict.initial and verdict.initial.errors:
        errors.update({READING_PREFIX + k: v for k, v in verdict.initial.errors.items()})
    if verdict and verdict.retest and verdict.retest.errors:
        errors.update({RETEST_PREFIX + READING_PREFIX + k: v for k, v in verdict.retest.errors.items()})
    if errors:
        raise TestRefused(errors)

    record = TestRecord(
        id=uuid.uuid4(), device_id=device.id, technician_id=technician_user_id, gauge_id=gauge.id if gauge else None,
        test_type=submission.test_type, tested_at=utcnow(), line_pressure_psi=submission.line_pressure_psi,
        shutoff1_tight=submission.shutoff1_tight, readings=submission.readings,
        initial_result=verdict.initial.result if verdict.initial else None, repairs=submission.repairs,
        retest_readings=submission.retest_readings if verdict.retest else None, result=verdict.result,
        checks=[_check_json(c) for c in verdict.final.checks] if verdict.final else [],
        facts=_facts(session, device, profile, gauge), notes=(submission.notes or "").strip() or None)
    session.add(record)
    session.flush()
    if record.result == TestResult.passed.value and (device.last_test_on is None or device.last_test_on <= today):
        devices.update_device(session, device, last_test_on=today)
    elif record.result == TestResult.removed.value:
        devices.update_device(session, device, status=DeviceStatus.removed.value)
    work_orders.note_test(session, record)
    audit.record(session, "test.submitted", entity_type="test_record", entity_id=record.id,
                 changes=audit.changes_between(None, {
                     "device": device.serial, "test_type": record.test_type, "result": record.result,
                     "initial_result": record.initial_result, "readings": record.readings,
                     "retest_readings": record.retest_readings, "repairs": record.repairs,
                     "gauge": gauge.serial if gauge else None}))
    return record


def _check_gauge(session: so.Session, device: Device, submission: Submission, today: dt.date,
                 errors: dict[str, str]) -> Gauge | None:
    """The kit used: required for every test with readings in psid; refused once past its calibration due date."""
    needs_gauge = submission.test_type != TestType.removed_capped.value and any(
        rules.is_psid(key) for key in rules.required_readings(device.device_type))
    gauge = session.get(Gauge, submission.gauge_id) if submission.gauge_id else None
    if gauge is None:
        if needs_gauge:
            errors["gauge_id"] = "Choose the test kit you used."
        return None
    if gauge.calibration_due_on < today:
        errors["gauge_id"] = (f"Test kit {gauge.serial} was due for calibration on {gauge.calibration_due_on:%b %-d, %Y}. "
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
        "gauge": None if gauge is None else {
            "make": gauge.make, "model": gauge.model, "serial": gauge.serial,
            "last_calibrated_on": gauge.last_calibrated_on.isoformat(),
            "calibration_due_on": gauge.calibration_due_on.isoformat()},
        "device": {"type": device.device_type, "serial": device.serial, "manufacturer": device.manufacturer,
                   "model": device.model, "size": device.size, "where_installed": device.where_installed},
        "customer": location.customer.name, "location": location.one_line,
        "district": location.district.name if location.district else None,
    }


# --- finding tests ----------------------------------------------------------------------------------------

def visible_tests(technician_user_id: uuid.UUID | None) -> sa.Select:
    """Test records a person may see: a technician only their own (None: everyone's, for the office)."""
    statement = sa.select(TestRecord)
    if technician_user_id is not None:
        statement = statement.where(TestRecord.technician_id == technician_user_id)
    return statement


def get_test(session: so.Session, test_id: uuid.UUID, technician_user_id: uuid.UUID | None) -> TestRecord | None:
    return session.scalar(visible_tests(technician_user_id).where(TestRecord.id == test_id)
                          .options(so.joinedload(TestRecord.device), so.joinedload(TestRecord.gauge)))


def device_tests(session: so.Session, device_id: uuid.UUID, technician_user_id: uuid.UUID | None,
                 limit: int = 20) -> list[TestRecord]:
    return list(session.scalars(visible_tests(technician_user_id).where(TestRecord.device_id == device_id)
                                .order_by(TestRecord.tested_at.desc()).limit(limit)))


def recent_tests(session: so.Session, technician_user_id: uuid.UUID | None, before: dt.datetime | None = None,
                 limit: int = PAGE_SIZE) -> list[TestRecord]:
    statement = visible_tests(technician_user_id).options(so.joinedload(TestRecord.device))
    if before is not None:
        statement = statement.where(TestRecord.tested_at < before)
    return list(session.scalars(statement.order_by(TestRecord.tested_at.desc()).limit(limit)))


def latest_certificates(session: so.Session, customer_id: uuid.UUID) -> list[TestRecord]:
    """Each of a customer's devices' latest test with a finished report (for the customer portal)."""
    latest = (sa.select(TestRecord.id)
              .join(Device, Device.id == TestRecord.device_id)
              .join(CustomerLocation, CustomerLocation.id == Device.location_id)
              .where(CustomerLocation.customer_id == customer_id, TestRecord.report_status == "done")
              .distinct(TestRecord.device_id)
              .order_by(TestRecord.device_id, TestRecord.tested_at.desc()))
    return list(session.scalars(sa.select(TestRecord).where(TestRecord.id.in_(latest))
                                .options(so.joinedload(TestRecord.device)).order_by(TestRecord.tested_at.desc())))
