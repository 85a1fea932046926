"""Filing test reports with water districts, the way each district takes them.

When a test's report is printed (`core.signals.report_printed`, in the print job's transaction) the test gets its
submission: held back if a check fails (`checks.py`), else sent at once where the district takes reports by email
or in our district view, or put on the office's list to submit on the district's portal or on paper, with the
district's deadline. The office marks those submitted (with the district's confirmation number); the district
admin accepts or rejects what came through the district view, or the district's rules accept a clean report by
themselves. A rejected test goes back to the office with the reason; its amendment is filed as a resubmission.
Each step is audited. Where the district charges a fee and the company passes it on, the fee is a line of the
test's work order, and so of its invoice.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.companies import services as companies
from flowtrack.core import signals
from flowtrack.core.db import lock_for_change, utcnow
from flowtrack.field_tests import report
from flowtrack.models.companies import Company
from flowtrack.models.customers import District, SubmissionMethod
from flowtrack.models.field_tests import TestRecord, TestResult
from flowtrack.models.scheduling import WorkOrder, WorkOrderDevice
from flowtrack.models.submissions import ReportSubmission, SubmissionStatus
from flowtrack.submissions import assemblies, checks, district_mail
from flowtrack.work_orders import services as work_orders

SENT_AT_ONCE = (SubmissionMethod.email.value, SubmissionMethod.district_view.value)
NOT_SENT = (SubmissionStatus.held.value, SubmissionStatus.to_submit.value)


class SubmissionRefused(Exception):
    """A step the submission's state does not allow; the message says why."""


def _tested_on(session: so.Session, record: TestRecord) -> dt.date:
    return record.tested_at.astimezone(companies.company_timezone(session)).date()


def get_submission(session: so.Session, submission_id: uuid.UUID, *, for_update: bool = False
                   ) -> ReportSubmission | None:
    return _found(session, sa.select(ReportSubmission).where(ReportSubmission.id == submission_id), for_update)


def submission_of(session: so.Session, test_id: uuid.UUID, *, for_update: bool = False) -> ReportSubmission | None:
    return _found(session, sa.select(ReportSubmission).where(ReportSubmission.test_record_id == test_id), for_update)


def _found(session: so.Session, query: sa.Select, for_update: bool) -> ReportSubmission | None:
    """The submission; with `for_update`, locked for the change about to be made (after the company's audit chain,
    as every audited change locks: see `core.db.lock_for_change`)."""
    if for_update:
        lock_for_change(session, query)
        query = query.execution_options(populate_existing=True)
    return session.scalar(query)


def _snapshot(submission: ReportSubmission) -> dict:
    return {"status": submission.status, "method": submission.method, "held_reasons": submission.held_reasons,
            "confirmation_number": submission.confirmation_number, "decision_reason": submission.decision_reason}


# --- filing ------------------------------------------------------------------------------------------------

@signals.report_printed.connect
def file_report(session: so.Session, *, record: TestRecord) -> ReportSubmission | None:
    """The printed report's submission to its district (once: a reprint files nothing again)."""
    district = report.district_of(session, record)
    if district is None:
        return None
    existing = submission_of(session, record.id)
    if existing is not None:
        return existing
    if record.result == TestResult.failed.value and not district.wants_failed:
        return None
    earlier = submission_of(session, record.amends_id, for_update=True) if record.amends_id else None
    if earlier is not None and earlier.status in NOT_SENT:
        # The district never had the amended report: the amendment simply takes its place.
        audit.record(session, "report_submission.replaced", entity_type="test_record", entity_id=earlier.test_record_id,
                     changes={"by_test": str(record.id)})
        session.delete(earlier)
        earlier = None
    tested_on = _tested_on(session, record)
    submission = ReportSubmission(
        company_id=record.company_id, test_record_id=record.id, district_id=district.id,
        method=district.submission_method, fee_cents=district.fee_cents, held_reasons=[],
        status=SubmissionStatus.to_submit.value, resubmission_of=earlier.id if earlier else None,
        due_on=tested_on + dt.timedelta(days=district.deadline_days) if district.deadline_days is not None else None)
    session.add(submission)
    session.flush()
    audit.record(session, "report_submission.created", entity_type="test_record", entity_id=record.id,
                 changes={"district": district.name, "method": submission.method, "due_on": submission.due_on,
                          "resubmits": str(earlier.test_record_id) if earlier else None})
    _pass_fee_on(session, record, district)
    _check_and_send(session, submission, record, district)
    return submission


