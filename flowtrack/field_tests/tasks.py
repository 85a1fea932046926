"""Field test jobs run by the RQ worker: the report printed, a vendor's test settled, a voice note transcribed."""
from __future__ import annotations

import logging
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.companies.jobs import company_session
from flowtrack.companies.services import company_timezone
from flowtrack.core import signals
from flowtrack.core.queue import retried_after_failure
from flowtrack.core.signatures import data_uri as signature_data_uri
from flowtrack.core.storage import FileStorage, file_storage
from flowtrack.field_tests import report, voice_notes
from flowtrack.field_tests.services import person_name, settle_on_work_order
from flowtrack.models.companies import Company
from flowtrack.models.field_help import ReadingStatus, VoiceNote
from flowtrack.models.field_tests import ReportStatus, TestRecord
from flowtrack.models.scheduling import WorkOrderDevice

log = logging.getLogger("flowtrack.field_tests")


def render_test_report(company_id: str, test_id: str) -> dict:
    """Fill the device's district form (or ours) from the record and print it; the page polls the status."""
    with company_session(uuid.UUID(company_id), actor_label="test report job") as session:
        record = session.get(TestRecord, uuid.UUID(test_id))
        if record is None or record.report_status == ReportStatus.done.value:
            return {"status": record.report_status if record else "missing"}
        record.report_status = ReportStatus.running.value
        session.commit()
        print_report(session, record, storage=file_storage())
        return {"status": record.report_status}


def settle_vendor_test(company_id: str, test_id: str) -> dict:
    """A vendor's test on its work order, as the company: the repairs priced, the customer told of a failure. Run
    again after a failure, it finds the test settled and does nothing twice."""
    with company_session(uuid.UUID(company_id), actor_label="vendor test job", writes=True) as session:
        record = session.get(TestRecord, uuid.UUID(test_id))
        if record is None:
            return {"status": "missing"}
        if session.scalar(sa.select(WorkOrderDevice.id).where(WorkOrderDevice.test_record_id == record.id)):
            return {"status": "settled before"}
        settle_on_work_order(session, record, record.tested_at.astimezone(company_timezone(session)).date())
        session.commit()
        return {"status": "settled"}


def print_report(session: so.Session, record: TestRecord, *, storage: FileStorage) -> None:
    """Print a record's report into the file store and commit; its filing with the water district starts in the
    same transaction (`report_printed`: so a report is never done without its submission, or its mail to a district
    that takes reports by email). A failure marks the report waiting again when the job will be run again, and
    failed when not."""
    record_id = record.id  # for the failure below: the failed session cannot load the record's attributes
    district = report.district_of(session, record)
    company = session.get(Company, record.company_id)
    context = report.report_context(
        record, company,
        signatures={signer: signature_data_uri(storage, getattr(record, f"{signer}_signature_key"))
                    for signer in ("technician", "customer")},
        amended_by=person_name(session, record.amended_by_id))
    try:
        try:
            html = report.render_form(district.report_template if district else None, context)
        except report.FormTemplateError:
            # A district form broken after the test was taken must not cost the technician the report.
            log.warning("district form for test %s cannot be rendered; using the standard form", record.id)
            html = report.render_form(None, context)
        record.report_sha256 = report.store_pdf(html, storage, record)
        record.report_status = ReportStatus.done.value
        signals.report_printed.send(session, record=record)
    except Exception:
        log.exception("test report %s failed", record_id)
        session.rollback()
        session.execute(sa.update(TestRecord).where(TestRecord.id == record_id)
                        .values(report_status=(ReportStatus.queued if retried_after_failure()
                                               else ReportStatus.failed).value))
        session.commit()
        raise
    session.commit()


def transcribe_voice_note(company_id: str, note_id: str) -> dict:
    """Transcribe a voice note into its proposed remarks; the test's page polls the progress. A note already
    transcribed is left as it is, so the job may run twice."""
    with company_session(uuid.UUID(company_id), actor_label="voice note job", writes=True) as session:
        note = session.get(VoiceNote, uuid.UUID(note_id))
        if note is None or note.transcript_status == ReadingStatus.done.value:
            return {"status": note.transcript_status if note else "missing"}
        try:
            voice_notes.transcribe_note(session, file_storage(), note)
        except Exception:
            log.exception("voice note %s could not be transcribed", note_id)
            session.rollback()
            session.execute(sa.update(VoiceNote).where(VoiceNote.id == uuid.UUID(note_id)).values(
                transcript_status=(ReadingStatus.queued if retried_after_failure() else ReadingStatus.failed).value,
                transcript_progress=0))
            session.commit()
            raise
        return {"status": note.transcript_status, "words": len((note.transcript or "").split())}
