"""Test report jobs run by the RQ worker."""
from __future__ import annotations

import logging
import uuid
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from flowtrack.models.companies import Company
from flowtrack.models.customers import CustomerLocation, Device, District
from flowtrack.models.testing import ReportStatus, TestRecord
from flowtrack.queue import company_session
from flowtrack.storage import file_storage
from flowtrack.testing import report, signatures
from flowtrack.testing.services import person_name

log = logging.getLogger("flowtrack.testing")


def storage_dir() -> Path:
    return current_app.extensions["flowtrack.settings"].instance_path / "reports"


def render_test_report(company_id: str, test_id: str) -> dict:
    """Fill the device's district form (or ours) from the record and print it; the page polls the status."""
    with company_session(uuid.UUID(company_id), actor_label="test report job") as session:
        record = session.get(TestRecord, uuid.UUID(test_id))
        if record is None or record.report_status == ReportStatus.done.value:
            return {"status": record.report_status if record else "missing"}
        record.report_status = ReportStatus.running.value
        session.commit()
        form = session.scalar(sa.select(District.report_template)
                              .join(CustomerLocation, CustomerLocation.district_id == District.id)
                              .join(Device, Device.location_id == CustomerLocation.id)
                              .where(Device.id == record.device_id))
        storage = file_storage()
        context = report.report_context(
            record, session.get(Company, record.company_id),
            signatures={signer: signatures.data_uri(storage, getattr(record, f"{signer}_signature_key"))
                        for signer in ("technician", "customer")},
            amended_by=person_name(session, record.amended_by_id))
        try:
            try:
                html = report.render_form(form, context)
            except report.FormTemplateError:
                # A district form broken after the test was taken must not cost the technician the report.
                log.warning("district form for test %s cannot be rendered; using the standard form", test_id)
                html = report.render_form(None, context)
            record.report_sha256 = report.write_pdf(html, report.report_path(storage_dir(), record))
            record.report_status = ReportStatus.done.value
        except Exception:
            log.exception("test report %s failed", test_id)
            session.rollback()
            session.execute(sa.update(TestRecord).where(TestRecord.id == record.id)
                            .values(report_status=ReportStatus.failed.value))
            session.commit()
            raise
        session.commit()
        return {"status": record.report_status}