def _pass_fee_on(session: so.Session, record: TestRecord, district: District) -> None:
    """The district's fee on the test's work order, where the company bills it on and the work is not invoiced."""
    if not (district.fee_passed_on and district.fee_cents):
        return
    order = session.scalar(sa.select(WorkOrder).join(WorkOrderDevice, WorkOrderDevice.work_order_id == WorkOrder.id)
                           .where(WorkOrderDevice.test_record_id == record.id))
    if order is None:
        return
    device = record.facts["device"]
    try:
        work_orders.add_line(session, order, description=f"{district.name} filing fee ({device['type']} "
                                                         f"{device['serial']})",
                             quantity=1, unit_price_cents=district.fee_cents, taxable=False)
    except work_orders.WorkRefused:
        return  # invoiced already: the office bills the fee by hand if it wants to


def _check_and_send(session: so.Session, submission: ReportSubmission, record: TestRecord,
                    district: District) -> None:
    assemblies.fill_from_list(session, record.device, district)
    reasons = checks.reasons_to_hold(record, district, _tested_on(session, record),
                                     assemblies.not_on_district_list(session, record.device, district))
    submission.method = district.submission_method
    if reasons:
        submission.status, submission.held_reasons = SubmissionStatus.held.value, reasons
        audit.record(session, "report_submission.held", entity_type="test_record", entity_id=record.id,
                     changes={"reasons": reasons})
        return
    submission.status, submission.held_reasons = SubmissionStatus.to_submit.value, []
    if district.submission_method in SENT_AT_ONCE:
        _submitted(session, submission, by=None, confirmation_number=None)
        if district.submission_method == SubmissionMethod.email.value:
            district_mail.email_report(session, record, district, session.get(Company, record.company_id).name)
        elif district.auto_accept and acceptable_by_rules(record):
            _decided(session, submission, accepted=True, by=None, reason=None, automatic=True)


def acceptable_by_rules(record: TestRecord) -> bool:
    """A district's automatic acceptance: passed, no remarks, the assembly in service. (The kit and the tester's
    certification were valid, and the assembly matched the district's list, or the report would be held.)"""
    return record.result == TestResult.passed.value and not (record.notes or "").strip() \
        and record.device.status == "active"


def check_again(session: so.Session, submission: ReportSubmission) -> None:
    """The office fixed what held a report back (a missing account number, say): check it and send it if it may
    go now."""
    if submission.status != SubmissionStatus.held.value:
        raise SubmissionRefused("Only a held-back report is checked again.")
    record = session.get(TestRecord, submission.test_record_id)
    _check_and_send(session, submission, record, session.get(District, submission.district_id))


def _submitted(session: so.Session, submission: ReportSubmission, *, by: uuid.UUID | None,
               confirmation_number: str | None) -> None:
    before = _snapshot(submission)
    submission.status, submission.submitted_at, submission.submitted_by = \
        SubmissionStatus.submitted.value, utcnow(), by
    submission.confirmation_number = confirmation_number
    audit.record(session, "report_submission.submitted", entity_type="test_record",
                 entity_id=submission.test_record_id,
                 changes={**audit.changes_between(before, _snapshot(submission)), "fee_cents": submission.fee_cents})


def mark_submitted(session: so.Session, submission: ReportSubmission, *, by: uuid.UUID,
                   confirmation_number: str | None) -> None:
    """The office filed it on the district's portal or on paper."""
    if submission.status != SubmissionStatus.to_submit.value:
        raise SubmissionRefused("This report is not waiting to be submitted.")
    _submitted(session, submission, by=by, confirmation_number=confirmation_number)


def _decided(session: so.Session, submission: ReportSubmission, *, accepted: bool, by: uuid.UUID | None,
             reason: str | None, automatic: bool = False) -> None:
    before = _snapshot(submission)
    submission.status = (SubmissionStatus.accepted if accepted else SubmissionStatus.rejected).value
    submission.decided_at, submission.decided_by, submission.decision_reason = utcnow(), by, reason
    submission.auto_accepted = automatic
    audit.record(session, "report_submission.accepted" if accepted else "report_submission.rejected",
                 entity_type="test_record", entity_id=submission.test_record_id,
                 changes={**audit.changes_between(before, _snapshot(submission)), "automatic": automatic})


def decide(session: so.Session, submission: ReportSubmission, *, accepted: bool, by: uuid.UUID,
           reason: str | None) -> None:
    """The district's answer: the district admin's, in the district view, or as the office heard it of a report
    filed on the district's portal, on paper or by email."""
    if submission.status != SubmissionStatus.submitted.value:
        raise SubmissionRefused("This report has been answered already.")
    if not accepted and not reason:
        raise SubmissionRefused("Say why the report is rejected: the testing company fixes it from that.")
    _decided(session, submission, accepted=accepted, by=by, reason=reason)


