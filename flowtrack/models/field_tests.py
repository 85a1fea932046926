"""Field tests of backflow assemblies: what a technician measured, what the rules judged, and the report."""
from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import JSONB

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow
from flowtrack.models.customers import Device, Gauge, _check_in


class TestType(str, enum.Enum):
    installation = "installation"
    annual = "annual"
    repair_retest = "repair_retest"
    replacement = "replacement"
    removed_capped = "removed_capped"

    @property
    def label(self) -> str:
        return {"installation": "Initial installation", "annual": "Annual test",
                "repair_retest": "Repair and retest", "replacement": "Replacement",
                "removed_capped": "Removed and capped"}[self.value]


class TestResult(str, enum.Enum):
    passed = "pass"
    failed = "fail"
    removed = "removed"  # removed and capped: nothing left to test

    @property
    def label(self) -> str:
        return {TestResult.passed: "Passed", TestResult.failed: "Failed",
                TestResult.removed: "Removed and capped"}[self]


class ReportStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


# The parts a repair touches, as district forms list them.
REPAIR_PARTS = ("disc", "spring", "guide", "seat", "diaphragm", "module", "o-ring", "poppet")
REPAIR_ACTIONS = ("cleaned", "replaced")


class TestRecord(TenantScoped, Base):
    """One submitted field test of one device. Locked once submitted: a correction is a new record that
    names the one it amends, and the original stays as it was."""

    __tablename__ = "test_records"
    __table_args__ = (
        sa.Index("test_records_device_idx", "company_id", "device_id", "tested_at"),
        sa.Index("test_records_technician_idx", "company_id", "technician_id", "tested_at"),
        sa.Index("test_records_tested_idx", "company_id", "tested_at", "id"),
        sa.Index("test_records_client_idx", "company_id", "client_id", unique=True,
                 postgresql_where=sa.text("client_id IS NOT NULL")),
        _check_in("test_type", TestType, "test_records_type_check"),
        _check_in("result", TestResult, "test_records_result_check"),
        _check_in("report_status", ReportStatus, "test_records_report_status_check"),
        sa.CheckConstraint("line_pressure_psi BETWEEN 0 AND 400", name="test_records_line_pressure_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    device_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("devices.id"))
    technician_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("users.id"))
    gauge_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("gauges.id"))
    amends_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("test_records.id"))
    test_type: so.Mapped[str] = so.mapped_column(sa.String(16))
    tested_at: so.Mapped[dt.datetime]
    line_pressure_psi: so.Mapped[int | None] = so.mapped_column(sa.SmallInteger)
    shutoff1_tight: so.Mapped[bool | None]
    # Readings as the rules module names them (flowtrack/field_tests/rules.py), numbers kept as typed strings.
    readings: so.Mapped[dict] = so.mapped_column(JSONB, default=dict)
    initial_result: so.Mapped[str | None] = so.mapped_column(sa.String(8))
    repairs: so.Mapped[list] = so.mapped_column(JSONB, default=list)
    retest_readings: so.Mapped[dict | None] = so.mapped_column(JSONB)
    # The final result: the retest's when there was one.
    result: so.Mapped[str] = so.mapped_column(sa.String(8))
    checks: so.Mapped[list] = so.mapped_column(JSONB, default=list)
    # What the report must show as it was on the day: tester and certification, the kit and its calibration.
    facts: so.Mapped[dict] = so.mapped_column(JSONB, default=dict)
    notes: so.Mapped[str | None] = so.mapped_column(sa.String(2000))
    report_status: so.Mapped[str] = so.mapped_column(sa.String(8), default=ReportStatus.queued.value)
    report_sha256: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    submitted_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    # Signatures drawn on the phone, as PNG files in the storage backend (flowtrack/core/storage.py).
    technician_signature_key: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    customer_signature_key: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    customer_signer_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    # An amendment names the record it corrects (amends_id), who made it and why; the original stays as it was.
    amended_by_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id"))
    # Sent from the phone's outbox (migration 0027): the phone's id for it, the phone's clock at each step, how
    # far that clock was from the server's, where the phone was, and what the office should look at.
    client_id: so.Mapped[uuid.UUID | None]
    steps: so.Mapped[dict | None] = so.mapped_column(JSONB)
    clock_skew_seconds: so.Mapped[int | None]
    latitude: so.Mapped[float | None]
    longitude: so.Mapped[float | None]
    position_accuracy_m: so.Mapped[float | None] = so.mapped_column(sa.REAL)
    flags: so.Mapped[list] = so.mapped_column(JSONB, default=list)
    amendment_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))

    device: so.Mapped[Device] = so.relationship()
    gauge: so.Mapped[Gauge | None] = so.relationship()
    photos: so.Mapped[list["DevicePhoto"]] = so.relationship(order_by="DevicePhoto.created_at",
                                                             viewonly=True)


class DevicePhoto(TenantScoped, Base):
    """A photo of a device, taken on a phone or uploaded in the office; attached to a test when the test
    that it was taken for is submitted. The file and its thumbnail are in the storage backend."""

    __tablename__ = "device_photos"
    __table_args__ = (
        sa.Index("device_photos_device_idx", "company_id", "device_id", "created_at"),
        sa.Index("device_photos_test_idx", "company_id", "test_record_id"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    device_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("devices.id"))
    test_record_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("test_records.id"))
    uploaded_by: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("users.id"))
    caption: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    width: so.Mapped[int]
    height: so.Mapped[int]
    byte_size: so.Mapped[int]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    @property
    def key(self) -> str:
        return f"{self.company_id}/photos/{self.id}.jpg"

    @property
    def thumbnail_key(self) -> str:
        return f"{self.company_id}/photos/{self.id}.thumb.jpg"


def current_tests() -> sa.Select:
    """Test records as they stand: an amended record gives way to its amendment (the original is kept, and
    reached from the amendment)."""
    newer = so.aliased(TestRecord)
    return sa.select(TestRecord).where(~sa.exists().where(newer.amends_id == TestRecord.id))


def visible_tests(technician_user_id: uuid.UUID | None, *, current_only: bool = False) -> sa.Select:
    """Test records a person may see: a technician only their own (None: everyone's, for the office)."""
    statement = current_tests() if current_only else sa.select(TestRecord)
    if technician_user_id is not None:
        statement = statement.where(TestRecord.technician_id == technician_user_id)
    return statement
