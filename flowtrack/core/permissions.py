"""The permission matrix: which role may do what. The one place these rules live.

Every view declares what it needs with `@requires(...)` or `@public`; a view
that declares nothing is refused (see `check_request`), and a test walks
`app.url_map` to make sure none is left undeclared.
"""
from __future__ import annotations

import enum
import uuid
from typing import Callable


class Role(str, enum.Enum):
    """A person's place in their company; what each may do is `MATRIX` below."""

    company_admin = "company_admin"
    office = "office"
    technician = "technician"
    auditor = "auditor"
    customer = "customer"
    district_admin = "district_admin"

    @property
    def label(self) -> str:
        return {
            "company_admin": "Company admin",
            "office": "Office",
            "technician": "Technician",
            "auditor": "Auditor",
            "customer": "Customer portal",
            "district_admin": "District admin",
        }[self.value]


# Permissions, named "<area>.<action>". Feature issues add theirs here.
DASHBOARD_VIEW = "dashboard.view"
ACCOUNT_SELF = "account.self"            # own session: log out, own profile
AUDIT_VIEW = "audit.view"
AUDIT_VERIFY = "audit.verify"
AUDIT_EXPORT = "audit.export"
TEAM_MANAGE = "team.manage"
SETTINGS_MANAGE = "settings.manage"
DATA_EXPORT = "data.export"
BILLING_MANAGE = "billing.manage"       # plan, subscription, the Stripe customer portal
CUSTOMERS_VIEW = "customers.view"       # customer list and pages, their service locations
CUSTOMERS_EDIT = "customers.edit"       # create, edit, archive customers; add and edit their locations
CUSTOMERS_IMPORT = "customers.import"   # import customers, locations and devices from a CSV file
DEVICES_VIEW = "devices.view"           # device list and pages, a service location's page
DEVICES_EDIT = "devices.edit"
DEVICES_DUE = "devices.due"             # the due and overdue list and its CSV, for planning work
DISTRICTS_MANAGE = "districts.manage"
GAUGES_VIEW = "gauges.view"             # test kits and their calibration
GAUGES_MANAGE = "gauges.manage"
TESTS_VIEW = "tests.view"               # test records and their reports (a technician: only their own)
TESTS_RECORD = "tests.record"           # record a field test of a device; amend a submitted one
                                        # (a technician: their own)
PHOTOS_ADD = "photos.add"               # take or upload photos of a device; remove one not part of a submitted test
WORK_ORDERS_VIEW = "work_orders.view"   # work orders, their devices and price lines
WORK_ORDERS_EDIT = "work_orders.edit"   # create (also in bulk from the due list), cancel, price lines
SCHEDULE_MANAGE = "schedule.manage"     # the week board: book, move, reassign, set a technician's route
INVOICES_VIEW = "invoices.view"         # invoices, their PDFs, the aging of open invoices
INVOICES_MANAGE = "invoices.manage"     # make, send, void and credit invoices; record payments; the price list
PORTAL_VIEW = "portal.view"             # a portal user's own customer account: invoices, certificates
DISTRICT_PORTAL_VIEW = "district_portal.view"  # a district admin's own district: its tests, reports and devices,
                                               # read-only
REMINDERS_MANAGE = "reminders.manage"   # test-due reminder settings, what was sent, the outbox, letters to print,
                                        # addresses that get no email (bounced, complained) and clearing them
JOBS_WORK = "jobs.work"                 # a technician's own day: start and complete jobs, "could not test"

_EVERYONE = {DASHBOARD_VIEW, ACCOUNT_SELF}
# The office's records. Portal customers and district admins have their own read-only views instead.
_OFFICE_RECORDS = {CUSTOMERS_VIEW, CUSTOMERS_EDIT, CUSTOMERS_IMPORT, DEVICES_VIEW, DEVICES_EDIT, DEVICES_DUE,
                   DISTRICTS_MANAGE, GAUGES_VIEW, GAUGES_MANAGE, TESTS_VIEW, TESTS_RECORD, PHOTOS_ADD, WORK_ORDERS_VIEW,
                   WORK_ORDERS_EDIT, SCHEDULE_MANAGE, REMINDERS_MANAGE, INVOICES_VIEW, INVOICES_MANAGE}

MATRIX: dict[Role, frozenset[str]] = {
    Role.company_admin: frozenset(_EVERYONE | _OFFICE_RECORDS | {AUDIT_VIEW, AUDIT_VERIFY, AUDIT_EXPORT, TEAM_MANAGE,
                                                             SETTINGS_MANAGE, DATA_EXPORT, BILLING_MANAGE}),
    Role.office: frozenset(_EVERYONE | _OFFICE_RECORDS),
    Role.technician: frozenset(_EVERYONE | {DEVICES_VIEW, GAUGES_VIEW, TESTS_VIEW, TESTS_RECORD, PHOTOS_ADD,
                                            JOBS_WORK}),
    Role.auditor: frozenset(_EVERYONE | {AUDIT_VIEW, AUDIT_VERIFY, AUDIT_EXPORT}),
    Role.customer: frozenset(_EVERYONE | {PORTAL_VIEW}),
    Role.district_admin: frozenset(_EVERYONE | {DISTRICT_PORTAL_VIEW}),
}

ALL_PERMISSIONS = frozenset().union(*MATRIX.values())

PUBLIC = "public"
_ATTRIBUTE = "required_permission"


def allowed(role: str | Role, permission: str) -> bool:
    """Whether a role holds a permission."""
    try:
        return permission in MATRIX[Role(role)]
    except ValueError:
        return False


def own_work_of(user) -> uuid.UUID | None:
    """Whose work a person may see: a technician only their own tests and jobs, so their user id; the office
    everyone's (None)."""
    return user.user_id if Role(user.role) == Role.technician else None


def requires(permission: str) -> Callable:
    """Declare the permission a view needs."""
    if permission not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def mark(view: Callable) -> Callable:
        setattr(view, _ATTRIBUTE, permission)
        return view

    return mark


def public(view: Callable) -> Callable:
    """Declare a view open to anyone, signed in or not."""
    setattr(view, _ATTRIBUTE, PUBLIC)
    return view


def declared_permission(view: Callable | None) -> str | None:
    return getattr(view, _ATTRIBUTE, None)

# Flask's own static-file view cannot carry a decorator.
PUBLIC_ENDPOINTS = frozenset({"static"})
