"""Filing test reports on a district's own portal, quickly: a ready-to-copy sheet per test, and a batch file (CSV)
of many tests in the district's column layout (`batch_fields.py`), which the office uploads where the portal takes
files.

Making a batch names the reports waiting to be submitted (this week's tests, or all of them) as one
`SubmissionBatch`, in one statement; its file is then read from that batch, so that downloading it again gives the
same rows, and streamed from a server-side cursor a few hundred rows at a time, so that a district of thousands of
tests costs the same memory as one of ten (bench/district_batch.py). Marking the batch submitted with the
district's confirmation number marks each of its reports submitted (`services.mark_submitted`), in chunks.
Every step is audited.

Locks: the company's audit-chain lock first, then the rows (`core.db.lock_for_change`), as every writer does.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Iterator

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.companies import services as companies
from flowtrack.core.csv_text import csv_chunks
from flowtrack.core.db import lock_company_chain, lock_for_change, utcnow
from flowtrack.models.accounts import Profile
from flowtrack.models.companies import Company
from flowtrack.models.customers import CustomerLocation, Device, District
from flowtrack.models.field_tests import TestRecord
from flowtrack.models.submissions import ReportSubmission, SubmissionBatch, SubmissionStatus
from flowtrack.submissions import services
from flowtrack.submissions.batch_fields import Column, CompanyFacts, Filing, columns_of, preset_named, values

# What a batch may take: everything waiting, or the tests of this week (Monday to today, the company's days).
SCOPES = {"week": "this week's tests", "all": "all reports to submit"}
CHUNK = 500


class BatchRefused(Exception):
    """A batch step the state does not allow; the message says why."""


# --- the column mapping ------------------------------------------------------------------------------------

def save_columns(session: so.Session, district: District, columns: list[Column]) -> bool:
    """The district's batch columns as the office arranged them (checked by `batch_fields.checked`); audited.
    False when nothing changed."""
    before = [column._asdict() for column in columns_of(district)]
    after = [column._asdict() for column in columns]
    if before == after and district.csv_columns is not None:
        return False
    district.csv_columns = after
    audit.record(session, "district.batch_columns_changed", entity_type="district", entity_id=district.id,
                 changes={"before": before, "after": after})
    return True


# --- one test: the ready-to-copy sheet ---------------------------------------------------------------------

def _company(session: so.Session) -> CompanyFacts:
    settings = companies.settings_of(session)
    name = session.scalar(sa.select(Company.name).where(Company.id == session.info["company_id"]))
    return CompanyFacts(name or "", settings.phone, settings.address)


@dataclass(frozen=True)
class Sheet:
    submission: ReportSubmission
    filing: Filing
    rows: list[tuple[str, str]]  # (the district's heading, the value), in the district's order
    next_id: uuid.UUID | None  # the next report waiting to be submitted to this district


def sheet(session: so.Session, submission: ReportSubmission) -> Sheet:
    record = session.get(TestRecord, submission.test_record_id)
    device = session.get(Device, record.device_id)
    district = session.get(District, submission.district_id)
    filing = Filing(record, device, session.get(CustomerLocation, device.location_id), district, _company(session),
                    companies.company_timezone(session))
    columns = columns_of(district)
    return Sheet(submission, filing, list(zip([c.header for c in columns], values(filing, columns), strict=True)),
                 next_to_submit(session, district.id, besides=submission.id))


def example(session: so.Session, district: District) -> Filing | None:
    """A test of the district to show the columns' values with: the next to submit, else the latest filed."""
    first = next_to_submit(session, district.id) or session.scalar(
        sa.select(ReportSubmission.id).where(ReportSubmission.district_id == district.id)
        .order_by(ReportSubmission.created_at.desc()).limit(1))
    return None if first is None else sheet(session, session.get(ReportSubmission, first)).filing


def _to_submit(district_id: uuid.UUID) -> sa.Select:
    return sa.select(ReportSubmission).where(ReportSubmission.district_id == district_id,
                                             ReportSubmission.status == SubmissionStatus.to_submit.value)


def next_to_submit(session: so.Session, district_id: uuid.UUID, *, besides: uuid.UUID | None = None
                   ) -> uuid.UUID | None:
    """The report to file next on the district's portal, one by one: the soonest deadline first, as the office's list
    has it; not one in a batch (its file goes up whole)."""
    query = _to_submit(district_id).with_only_columns(ReportSubmission.id).where(ReportSubmission.batch_id.is_(None))
    if besides is not None:
        query = query.where(ReportSubmission.id != besides)
    return session.scalar(query.order_by(ReportSubmission.due_on.asc().nulls_last(), ReportSubmission.created_at,
                                         ReportSubmission.id).limit(1))


