"""Work the office plans: work orders (what to do at a location) and scheduled jobs (who goes there, when)."""
from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow
from flowtrack.models.accounts import Profile
from flowtrack.models.customers import Customer, CustomerLocation, Device, _check_in


class WorkKind(str, enum.Enum):
    test = "test"
    repair = "repair"
    install = "install"

    @property
    def label(self) -> str:
        return {"test": "Testing", "repair": "Repair", "install": "Installation"}[self.value]


class WorkOrderStatus(str, enum.Enum):
    open = "open"
    scheduled = "scheduled"
    in_progress = "in_progress"
    completed = "completed"
    canceled = "canceled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()

    @property
    def closed(self) -> bool:
        return self in (WorkOrderStatus.completed, WorkOrderStatus.canceled)


class DeviceOutcome(str, enum.Enum):
    """What became of one device of a work order."""

    pending = "pending"
    tested = "tested"
    could_not_test = "could_not_test"


class NotTestedReason(str, enum.Enum):
    no_access = "no_access"
    device_removed = "device_removed"
    customer_refused = "customer_refused"

    @property
    def label(self) -> str:
        return {"no_access": "No access", "device_removed": "Device removed",
                "customer_refused": "Customer refused"}[self.value]


class WorkOrder(TenantScoped, Base):
    """Work at one service location: the devices to test (or repair, or install) and the price lines to bill."""

    __tablename__ = "work_orders"
    __table_args__ = (
        sa.Index("work_orders_company_status_idx", "company_id", "status", "created_at"),
        _check_in("kind", WorkKind, "work_orders_kind_check"),
        _check_in("status", WorkOrderStatus, "work_orders_status_check"),
        sa.Index("work_orders_vendor_idx", "vendor_id", postgresql_where=sa.text("vendor_id IS NOT NULL")),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    customer_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("customers.id"), index=True)
    location_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("customer_locations.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(16), default=WorkKind.test.value)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default=WorkOrderStatus.open.value)
    notes: so.Mapped[str | None] = so.mapped_column(sa.String(2000))
    # The outside vendor the work is subcontracted to: its people see this work order and what it needs.
    vendor_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("vendors.id"))
    created_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    closed_at: so.Mapped[dt.datetime | None]

    customer: so.Mapped[Customer] = so.relationship()
    location: so.Mapped[CustomerLocation] = so.relationship()
    devices: so.Mapped[list[WorkOrderDevice]] = so.relationship(back_populates="work_order",
                                                                order_by="WorkOrderDevice.position")
    lines: so.Mapped[list[WorkOrderLine]] = so.relationship(back_populates="work_order",
                                                            order_by="WorkOrderLine.created_at")
    job: so.Mapped[ScheduledJob | None] = so.relationship(back_populates="work_order", uselist=False)


class WorkOrderDevice(TenantScoped, Base):
    """A device to visit on a work order, and what came of it."""

    __tablename__ = "work_order_devices"
    __table_args__ = (
        sa.UniqueConstraint("work_order_id", "device_id", name="work_order_devices_device_key"),
        sa.Index("work_order_devices_device_idx", "company_id", "device_id"),
        _check_in("outcome", DeviceOutcome, "work_order_devices_outcome_check"),
        _check_in("reason", NotTestedReason, "work_order_devices_reason_check"),
        sa.CheckConstraint("(outcome = 'could_not_test') = (reason IS NOT NULL)",
                           name="work_order_devices_reason_present_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    work_order_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("work_orders.id"))
    device_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("devices.id"))
    position: so.Mapped[int] = so.mapped_column(sa.SmallInteger, default=0)
    outcome: so.Mapped[str] = so.mapped_column(sa.String(16), default=DeviceOutcome.pending.value)
    reason: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    test_record_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("test_records.id"))

    work_order: so.Mapped[WorkOrder] = so.relationship(back_populates="devices")
    device: so.Mapped[Device] = so.relationship()


class LineKind(str, enum.Enum):
    """What a work order's line bills."""

    test = "test"      # a device's test fee, from the price list
    repair = "repair"  # a repair the technician recorded, at the part's price
    trip = "trip"      # the trip charge, once per visit
    other = "other"    # anything the office adds


