"""Vendors, their people and the work subcontracted to them, made through the services as the office's pages do."""
from __future__ import annotations

from dataclasses import dataclass

from flowtrack.core.permissions import Role
from flowtrack.models.scheduling import WorkOrder
from flowtrack.models.vendors import Vendor
from flowtrack.vendors import services as vendors
from flowtrack.work_orders import services as work_orders
from tests.customers.factories import Records
from tests.factories import Member, Tenant
from tests.scheduling.factories import Planner


@dataclass
class Subcontract:
    vendor: Vendor
    tester: Member  # one of the vendor's people
    order: WorkOrder  # assigned to the vendor, two devices at one place


def give_to_vendor(app, tenant: Tenant, order: WorkOrder, vendor: Vendor | None) -> None:
    with Records(app).session(tenant) as session:
        vendors.assign(session, work_orders.get_work_order(session, order.id),
                       session.get(Vendor, vendor.id) if vendor else None)


def subcontract(app, factory, tenant: Tenant, *, vendor: Vendor | None = None, devices: int = 2) -> Subcontract:
    """A vendor with a tester and a calibrated kit of their own, and an open work order given to them."""
    vendor = vendor or factory.vendor(tenant.id)
    tester = factory.member(tenant.id, Role.vendor.value, vendor_id=vendor.id)
    Records(app).gauge(tenant, vendor_id=vendor.id)
    order = Planner(app).work_order(tenant, devices=devices)
    give_to_vendor(app, tenant, order, vendor)
    return Subcontract(vendor, tester, order)


def _vendor(app, factory, tenant):
    return {"vendor_id": factory.vendor(tenant.id).id}


def _work_order(app, factory, tenant):
    return {"work_order_id": Planner(app).work_order(tenant).id}


def _vendors_work_order(app, factory, tenant):
    return {"work_order_id": subcontract(app, factory, tenant).order.id}


# Endpoints whose URL carries a vendor or work order id, for the cross-tenant sweep
# (tests/foundation/test_cross_tenant.py).
VENDOR_URLS = {"vendors.detail": _vendor, "vendors.invite_person": _vendor, "vendors.assign": _work_order,
               "vendors.work_order": _vendors_work_order}