# --- lists -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DistrictSummary:
    district: District
    to_submit: int
    held: int
    overdue: int
    rejected: int


def summaries(session: so.Session, today: dt.date) -> list[DistrictSummary]:
    """Each district with reports to file: how many to submit, held back, past the deadline, rejected."""
    waiting = ReportSubmission.status.in_(NOT_SENT)
    to_submit = ReportSubmission.status == SubmissionStatus.to_submit.value
    counts = {row.district_id: row for row in session.execute(
        sa.select(ReportSubmission.district_id,
                  sa.func.count().filter(to_submit).label("to_submit"),
                  sa.func.count().filter(ReportSubmission.status == SubmissionStatus.held.value).label("held"),
                  sa.func.count().filter(waiting, ReportSubmission.due_on < today).label("overdue"),
                  sa.func.count().filter(_open_rejection()).label("rejected"))
        .group_by(ReportSubmission.district_id))}
    districts = session.scalars(sa.select(District).order_by(sa.func.lower(District.name)))
    return [DistrictSummary(district, *(counts[district.id][1:] if district.id in counts else (0, 0, 0, 0)))
            for district in districts]


def _open_rejection() -> sa.ColumnElement[bool]:
    """A rejected report not yet resubmitted: the office still owes the district an amended one."""
    resubmission = so.aliased(ReportSubmission)
    return sa.and_(ReportSubmission.status == SubmissionStatus.rejected.value,
                   ~sa.exists().where(resubmission.resubmission_of == ReportSubmission.id))


def waiting_for(session: so.Session, district_id: uuid.UUID) -> list[ReportSubmission]:
    """What the office still has to do for one district: rejected, held back, to submit (soonest deadline first)."""
    order = sa.case({SubmissionStatus.rejected.value: 0, SubmissionStatus.held.value: 1}, value=ReportSubmission.status,
                    else_=2)
    return list(session.scalars(
        sa.select(ReportSubmission)
        .where(ReportSubmission.district_id == district_id,
               sa.or_(ReportSubmission.status.in_(NOT_SENT), _open_rejection()))
        .options(so.joinedload(ReportSubmission.test_record))
        .order_by(order, ReportSubmission.due_on.asc().nulls_last(), ReportSubmission.created_at)))


def recently_filed(session: so.Session, district_id: uuid.UUID, limit: int = 50) -> list[ReportSubmission]:
    return list(session.scalars(
        sa.select(ReportSubmission)
        .where(ReportSubmission.district_id == district_id,
               ReportSubmission.status.in_((SubmissionStatus.submitted.value, SubmissionStatus.accepted.value)))
        .options(so.joinedload(ReportSubmission.test_record))
        .order_by(ReportSubmission.submitted_at.desc()).limit(limit)))


def _count(condition: sa.ColumnElement[bool]) -> sa.Select:
    return sa.select(sa.func.count()).select_from(ReportSubmission).where(condition)


def overdue(today: dt.date) -> sa.Select:
    """How many reports are not yet filed though their district's deadline has passed."""
    return _count(sa.and_(ReportSubmission.status.in_(NOT_SENT), ReportSubmission.due_on < today))


def held() -> sa.Select:
    return _count(ReportSubmission.status == SubmissionStatus.held.value)


def open_rejections() -> sa.Select:
    """How many rejected reports the office has not resubmitted yet."""
    return _count(_open_rejection())


def attention_counts(session: so.Session, today: dt.date) -> dict[str, int]:
    """What the dashboard flags, in one statement: reports overdue, held back, rejected and not resubmitted."""
    row = session.execute(sa.select(overdue(today).scalar_subquery().label("reports_overdue"),
                                    held().scalar_subquery().label("reports_held"),
                                    open_rejections().scalar_subquery().label("reports_rejected"))).one()
    return dict(row._mapping)


def waiting_for_answer(session: so.Session, district_id: uuid.UUID) -> list[ReportSubmission]:
    """Reports sent through the district view that the district has not answered, oldest first."""
    return list(session.scalars(
        sa.select(ReportSubmission)
        .where(ReportSubmission.district_id == district_id, ReportSubmission.status == SubmissionStatus.submitted.value,
               ReportSubmission.method == SubmissionMethod.district_view.value)
        .options(so.joinedload(ReportSubmission.test_record))
        .order_by(ReportSubmission.submitted_at)))
