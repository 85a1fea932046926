"""Online booking: the windows the office opens for customers to book their test in (a day or half a day of one
technician, for so many visits), and the bookings customers make in them."""
from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow
from flowtrack.models.accounts import Profile
from flowtrack.models.customers import Customer, CustomerLocation, _check_in

MAX_CAPACITY = 20


class DayPart(str, enum.Enum):
    """Which part of the technician's working day a window is."""

    morning = "morning"      # from the start of their day to noon
    afternoon = "afternoon"  # from noon to the end of their day
    day = "day"              # the whole working day

    @property
    def label(self) -> str:
        return {"morning": "Morning", "afternoon": "Afternoon", "day": "All day"}[self.value]


class BookingStatus(str, enum.Enum):
    pending = "pending"      # waiting for the office to confirm (a company that confirms bookings)
    confirmed = "confirmed"  # on the board: a work order booked for the window's technician
    declined = "declined"    # the office said no, with a reason the customer reads

    @property
    def label(self) -> str:
        return {"pending": "Waiting for confirmation", "confirmed": "Booked", "declined": "Declined"}[self.value]


class BookingWindow(TenantScoped, Base):
    """A time the office opened for customers to book: one technician, one day or half-day, room for `capacity`
    visits, optionally only for places in an area (cities or ZIP codes)."""

    __tablename__ = "booking_windows"
    __table_args__ = (
        sa.Index("booking_windows_open_key", "company_id", "technician_id", "day", "part", unique=True,
                 postgresql_where=sa.text("closed_at IS NULL")),
        sa.Index("booking_windows_company_starts_idx", "company_id", "starts_at"),
        _check_in("part", DayPart, "booking_windows_part_check"),
        sa.CheckConstraint("ends_at > starts_at", name="booking_windows_time_check"),
        sa.CheckConstraint(f"capacity BETWEEN 1 AND {MAX_CAPACITY}", name="booking_windows_capacity_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    technician_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("users.id"), index=True)
    day: so.Mapped[dt.date]  # in the company's time zone
    part: so.Mapped[str] = so.mapped_column(sa.String(10))
    # Fixed when the window is opened, from the technician's working hours that day, in UTC.
    starts_at: so.Mapped[dt.datetime]
    ends_at: so.Mapped[dt.datetime]
    capacity: so.Mapped[int] = so.mapped_column(sa.SmallInteger, default=1)
    # Lower-case city names and ZIP codes a place must be in to book it; empty: anywhere.
    area: so.Mapped[list[str]] = so.mapped_column(ARRAY(sa.String(100)), default=list)
    opened_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                              index=True)
    opened_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    closed_at: so.Mapped[dt.datetime | None]
    closed_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                              index=True)

    technician: so.Mapped[Profile] = so.relationship(
        primaryjoin="foreign(BookingWindow.technician_id) == Profile.user_id", uselist=False, viewonly=True,
        lazy="raise")

    @property
    def part_label(self) -> str:
        return DayPart(self.part).label


class Booking(TenantScoped, Base):
    """A customer's visit booked in a window: the place and the assemblies to test there. Confirmed, it names the
    work order booked on the board for it."""

    __tablename__ = "bookings"
    __table_args__ = (
        sa.Index("bookings_window_idx", "window_id", "status"),
        sa.Index("bookings_company_status_idx", "company_id", "status", "booked_at"),
        _check_in("status", BookingStatus, "bookings_status_check"),
        sa.CheckConstraint("(status = 'confirmed') = (work_order_id IS NOT NULL)", name="bookings_work_order_check"),
        sa.CheckConstraint("(status = 'declined') = (decline_reason IS NOT NULL)",
                           name="bookings_decline_reason_check"),
        sa.CheckConstraint("cardinality(device_ids) >= 1", name="bookings_devices_check"),
        sa.Index("bookings_form_key", "company_id", "form_key", unique=True,
                 postgresql_where=sa.text("form_key IS NOT NULL")),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    window_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("booking_windows.id"))
    customer_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("customers.id"), index=True)
    location_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("customer_locations.id"), index=True)
    device_ids: so.Mapped[list[uuid.UUID]] = so.mapped_column(ARRAY(UUID(as_uuid=True)))
    status: so.Mapped[str] = so.mapped_column(sa.String(10), default=BookingStatus.pending.value)
    work_order_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("work_orders.id"), index=True)
    decline_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    booked_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                              index=True)
    booked_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    decided_at: so.Mapped[dt.datetime | None]
    decided_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                                index=True)
    # The key of the form it was sent with: the same form sent twice (a double click) is one booking.
    form_key: so.Mapped[uuid.UUID | None]

    window: so.Mapped[BookingWindow] = so.relationship(lazy="raise")
    customer: so.Mapped[Customer] = so.relationship(lazy="raise")
    location: so.Mapped[CustomerLocation] = so.relationship(lazy="raise")

    @property
    def status_label(self) -> str:
        return BookingStatus(self.status).label