class WorkOrderLine(TenantScoped, Base):
    """A price line of a work order. The lines are the visit's price: the invoice copies them. Money in integer
    cents."""

    __tablename__ = "work_order_lines"
    __table_args__ = (
        sa.Index("work_order_lines_order_idx", "company_id", "work_order_id"),
        sa.Index("work_order_lines_device_idx", "device_id", postgresql_where=sa.text("device_id IS NOT NULL")),
        sa.CheckConstraint("quantity BETWEEN 1 AND 10000", name="work_order_lines_quantity_check"),
        sa.CheckConstraint("unit_price_cents BETWEEN 0 AND 100000000", name="work_order_lines_price_check"),
        _check_in("kind", LineKind, "work_order_lines_kind_check"),
        sa.CheckConstraint("(kind IN ('test', 'repair')) = (device_id IS NOT NULL)",
                           name="work_order_lines_device_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    work_order_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("work_orders.id"))
    kind: so.Mapped[str] = so.mapped_column(sa.String(8), default=LineKind.other.value)
    device_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("devices.id"))
    description: so.Mapped[str] = so.mapped_column(sa.String(200))
    quantity: so.Mapped[int] = so.mapped_column(default=1)
    unit_price_cents: so.Mapped[int]
    taxable: so.Mapped[bool] = so.mapped_column(default=True)
    # The price list had no price for it: the office sets one (or confirms no charge) before invoicing.
    # Shown to the office only, never printed for the customer.
    price_missing: so.Mapped[bool] = so.mapped_column(default=False)
    currency: so.Mapped[str] = so.mapped_column(sa.String(3), default="USD")
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    work_order: so.Mapped[WorkOrder] = so.relationship(back_populates="lines")

    @property
    def total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


# A window is booked within one local day, which lasts 25 hours when the clocks go back.
LONGEST_JOB_HOURS = 25


class ScheduledJob(TenantScoped, Base):
    """A work order booked for a technician in a time window (stored in UTC, shown in the company's zone)."""

    __tablename__ = "scheduled_jobs"
    __table_args__ = (
        sa.UniqueConstraint("work_order_id", name="scheduled_jobs_work_order_key"),
        sa.Index("scheduled_jobs_company_starts_idx", "company_id", "starts_at"),
        sa.Index("scheduled_jobs_technician_idx", "company_id", "technician_id", "starts_at"),
        sa.CheckConstraint("ends_at > starts_at", name="scheduled_jobs_window_check"),
        sa.CheckConstraint(f"ends_at <= starts_at + interval '{LONGEST_JOB_HOURS} hours'",
                           name="scheduled_jobs_length_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    work_order_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("work_orders.id"))
    technician_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("users.id"))
    starts_at: so.Mapped[dt.datetime]
    ends_at: so.Mapped[dt.datetime]
    # The order of the technician's day, which the office sets (the road, not the clock, decides it).
    route_position: so.Mapped[int] = so.mapped_column(sa.SmallInteger, default=0)
    started_at: so.Mapped[dt.datetime | None]
    completed_at: so.Mapped[dt.datetime | None]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    work_order: so.Mapped[WorkOrder] = so.relationship(back_populates="job")


class ScheduleVersion(TenantScoped, Base):
    """A counter that database triggers move whenever something the week board shows changes (migration 0021)."""

    __tablename__ = "schedule_versions"

    company_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("companies.id"), primary_key=True)
    version: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=1)


def vendor_of(user_id: uuid.UUID) -> sa.Select:
    """The vendor a person works for (NULL for the company's own people)."""
    return sa.select(Profile.vendor_id).where(Profile.user_id == user_id)


def assigned_locations(technician_user_id: uuid.UUID) -> sa.Select:
    """The service locations of the work booked for a technician, or assigned to the vendor a vendor's person works
    for: as far as their view of devices reaches."""
    return sa.union(
        sa.select(WorkOrder.location_id).join(ScheduledJob, ScheduledJob.work_order_id == WorkOrder.id)
        .where(ScheduledJob.technician_id == technician_user_id),
        sa.select(WorkOrder.location_id).where(WorkOrder.vendor_id == vendor_of(technician_user_id).scalar_subquery()))
