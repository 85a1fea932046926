"""The office's records: water districts, customers, their service locations, devices and test kits."""
from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import JSONB

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow


class DeviceType(str, enum.Enum):
    RP = "RP"
    RPDA = "RPDA"
    DC = "DC"
    DCDA = "DCDA"
    PVB = "PVB"
    SVB = "SVB"
    AVB = "AVB"

    @property
    def label(self) -> str:
        return {
            "RP": "Reduced pressure (RP)",
            "RPDA": "Reduced pressure detector (RPDA)",
            "DC": "Double check (DC)",
            "DCDA": "Double check detector (DCDA)",
            "PVB": "Pressure vacuum breaker (PVB)",
            "SVB": "Spill-resistant vacuum breaker (SVB)",
            "AVB": "Atmospheric vacuum breaker (AVB)",
        }[self.value]


class DeviceStatus(str, enum.Enum):
    active = "active"
    removed = "removed"
    replaced = "replaced"


class Hazard(str, enum.Enum):
    health = "health"
    non_health = "non_health"

    @property
    def label(self) -> str:
        return {"health": "Health hazard (high)", "non_health": "Non-health hazard (low)"}[self.value]


class DueAnchor(str, enum.Enum):
    """What a district counts the next test from."""

    last_test = "last_test"      # the anniversary of the last passing test
    fixed_date = "fixed_date"    # a fixed day of the year, the same for every device in the district


def _check_in(column: str, values: type[enum.Enum], name: str) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=name)


class SubmissionMethod(str, enum.Enum):
    """How a water district takes test reports."""

    district_view = "district_view"
    email = "email"
    district_portal = "district_portal"
    paper = "paper"

    @property
    def label(self) -> str:
        """As it reads within a sentence ("Filed in FlowTrack's district view")."""
        return {"district_view": "in FlowTrack's district view", "email": "by email",
                "district_portal": "on the district's own portal", "paper": "on paper"}[self.value]


class CrossConnection(str, enum.Enum):
    """What an assembly protects, as district forms ask it."""

    containment = "containment"
    isolation = "isolation"
    fire_line = "fire_line"
    irrigation = "irrigation"

    @property
    def label(self) -> str:
        return {"containment": "Containment (service protection)", "isolation": "Isolation (internal)",
                "fire_line": "Fire line", "irrigation": "Irrigation"}[self.value]


# What a district may require each test report to carry, by name (checked in flowtrack/submissions/checks.py).
REQUIRABLE_LABELS = {
    "water_account_number": "Water account number", "meter_number": "Meter number", "hazard": "Hazard",
    "cross_connection": "Cross-connection type", "line_pressure": "Line pressure", "where_installed": "Where it is",
    "model": "Model", "size": "Size",
}