# --- batches -----------------------------------------------------------------------------------------------

def week_start(today: dt.date) -> dt.date:
    return today - dt.timedelta(days=today.weekday())


def _waiting(district_id: uuid.UUID, scope: str, today: dt.date, zone: dt.tzinfo) -> sa.Select:
    """The reports a new batch of this scope takes: waiting to be submitted, in no batch yet."""
    query = _to_submit(district_id).where(ReportSubmission.batch_id.is_(None))
    if scope == "week":
        monday = dt.datetime.combine(week_start(today), dt.time(), zone)
        query = query.where(ReportSubmission.test_record_id.in_(
            sa.select(TestRecord.id).where(TestRecord.tested_at >= monday)))
    return query


def make_batch(session: so.Session, district: District, *, scope: str, by: uuid.UUID, today: dt.date
               ) -> tuple[SubmissionBatch, int]:
    """A batch of the district's reports waiting to be submitted (`scope`: 'week' or 'all'), and how many it took.
    Two people making a batch at once never share a report: the second statement skips the rows the first took."""
    if scope not in SCOPES:
        raise BatchRefused("Choose this week's tests or all reports to submit.")
    lock_company_chain(session, session.info["company_id"])
    batch = SubmissionBatch(company_id=district.company_id, district_id=district.id, created_by=by)
    session.add(batch)
    session.flush()
    waiting = _waiting(district.id, scope, today, companies.company_timezone(session))
    taken = session.execute(
        sa.update(ReportSubmission).where(ReportSubmission.id.in_(waiting.with_only_columns(ReportSubmission.id)))
        .values(batch_id=batch.id).execution_options(synchronize_session=False)).rowcount
    if not taken:
        raise BatchRefused("No test this week is waiting to be submitted." if scope == "week"
                           else "No report is waiting to be submitted.")
    audit.record(session, "submission_batch.created", entity_type="submission_batch", entity_id=batch.id,
                 changes={"district": district.name, "scope": scope, "reports": taken})
    return batch, taken


def get_batch(session: so.Session, batch_id: uuid.UUID, *, for_change: bool = False) -> SubmissionBatch | None:
    query = sa.select(SubmissionBatch).where(SubmissionBatch.id == batch_id)
    if for_change:
        lock_for_change(session, query)
        query = query.execution_options(populate_existing=True)
    return session.scalar(query)


def batch_rows(batch_id: uuid.UUID) -> sa.Select:
    """The batch's tests with their devices and places, oldest test first (the same order every time)."""
    return (sa.select(TestRecord, Device, CustomerLocation)
            .select_from(ReportSubmission)
            .join(TestRecord, TestRecord.id == ReportSubmission.test_record_id)
            .join(Device, Device.id == TestRecord.device_id)
            .join(CustomerLocation, CustomerLocation.id == Device.location_id)
            .where(ReportSubmission.batch_id == batch_id)
            .order_by(TestRecord.tested_at, TestRecord.id)
            # What a district's fields read of a test (`batch_fields`); its checks, steps and flags, JSON no field
            # reads, would cost a third of the file's time to decode.
            .options(so.load_only(TestRecord.tested_at, TestRecord.test_type, TestRecord.result,
                                  TestRecord.initial_result, TestRecord.line_pressure_psi, TestRecord.shutoff1_tight,
                                  TestRecord.readings, TestRecord.retest_readings, TestRecord.repairs,
                                  TestRecord.notes, TestRecord.facts)))


def download_name(district: District, batch: SubmissionBatch, zone: dt.tzinfo) -> str:
    name = "".join(c if c.isalnum() else "-" for c in district.name.lower()).strip("-")[:60]
    return f"{name}-batch-{batch.created_at.astimezone(zone):%Y-%m-%d-%H%M}.csv"


def record_download(session: so.Session, batch: SubmissionBatch) -> None:
    audit.record(session, "submission_batch.downloaded", entity_type="submission_batch", entity_id=batch.id)


