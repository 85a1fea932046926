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
    manager = "manager"
    scheduler = "scheduler"
    coordinator = "coordinator"
    inventory_manager = "inventory_manager"
    technician = "technician"
    auditor = "auditor"
    vendor = "vendor"
    customer = "customer"
    requester = "requester"
    district_admin = "district_admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self.value][0]

    @property
    def summary(self) -> str:
        """What the role is for, in a sentence (the roles page, the team page's choice of role)."""
        return ROLE_LABELS[self.value][1]


ROLE_LABELS = {
    "company_admin": ("Admin", "Everything in the company: its team, settings, billing and data, and all the work."),
    "manager": ("Manager", "Runs the work: customers, devices, work orders, the schedule, tests, invoices and "
                           "reminders; not the team, settings, billing or the full data export."),
    "scheduler": ("Scheduler", "Plans the work: service requests, work orders, the week board, technicians' days "
                               "and the windows customers book online; reads customers, devices and tests."),
    "coordinator": ("Coordinator", "Keeps the records: customers, their places and devices, water districts, "
                                   "reminders and service requests; no prices or invoices."),
    "inventory_manager": ("Inventory manager", "Keeps the equipment and parts: test kits and their calibration, "
                                               "parts and their stock in the warehouse and the vans (receiving, "
                                               "transfers, counts); reads work orders."),
    "technician": ("Technician", "Tests and repairs in the field: their own day, jobs and tests."),
    "auditor": ("Auditor", "Reads the audit log, checks its chain and exports its reports."),
    "vendor": ("Vendor", "An outside tester the company subcontracts to: only the work orders assigned to their "
                         "vendor, with the places, devices and access notes those need, and their own tests."),
    "customer": ("Customer portal", "A customer's own account: its invoices and test certificates, asking for "
                                    "service and booking a test online."),
    "requester": ("Requester", "A customer's contact, such as its property manager: asks for service at the "
                               "customer's places and follows each request; sees its devices and test "
                               "certificates, and its invoices only if the office allowed it for that person."),
    "district_admin": ("District admin", "A water district's own tests, reports and devices, read-only."),
}


# Permissions, named "<area>.<action>". Feature issues add theirs here, and to MEANINGS.
DASHBOARD_VIEW = "dashboard.view"
ACCOUNT_SELF = "account.self"
AUDIT_VIEW = "audit.view"
AUDIT_VERIFY = "audit.verify"
AUDIT_EXPORT = "audit.export"
TEAM_MANAGE = "team.manage"
SETTINGS_MANAGE = "settings.manage"
DATA_EXPORT = "data.export"
BILLING_MANAGE = "billing.manage"
CUSTOMERS_VIEW = "customers.view"
CUSTOMERS_EDIT = "customers.edit"
CUSTOMERS_IMPORT = "customers.import"
DEVICES_VIEW = "devices.view"
DEVICES_EDIT = "devices.edit"
DEVICES_DUE = "devices.due"
DISTRICTS_MANAGE = "districts.manage"
GAUGES_VIEW = "gauges.view"
GAUGES_MANAGE = "gauges.manage"
TESTS_VIEW = "tests.view"
TESTS_RECORD = "tests.record"
PHOTOS_ADD = "photos.add"
WORK_ORDERS_VIEW = "work_orders.view"
WORK_ORDERS_EDIT = "work_orders.edit"
SCHEDULE_MANAGE = "schedule.manage"
INVOICES_VIEW = "invoices.view"
INVOICES_MANAGE = "invoices.manage"
QUOTES_MANAGE = "quotes.manage"
PORTAL_VIEW = "portal.view"
PORTAL_INVOICES = "portal.invoices"
PORTAL_CARD = "portal.card"
DISTRICT_PORTAL_VIEW = "district_portal.view"
DISTRICT_PORTAL_DECIDE = "district_portal.decide"
REMINDERS_MANAGE = "reminders.manage"
JOBS_WORK = "jobs.work"
SERVICE_REQUESTS_MANAGE = "service_requests.manage"
VENDORS_MANAGE = "vendors.manage"
VENDOR_WORK = "vendor.work"
INVENTORY_VIEW = "inventory.view"
INVENTORY_MANAGE = "inventory.manage"
INVENTORY_VAN = "inventory.van"
HINTS_VIEW = "hints.view"