class District(TenantScoped, Base):
    """A water district (purveyor): where test reports go, and when its devices fall due."""

    __tablename__ = "districts"
    __table_args__ = (
        sa.Index("districts_company_name_key", "company_id", sa.text("lower(name)"), unique=True),
        _check_in("due_anchor", DueAnchor, "districts_due_anchor_check"),
        sa.CheckConstraint("test_interval_months BETWEEN 1 AND 120", name="districts_interval_check"),
        sa.CheckConstraint("early_window_days BETWEEN 0 AND 365", name="districts_early_window_check"),
        sa.CheckConstraint("due_anchor <> 'fixed_date' OR (fixed_due_month IS NOT NULL AND fixed_due_day IS NOT NULL)",
                           name="districts_fixed_date_check"),
        _check_in("submission_method", SubmissionMethod, "districts_submission_method_check"),
        sa.CheckConstraint("deadline_days BETWEEN 0 AND 365", name="districts_deadline_check"),
        sa.CheckConstraint("fee_cents BETWEEN 0 AND 100000", name="districts_fee_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    contact_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    contact_phone: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    report_email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    test_interval_months: so.Mapped[int] = so.mapped_column(default=12)
    due_anchor: so.Mapped[str] = so.mapped_column(sa.String(16), default=DueAnchor.last_test.value)
    fixed_due_month: so.Mapped[int | None] = so.mapped_column(sa.SmallInteger)
    fixed_due_day: so.Mapped[int | None] = so.mapped_column(sa.SmallInteger)
    early_window_days: so.Mapped[int] = so.mapped_column(default=0)
    due_end_of_month: so.Mapped[bool] = so.mapped_column(default=False)
    # The district's own report form (a sandboxed Jinja template; flowtrack/field_tests/report.py renders it).
    report_template: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # Pass/fail thresholds where the district's rules differ (names from flowtrack/field_tests/rules.py).
    threshold_overrides: so.Mapped[dict] = so.mapped_column(JSONB, default=dict)
    # The district's form has a line for the customer's signature: a test cannot be submitted without it.
    requires_customer_signature: so.Mapped[bool] = so.mapped_column(default=False)
    # How the district takes test reports (migration 0043; flowtrack/submissions/): by email to `report_email` as
    # each is printed, in our district view, through its own portal (`portal_url`), or on paper.
    submission_method: so.Mapped[str] = so.mapped_column(sa.String(16), default=SubmissionMethod.paper.value)
    deadline_days: so.Mapped[int | None] = so.mapped_column(sa.SmallInteger)  # after the test, if it sets one
    fee_cents: so.Mapped[int] = so.mapped_column(default=0)  # the district's fee per test report
    fee_passed_on: so.Mapped[bool] = so.mapped_column(default=False)  # billed on to the customer, on the work order
    # What a report must carry for this district (names from flowtrack/submissions/checks.py REQUIRABLE).
    required_fields: so.Mapped[list] = so.mapped_column(JSONB, default=list)
    wants_failed: so.Mapped[bool] = so.mapped_column(default=True)
    portal_url: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    # In the district view, reports that pass the district's automatic checks are accepted without a person.
    auto_accept: so.Mapped[bool] = so.mapped_column(default=False)
    # The batch file's columns for the district's portal: [{"header": ..., "field": ...}]; None: the default.
    csv_columns: so.Mapped[list | None] = so.mapped_column(JSONB)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    @property
    def submission_label(self) -> str:
        return SubmissionMethod(self.submission_method).label


class Customer(TenantScoped, Base):
    """Who the company tests for and bills."""

    __tablename__ = "customers"
    __table_args__ = (
        sa.Index("customers_company_name_idx", "company_id", "name_key", "id"),
        sa.Index("customers_company_created_idx", "company_id", "created_at", "id"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    # What the list sorts, pages and prefix-searches on. A plain column, not an expression index on lower(name):
    # under row-level security PostgreSQL uses an index condition only if its functions are leakproof, and
    # lower() is not. Byte order ("C") lets one btree serve both ORDER BY and a prefix range.
    name_key: so.Mapped[str] = so.mapped_column(sa.Text(collation="C"), sa.Computed("lower(name)", persisted=True))
    billing_address: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    email: so.Mapped[str | None] = so.mapped_column(sa.String(254))
    phone: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    notes: so.Mapped[str | None] = so.mapped_column(sa.String(2000))
    archived_at: so.Mapped[dt.datetime | None]
    # Set from the link in a reminder: the customer asked for no more test-due reminders.
    reminders_opted_out_at: so.Mapped[dt.datetime | None]
    # Text-message reminders: only with the customer's recorded agreement, and never after they replied STOP.
    sms_consent: so.Mapped[bool] = so.mapped_column(default=False)
    sms_opted_out_at: so.Mapped[dt.datetime | None]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    locations: so.Mapped[list[CustomerLocation]] = so.relationship(
        back_populates="customer", order_by="CustomerLocation.address_line1")


class CustomerLocation(TenantScoped, Base):
    """A service address of a customer, in a water district."""

    __tablename__ = "customer_locations"
    __table_args__ = (
        # The same place is entered once per company, whatever its spelling ("Street" or "St").
        sa.UniqueConstraint("company_id", "address_key", name="customer_locations_company_address_key"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    customer_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("customers.id"), index=True)
    district_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("districts.id"), index=True)
    address_line1: so.Mapped[str] = so.mapped_column(sa.String(200))
    address_line2: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    city: so.Mapped[str] = so.mapped_column(sa.String(100))
    state: so.Mapped[str] = so.mapped_column(sa.String(2))
    postal_code: so.Mapped[str] = so.mapped_column(sa.String(10))
    address_key: so.Mapped[str] = so.mapped_column(sa.String(700))
    water_account_number: so.Mapped[str | None] = so.mapped_column(sa.String(40))  # the district's, for its forms
    site_contact_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    site_contact_phone: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    access_notes: so.Mapped[str | None] = so.mapped_column(sa.String(2000))
    # Where the assemblies are, from the location's first test with a good position or set by the office
    # (`coordinates_source`: 'tests' or 'office'); a test recorded far from here is flagged.
    latitude: so.Mapped[float | None]
    longitude: so.Mapped[float | None]
    coordinates_source: so.Mapped[str | None] = so.mapped_column(sa.String(8))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    customer: so.Mapped[Customer] = so.relationship(back_populates="locations")
    district: so.Mapped[District | None] = so.relationship()
    devices: so.Mapped[list[Device]] = so.relationship(back_populates="location", order_by="Device.serial")

    @property
    def one_line(self) -> str:
        street = ", ".join(part for part in (self.address_line1, self.address_line2) if part)
        return f"{street}, {self.city}, {self.state} {self.postal_code}"


class Device(TenantScoped, Base):
    """A backflow prevention assembly at a service location."""

    __tablename__ = "devices"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "serial", name="devices_company_serial_key"),
        sa.Index("devices_company_next_due_idx", "company_id", "next_test_due", "id"),
        sa.Index("devices_company_status_due_idx", "company_id", "status", "next_test_due", "id"),
        _check_in("device_type", DeviceType, "devices_type_check"),
        _check_in("status", DeviceStatus, "devices_status_check"),
        _check_in("hazard", Hazard, "devices_hazard_check"),
        _check_in("cross_connection", CrossConnection, "devices_cross_connection_check"),
        sa.CheckConstraint("(status = 'replaced') = (replaced_by_device_id IS NOT NULL)",
                           name="devices_replaced_by_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    location_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("customer_locations.id"), index=True)
    device_type: so.Mapped[str] = so.mapped_column(sa.String(8))
    manufacturer: so.Mapped[str] = so.mapped_column(sa.String(100))
    model: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    # Upper case and single-spaced (flowtrack.devices.services.normal_serial); byte order for the list's ranges.
    serial: so.Mapped[str] = so.mapped_column(sa.String(64, collation="C"))
    size: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    where_installed: so.Mapped[str | None] = so.mapped_column(sa.String(200))
    hazard: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    meter_number: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    cross_connection: so.Mapped[str | None] = so.mapped_column(sa.String(16))
    install_date: so.Mapped[dt.date | None]
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default=DeviceStatus.active.value)
    replaced_by_device_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("devices.id"))
    last_test_on: so.Mapped[dt.date | None]
    # Derived from the last passing test and the district's rule (flowtrack/devices/due_dates.py), never typed.
    next_test_due: so.Mapped[dt.date | None]
    # The day of its latest test when that test failed and no passing test came since: it needs repair.
    failed_on: so.Mapped[dt.date | None]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    location: so.Mapped[CustomerLocation] = so.relationship(back_populates="devices")
    replaced_by: so.Mapped[Device | None] = so.relationship(remote_side=[id])


class Gauge(TenantScoped, Base):
    """A test kit. A test with a kit past its calibration due date, or retired by then, is refused (device-testing
    issue); a kit that tests were recorded with is retired, never deleted."""

    __tablename__ = "gauges"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "serial", name="gauges_company_serial_key"),
        sa.CheckConstraint("calibration_due_on >= last_calibrated_on", name="gauges_calibration_order_check"),
        sa.Index("gauges_vendor_idx", "vendor_id", postgresql_where=sa.text("vendor_id IS NOT NULL")),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    make: so.Mapped[str] = so.mapped_column(sa.String(100))
    model: so.Mapped[str | None] = so.mapped_column(sa.String(100))
    serial: so.Mapped[str] = so.mapped_column(sa.String(64, collation="C"))
    last_calibrated_on: so.Mapped[dt.date]
    calibration_due_on: so.Mapped[dt.date]
    # From this day on the kit is out of service: kept on the tests recorded with it, not offered for new ones.
    retired_on: so.Mapped[dt.date | None]
    # A vendor's own kit, which only that vendor's people test with; None: the company's.
    vendor_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("vendors.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    def expired_on(self, day: dt.date) -> bool:
        return self.calibration_due_on < day

    def in_service_on(self, day: dt.date) -> bool:
        return self.retired_on is None or day < self.retired_on


class DeviceVersion(TenantScoped, Base):
    """A counter that a database trigger moves whenever a device of the company changes (migration 0022)."""

    __tablename__ = "device_versions"

    company_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    version: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=1)
