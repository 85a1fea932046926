"""Test reports filed with water districts (migration 0043; flowtrack/submissions/).

Each current test report of a device in a district has one `ReportSubmission`: held back (with the reasons), to
submit, submitted (how, when, by whom, the fee, the district's confirmation number, in which batch), then accepted
or rejected by the district. An amendment of a rejected test is a new test record, whose submission names the one
it resubmits. A district's own list of the assemblies it knows (`DistrictAssembly`) is what our devices are
matched against before a report is sent.
"""
from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import JSONB

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow
from flowtrack.models.customers import District, SubmissionMethod, _check_in
from flowtrack.models.field_tests import TestRecord


class SubmissionStatus(str, enum.Enum):
    held = "held"  # a check before sending failed; the reasons say which
    to_submit = "to_submit"
    submitted = "submitted"
    accepted = "accepted"
    rejected = "rejected"

    @property
    def label(self) -> str:
        return {"held": "Held back", "to_submit": "To submit", "submitted": "Submitted", "accepted": "Accepted",
                "rejected": "Rejected"}[self.value]


class SubmissionBatch(TenantScoped, Base):
    """The reports of one district filed together, as one batch file on the district's portal."""

    __tablename__ = "submission_batches"

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    district_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("districts.id"), index=True)
    created_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                              index=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    submitted_at: so.Mapped[dt.datetime | None]
    submitted_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                                index=True)
    confirmation_number: so.Mapped[str | None] = so.mapped_column(sa.String(100))


class ReportSubmission(TenantScoped, Base):
    __tablename__ = "report_submissions"
    __table_args__ = (
        sa.UniqueConstraint("test_record_id", name="report_submissions_test_key"),
        _check_in("status", SubmissionStatus, "report_submissions_status_check"),
        _check_in("method", SubmissionMethod, "report_submissions_method_check"),
        sa.CheckConstraint("fee_cents >= 0", name="report_submissions_fee_check"),
        sa.CheckConstraint("status <> 'rejected' OR decision_reason IS NOT NULL",
                           name="report_submissions_rejected_check"),
        sa.Index("report_submissions_district_status_idx", "company_id", "district_id", "status", "due_on"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    test_record_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("test_records.id"))
    district_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("districts.id"), index=True)
    status: so.Mapped[str] = so.mapped_column(sa.String(12))
    method: so.Mapped[str] = so.mapped_column(sa.String(16))  # the district's, when it was last submitted or held
    due_on: so.Mapped[dt.date | None]  # the district's deadline, in the company's time zone
    held_reasons: so.Mapped[list] = so.mapped_column(JSONB, default=list)
    fee_cents: so.Mapped[int] = so.mapped_column(default=0)
    submitted_at: so.Mapped[dt.datetime | None]
    submitted_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                                index=True)
    confirmation_number: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    batch_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("submission_batches.id"), index=True)
    decided_at: so.Mapped[dt.datetime | None]
    decided_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                              index=True)
    decision_reason: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    auto_accepted: so.Mapped[bool] = so.mapped_column(default=False)
    resubmission_of: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("report_submissions.id"),
                                                                   index=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    test_record: so.Mapped[TestRecord] = so.relationship()
    district: so.Mapped[District] = so.relationship()

    @property
    def status_label(self) -> str:
        return SubmissionStatus(self.status).label

    @property
    def method_label(self) -> str:
        return SubmissionMethod(self.method).label


class DistrictAssembly(TenantScoped, Base):
    """One assembly on a district's own list, as the district wrote it, with the keys it is matched on."""

    __tablename__ = "district_assemblies"
    __table_args__ = (sa.Index("district_assemblies_serial_idx", "company_id", "district_id", "serial_key"),)

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    district_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("districts.id"), index=True)
    serial: so.Mapped[str] = so.mapped_column(sa.String(64))
    serial_key: so.Mapped[str] = so.mapped_column(sa.String(64))
    address: so.Mapped[str] = so.mapped_column(sa.String(300))
    address_key: so.Mapped[str] = so.mapped_column(sa.String(700))
    water_account_number: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    meter_number: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    imported_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
