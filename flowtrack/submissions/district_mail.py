"""Test reports emailed to the water district, for districts that take them that way (`SubmissionMethod.email`).

The printed report is in the file store before the message is queued (a failed insert leaves an unused file, never
a message without its attachment) and the outbox row names its key; the outbox delivers it like any other mail,
after commit.
"""
from __future__ import annotations

import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.companies import services as companies
from flowtrack.core.storage import FileStorage
from flowtrack.field_tests import report
from flowtrack.models.customers import District, SubmissionMethod
from flowtrack.models.field_tests import ReportStatus, TestRecord, TestResult
from flowtrack.models.notifications import NotificationEmail
from flowtrack.notifications import services as notifications


class ReportNotSent(Exception):
    """Why a report cannot be emailed to the district now (shown to the office)."""


def wants_reports(district: District | None) -> bool:
    return district is not None and district.submission_method == SubmissionMethod.email.value \
        and bool(district.report_email)


# The attachment is the printed report itself.
report_key = report.report_key


def email_report(session: so.Session, record: TestRecord, district: District, company_name: str, *,
                 again: bool = False) -> NotificationEmail:
    """Queue the printed report (already in the file store) for the district, as an attachment, and audit it."""
    facts = record.facts
    device, result = facts["device"], TestResult(record.result).label.upper()
    subject = f"Backflow test report: {device['type']} {device['serial']}, {result} ({facts['location']})"
    attachment = notifications.Attachment(
        report_key(record), report.download_name(record, companies.company_timezone(session)), "application/pdf")
    email = notifications.send_email(session, district.report_email, subject,
                                     _body(record, district, company_name, result), attachment=attachment)
    changes = {"to": email.to_address, "email_id": str(email.id), "status": email.status, "district": district.name}
    audit.record(session, "test_report.emailed", entity_type="test_record", entity_id=record.id,
                 changes={**changes, "again": True} if again else changes)
    return email


def email_report_again(session: so.Session, record: TestRecord, company_name: str,
                       storage: FileStorage) -> NotificationEmail:
    """Send a printed report to the district once more (it was lost, or the district's address changed)."""
    district = report.district_of(session, record)
    if not wants_reports(district):
        raise ReportNotSent("This device's district does not take reports by email.")
    if record.report_status != ReportStatus.done.value or not storage.exists(report_key(record)):
        raise ReportNotSent("The report is not printed yet.")
    if record.amended_by_id is not None:
        raise ReportNotSent("This test was amended; send the amended report instead.")
    return email_report(session, record, district, company_name, again=True)


def _body(record: TestRecord, district: District, company_name: str, result: str) -> str:
    facts = record.facts
    device = facts["device"]
    lines = [
        f"{company_name} sends {district.name} the report of a backflow prevention assembly test.",
        "",
        f"Assembly: {device['type']} {device['manufacturer']} {device.get('model') or ''}".rstrip()
        + f", serial {device['serial']}",
        f"Location: {facts['location']} ({facts['customer']})",
        f"Tester: {facts['tester']}, certification {facts['certification_number']}",
        f"Result: {result}",
    ]
    if record.amends_id is not None:
        lines.append(f"This report amends an earlier one: {record.amendment_reason}")
    lines += ["", "The signed report is attached as a PDF."]
    return "\n".join(lines)
