"""Vendors: outside testing companies or testers that a company subcontracts work orders to."""
from __future__ import annotations

import datetime as dt
import functools
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow
from flowtrack.models.accounts import Profile, User
from flowtrack.models.audit import AuditEntry
from flowtrack.models.customers import Customer, CustomerLocation, Device, Gauge
from flowtrack.models.exports import Export
from flowtrack.models.field_tests import DevicePhoto, TestRecord
from flowtrack.models.imports import CustomerImport
from flowtrack.models.inventory import Part, StockLevel, StockMovement, StockPlace
from flowtrack.models.invoicing import Invoice, Payment, PriceItem
from flowtrack.models.notifications import NotificationEmail
from flowtrack.models.scheduling import ScheduledJob, WorkOrder, WorkOrderDevice, WorkOrderLine
from flowtrack.models.service_requests import ServiceRequest, ServiceRequestPhoto


class Vendor(TenantScoped, Base):
    """An outside organisation whose people see only the work orders assigned to it (migration 0038 enforces this
    in the database too)."""

    __tablename__ = "vendors"
    __table_args__ = (sa.UniqueConstraint("company_id", "name", name="vendors_name_key"),)

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    contact_email: so.Mapped[str | None] = so.mapped_column(sa.String(320))
    phone: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)


@functools.lru_cache(maxsize=1024)
def vendor_criteria(vendor_id: uuid.UUID) -> tuple:
    """The application layer's half of vendor isolation: loader options that confine a vendor's person's ORM
    statements to the work orders assigned to the vendor and what those need. Migration 0038's policies are the
    database's half, and hold without these. Built once per vendor, like the company's criteria."""
    orders = sa.select(WorkOrder.id).where(WorkOrder.vendor_id == vendor_id)
    devices = sa.select(WorkOrderDevice.device_id).where(WorkOrderDevice.work_order_id.in_(orders))
    people = sa.select(Profile.user_id).where(Profile.vendor_id == vendor_id)
    nothing = [Invoice, Payment, PriceItem, WorkOrderLine, ServiceRequest, ServiceRequestPhoto, Export, CustomerImport,
               NotificationEmail, AuditEntry, Part, StockPlace, StockLevel, StockMovement]
    return (
        so.with_loader_criteria(Vendor, lambda cls: cls.id == vendor_id),
        so.with_loader_criteria(WorkOrder, lambda cls: cls.vendor_id == vendor_id),
        so.with_loader_criteria(WorkOrderDevice, lambda cls: cls.work_order_id.in_(orders)),
        so.with_loader_criteria(ScheduledJob, lambda cls: cls.work_order_id.in_(orders)),
        so.with_loader_criteria(Device, lambda cls: cls.id.in_(devices)),
        so.with_loader_criteria(CustomerLocation, lambda cls: cls.id.in_(
            sa.select(WorkOrder.location_id).where(WorkOrder.vendor_id == vendor_id))),
        so.with_loader_criteria(Customer, lambda cls: cls.id.in_(
            sa.select(WorkOrder.customer_id).where(WorkOrder.vendor_id == vendor_id))),
        so.with_loader_criteria(Gauge, lambda cls: cls.vendor_id == vendor_id),
        so.with_loader_criteria(Profile, lambda cls: cls.vendor_id == vendor_id),
        so.with_loader_criteria(User, lambda cls: cls.id.in_(people)),
        so.with_loader_criteria(TestRecord, lambda cls: cls.technician_id.in_(people) & cls.device_id.in_(devices)),
        so.with_loader_criteria(DevicePhoto, lambda cls: cls.uploaded_by.in_(people) & cls.device_id.in_(devices)),
        *(so.with_loader_criteria(model, sa.false()) for model in nothing),
    )
