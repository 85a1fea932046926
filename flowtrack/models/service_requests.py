"""A customer's request for service at one of their places, and what the office did with it."""
from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow


class RequestKind(str, enum.Enum):
    test = "test"
    repair = "repair"
    install = "install"
    relocate = "relocate"
    remove = "remove"

    @property
    def label(self) -> str:
        return {"test": "A test that is due", "repair": "A repair", "install": "A new installation",
                "relocate": "Moving an assembly", "remove": "Removing an assembly"}[self.value]

    @property
    def work_kind(self) -> str:
        """The kind of work order it usually becomes (the office may choose another)."""
        return {"test": "test", "install": "install"}.get(self.value, "repair")


class RequestStatus(str, enum.Enum):
    open = "open"
    converted = "converted"   # a work order was made from it
    declined = "declined"

    @property
    def label(self) -> str:
        return {"open": "Waiting for the office", "converted": "Work order made",
                "declined": "Declined"}[self.value]


class ServiceRequest(TenantScoped, Base):
    """Asked from the portal by a customer's user; the office turns it into a work order or declines it."""

    __tablename__ = "service_requests"
    __table_args__ = (
        sa.Index("service_requests_company_status_idx", "company_id", "status", "created_at"),
        sa.CheckConstraint("kind IN ('test', 'repair', 'install', 'relocate', 'remove')",
                           name="service_requests_kind_check"),
        sa.CheckConstraint("status IN ('open', 'converted', 'declined')", name="service_requests_status_check"),
        sa.CheckConstraint("(status = 'declined') = (decline_reason IS NOT NULL)",
                           name="service_requests_decline_reason_check"),
        sa.CheckConstraint("(status = 'converted') = (work_order_id IS NOT NULL)",
                           name="service_requests_work_order_check"),
        sa.Index("service_requests_form_key_idx", "company_id", "form_key", unique=True,
                 postgresql_where=sa.text("form_key IS NOT NULL")),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    customer_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("customers.id"), index=True)
    location_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("customer_locations.id"), index=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(12))
    device_ids: so.Mapped[list[uuid.UUID]] = so.mapped_column(ARRAY(UUID(as_uuid=True)), default=list)
    notes: so.Mapped[str | None] = so.mapped_column(sa.String(2000))
    status: so.Mapped[str] = so.mapped_column(sa.String(12), default=RequestStatus.open.value)
    decline_reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    work_order_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("work_orders.id"), index=True)
    requested_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                                 index=True)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    # The key of the form it was sent with, once a company: the same form sent twice (a double click) is one request.
    form_key: so.Mapped[uuid.UUID | None]
    decided_at: so.Mapped[dt.datetime | None]
    decided_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                                index=True)

    customer = so.relationship("Customer", lazy="raise")
    location = so.relationship("CustomerLocation", lazy="raise")

    @property
    def kind_label(self) -> str:
        return RequestKind(self.kind).label

    @property
    def status_label(self) -> str:
        return RequestStatus(self.status).label


class ServiceRequestPhoto(TenantScoped, Base):
    """A photo sent with a request (what the customer saw: a dripping valve, where a new assembly should go). The
    file and its thumbnail are in the storage backend, under the company's folder."""

    __tablename__ = "service_request_photos"
    __table_args__ = (sa.Index("service_request_photos_request_idx", "company_id", "request_id", "created_at"),)

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    request_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("service_requests.id"), index=True)
    uploaded_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"),
                                                                 index=True)
    width: so.Mapped[int]
    height: so.Mapped[int]
    byte_size: so.Mapped[int]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    @property
    def key(self) -> str:
        return f"{self.company_id}/request-photos/{self.id}.jpg"

    @property
    def thumbnail_key(self) -> str:
        return f"{self.company_id}/request-photos/{self.id}.thumb.jpg"