# What each permission lets a person do, by the part of the product it is about (the roles page lists them).
MEANINGS: dict[str, tuple[str, str]] = {
    DASHBOARD_VIEW: ("Everyone", "Open the dashboard"),
    ACCOUNT_SELF: ("Everyone", "Their own account: password, two-step sign-in, sessions, sign out"),
    CUSTOMERS_VIEW: ("Customers", "See customers and their service locations"),
    CUSTOMERS_EDIT: ("Customers", "Add, change and archive customers and their locations; invite a customer to "
                                  "the portal"),
    CUSTOMERS_IMPORT: ("Customers", "Import customers, locations and devices from a spreadsheet"),
    DEVICES_VIEW: ("Devices", "See devices (assemblies) and their history"),
    DEVICES_EDIT: ("Devices", "Add, change and retire devices"),
    DEVICES_DUE: ("Devices", "See the due, overdue and failed lists, and download them"),
    PHOTOS_ADD: ("Devices", "Take or upload photos of a device"),
    DISTRICTS_MANAGE: ("Water districts", "Keep water districts, their rules, report forms and email"),
    TESTS_VIEW: ("Tests", "See test records and their reports (a technician: their own)"),
    TESTS_RECORD: ("Tests", "Record a field test; amend a submitted one (a technician: their own)"),
    GAUGES_VIEW: ("Test kits", "See test kits and their calibration"),
    GAUGES_MANAGE: ("Test kits", "Add, calibrate and retire test kits"),
    INVENTORY_VIEW: ("Parts and stock", "See parts, the stock in the warehouse and each van, its movements and the "
                                        "reorder list"),
    INVENTORY_MANAGE: ("Parts and stock", "Keep parts and stock places; receive, transfer, count and adjust stock; "
                                          "set low-stock levels"),
    INVENTORY_VAN: ("Parts and stock", "See the parts in their own van (a technician; the parts of a repair they "
                                       "record are taken from it)"),
    WORK_ORDERS_VIEW: ("Work orders", "See work orders, their devices and price lines"),
    WORK_ORDERS_EDIT: ("Work orders", "Create work orders (also from the due list), cancel them, change their "
                                      "lines"),
    SERVICE_REQUESTS_MANAGE: ("Work orders", "See customers' service requests and decline one with a reason (making "
                                             "a work order of one takes creating work orders)"),
    VENDORS_MANAGE: ("Work orders", "Keep vendors (outside testers) and their people; assign a work order to a "
                                    "vendor or take it back"),
    VENDOR_WORK: ("Work orders", "A vendor's person: the work orders assigned to their vendor"),
    SCHEDULE_MANAGE: ("Schedule", "The week board: book, move and reassign jobs; set a technician's route; open "
                                  "and close the windows customers book online, and confirm or decline their "
                                  "bookings"),
    JOBS_WORK: ("Schedule", "Work their own day: start and complete jobs, \"could not test\""),
    HINTS_VIEW: ("Hints", "See the hints about the work they plan (an assembly to replace, devices to add to a visit, "
                          "a kit or certification running out before a job, a customer who owes an old invoice) "
                          "and dismiss them for the company"),
    INVOICES_VIEW: ("Invoices", "See invoices, their PDFs and what is owed; see quotes and their PDFs"),
    INVOICES_MANAGE: ("Invoices", "Make, send, void and credit invoices; record payments; keep the price list"),
    QUOTES_MANAGE: ("Invoices", "Make quotes for repairs, change them and send them to the customer to approve"),
    REMINDERS_MANAGE: ("Reminders and email", "See reminders sent, the outbox and letters to print; send failed "
                                              "mail again; clear addresses that bounced"),
    AUDIT_VIEW: ("Audit log", "Read the audit log"),
    AUDIT_VERIFY: ("Audit log", "Check the audit log's chain"),
    AUDIT_EXPORT: ("Audit log", "Export the audit log as PDF or CSV"),
    TEAM_MANAGE: ("Company", "Invite people, change their roles, deactivate them"),
    SETTINGS_MANAGE: ("Company", "Change company settings: details, tax, terms, logo, reminders"),
    BILLING_MANAGE: ("Company", "The FlowTrack subscription and plan; the company's payment account"),
    DATA_EXPORT: ("Company", "Download all the company's data"),
    PORTAL_VIEW: ("Customer portal", "Their own customer account: its devices and test certificates, asking for "
                                     "service and following the requests; booking a test online; approving or "
                                     "declining its quotes"),
    PORTAL_INVOICES: ("Customer portal", "Their customer account's invoices: read, download and pay them online (a "
                                         "requester too, when the office allowed it for that person)"),
    PORTAL_CARD: ("Customer portal", "Their customer account's card on file: save, replace or remove it, and turn "
                                     "autopay of invoices on or off"),
    DISTRICT_PORTAL_VIEW: ("District portal", "Their own water district's tests, reports and devices"),
    DISTRICT_PORTAL_DECIDE: ("District portal", "Accept or reject (with the reason) the test reports sent to their "
                                                "own water district through the district view"),
}