def csv_of_batch(session: so.Session, batch: SubmissionBatch) -> Iterator[str]:
    """The batch file in the district's layout, a chunk of text at a time, read from a server-side cursor (the
    district's columns, the company and the time zone read once, before the first row)."""
    district = session.get(District, batch.district_id)
    columns, company, zone = columns_of(district), _company(session), companies.company_timezone(session)

    def rows():
        for record, device, location in session.execute(batch_rows(batch.id).execution_options(yield_per=CHUNK)):
            yield values(Filing(record, device, location, district, company, zone), columns)

    return csv_chunks([column.header for column in columns], rows(), chunk=CHUNK)


def mark_batch_submitted(session: so.Session, batch: SubmissionBatch, *, by: uuid.UUID,
                         confirmation_number: str | None) -> int:
    """The office uploaded the batch's file: each of its reports still waiting is marked submitted with the
    district's confirmation number (a report filed on its own meanwhile keeps its own). How many were marked."""
    if batch.submitted_at is not None:
        raise BatchRefused("This batch was marked submitted already.")
    ids = list(session.scalars(sa.select(ReportSubmission.id).where(
        ReportSubmission.batch_id == batch.id, ReportSubmission.status == SubmissionStatus.to_submit.value)
        .order_by(ReportSubmission.created_at, ReportSubmission.id)))
    for start in range(0, len(ids), CHUNK):
        chunk = session.scalars(sa.select(ReportSubmission).where(ReportSubmission.id.in_(ids[start:start + CHUNK]))
                                .with_for_update().execution_options(populate_existing=True)).all()
        # The chunk's changes go in one flush at its end, rather than one before each of their audit entries.
        with session.no_autoflush:
            for submission in chunk:
                services.mark_submitted(session, submission, by=by, confirmation_number=confirmation_number)
        session.flush()
        for submission in chunk:  # done with: keep the session's memory to one chunk
            session.expunge(submission)
    batch.submitted_at, batch.submitted_by, batch.confirmation_number = utcnow(), by, confirmation_number
    audit.record(session, "submission_batch.submitted", entity_type="submission_batch", entity_id=batch.id,
                 changes={"confirmation_number": confirmation_number, "reports": len(ids)})
    return len(ids)


# --- the district page's part ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchLine:
    batch: SubmissionBatch
    reports: int
    made_by: str | None
    submitted_by: str | None


@dataclass(frozen=True)
class PortalFiling:
    """What the district page offers for filing on the district's portal."""

    columns: list[Column]
    preset: str | None  # the preset the columns are, unchanged
    to_submit: int  # waiting to be submitted and in no batch yet
    this_week: int  # of those, tested this week
    first_id: uuid.UUID | None  # the sheet to start filing one by one with
    open_batches: list[BatchLine]
    submitted_batches: list[BatchLine]  # the latest few


def _batches(session: so.Session, district_id: uuid.UUID, *, submitted: bool, limit: int) -> list[BatchLine]:
    maker, sender = so.aliased(Profile), so.aliased(Profile)
    reports = (sa.select(sa.func.count()).where(ReportSubmission.batch_id == SubmissionBatch.id)
               .correlate(SubmissionBatch).scalar_subquery())
    rows = session.execute(
        sa.select(SubmissionBatch, reports, maker.full_name, sender.full_name)
        .outerjoin(maker, maker.user_id == SubmissionBatch.created_by)
        .outerjoin(sender, sender.user_id == SubmissionBatch.submitted_by)
        .where(SubmissionBatch.district_id == district_id,
               SubmissionBatch.submitted_at.is_not(None) if submitted else SubmissionBatch.submitted_at.is_(None))
        .order_by((SubmissionBatch.submitted_at if submitted else SubmissionBatch.created_at).desc())
        .limit(limit))
    return [BatchLine(*row) for row in rows]


def portal_filing(session: so.Session, district: District, today: dt.date) -> PortalFiling:
    monday = dt.datetime.combine(week_start(today), dt.time(), companies.company_timezone(session))
    unbatched = ReportSubmission.batch_id.is_(None)
    to_submit, this_week = session.execute(
        sa.select(sa.func.count().filter(unbatched), sa.func.count().filter(unbatched, TestRecord.tested_at >= monday))
        .select_from(ReportSubmission).join(TestRecord, TestRecord.id == ReportSubmission.test_record_id)
        .where(ReportSubmission.district_id == district.id,
               ReportSubmission.status == SubmissionStatus.to_submit.value)).one()
    columns = columns_of(district)
    return PortalFiling(columns, preset_named(columns), to_submit, this_week, next_to_submit(session, district.id),
                        _batches(session, district.id, submitted=False, limit=20),
                        _batches(session, district.id, submitted=True, limit=5))