_EVERYONE = {DASHBOARD_VIEW, ACCOUNT_SELF}
# The office's records. Portal customers and district admins have their own read-only views instead.
_RECORDS = {CUSTOMERS_VIEW, CUSTOMERS_EDIT, CUSTOMERS_IMPORT, DEVICES_VIEW, DEVICES_EDIT, DEVICES_DUE, DISTRICTS_MANAGE,
            TESTS_VIEW, PHOTOS_ADD, REMINDERS_MANAGE, SERVICE_REQUESTS_MANAGE, HINTS_VIEW}
_PLANNING = {WORK_ORDERS_VIEW, WORK_ORDERS_EDIT, SCHEDULE_MANAGE, SERVICE_REQUESTS_MANAGE, VENDORS_MANAGE, HINTS_VIEW}
_EQUIPMENT = {GAUGES_VIEW, GAUGES_MANAGE, HINTS_VIEW}
_STOCK = {INVENTORY_VIEW, INVENTORY_MANAGE}
_MONEY = {INVOICES_VIEW, INVOICES_MANAGE, QUOTES_MANAGE}
_OPERATIONS = _RECORDS | _PLANNING | _EQUIPMENT | _STOCK | _MONEY | {TESTS_RECORD}
_AUDIT = {AUDIT_VIEW, AUDIT_VERIFY, AUDIT_EXPORT}

MATRIX: dict[Role, frozenset[str]] = {
    Role.company_admin: frozenset(_EVERYONE | _OPERATIONS | _AUDIT | {TEAM_MANAGE, SETTINGS_MANAGE, DATA_EXPORT,
                                                                     BILLING_MANAGE}),
    Role.manager: frozenset(_EVERYONE | _OPERATIONS),
    Role.scheduler: frozenset(_EVERYONE | _PLANNING | {CUSTOMERS_VIEW, DEVICES_VIEW, DEVICES_DUE, TESTS_VIEW,
                                                       GAUGES_VIEW, INVENTORY_VIEW}),
    Role.coordinator: frozenset(_EVERYONE | _RECORDS),
    Role.inventory_manager: frozenset(_EVERYONE | _EQUIPMENT | _STOCK | {WORK_ORDERS_VIEW}),
    Role.technician: frozenset(_EVERYONE | {DEVICES_VIEW, GAUGES_VIEW, TESTS_VIEW, TESTS_RECORD, PHOTOS_ADD,
                                            JOBS_WORK, INVENTORY_VAN}),
    Role.vendor: frozenset(_EVERYONE | {VENDOR_WORK, TESTS_VIEW, TESTS_RECORD, PHOTOS_ADD}),
    Role.auditor: frozenset(_EVERYONE | _AUDIT),
    Role.customer: frozenset(_EVERYONE | {PORTAL_VIEW, PORTAL_INVOICES, PORTAL_CARD}),
    Role.requester: frozenset(_EVERYONE | {PORTAL_VIEW}),
    Role.district_admin: frozenset(_EVERYONE | {DISTRICT_PORTAL_VIEW, DISTRICT_PORTAL_DECIDE}),
}

ALL_PERMISSIONS = frozenset(MEANINGS)

# The people of a customer's portal: invited from the customer's account, to which they belong.
PORTAL_ROLES = frozenset({Role.customer, Role.requester})

PUBLIC = "public"
_ATTRIBUTE = "required_permission"


def allowed(role: str | Role, permission: str) -> bool:
    """Whether a role holds a permission."""
    try:
        return permission in MATRIX[Role(role)]
    except ValueError:
        return False


def person_allowed(role: str | Role, permission: str, *, may_see_invoices: bool = False) -> bool:
    """Whether a person holds a permission: their role's, or the one the office grants a requester alone (the
    customer's invoices, ticked when the requester is invited)."""
    if allowed(role, permission):
        return True
    return permission == PORTAL_INVOICES and may_see_invoices and role == Role.requester


def by_area() -> list[tuple[str, list[tuple[str, str]]]]:
    """The permissions grouped by the part of the product they are about, in MEANINGS' order:
    [(area, [(permission, what it lets a person do), ...]), ...]."""
    areas: dict[str, list[tuple[str, str]]] = {}
    for permission, (area, meaning) in MEANINGS.items():
        areas.setdefault(area, []).append((permission, meaning))
    return list(areas.items())


def own_work_of(user) -> uuid.UUID | None:
    """Whose work a person may see: a technician or a vendor's person only their own tests and the places of their
    work, so their user id; the other roles everyone's (None)."""
    return user.user_id if Role(user.role) in (Role.technician, Role.vendor) else None


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
