"""The main menu: the app's sections in order, each shown to the roles that hold its permission."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for

from flowtrack.core import permissions as p

SECTIONS = (  # (endpoint, label, permission that shows it)
    ("dashboard.home", "Dashboard", p.DASHBOARD_VIEW),
    ("customers.index", "Customers", p.CUSTOMERS_VIEW),
    ("devices.index", "Devices", p.DEVICES_VIEW),
    ("portal.home", "Your account", p.PORTAL_VIEW),
    ("district_portal.index", "District tests", p.DISTRICT_PORTAL_VIEW),
    ("day.my_day", "My day", p.JOBS_WORK),
    ("due.index", "Due", p.DEVICES_DUE),
    ("work_orders.index", "Work orders", p.WORK_ORDERS_VIEW),
    ("schedule.board", "Schedule", p.SCHEDULE_MANAGE),
    ("invoices.index", "Invoices", p.INVOICES_VIEW),
    ("reminders.index", "Reminders", p.REMINDERS_MANAGE),
    ("testing.index", "Tests", p.TESTS_VIEW),
    ("gauges.index", "Test kits", p.GAUGES_VIEW),
    ("districts.index", "Districts", p.DISTRICTS_MANAGE),
    ("audit.index", "Audit log", p.AUDIT_VIEW),
    ("exports.index", "Data export", p.DATA_EXPORT),
    ("billing.index", "Billing", p.BILLING_MANAGE),
    ("team.index", "Team", p.TEAM_MANAGE),
    ("companies.settings", "Company settings", p.SETTINGS_MANAGE),
    ("account.sessions", "My account", p.ACCOUNT_SELF),
)


@dataclass(frozen=True)
class MenuLink:
    url: str
    label: str
    blueprint: str  # the link is marked as the current page on this blueprint's pages


def menu_for(role: str) -> tuple[MenuLink, ...]:
    """The links a role sees. Every page's layout shows them, so each role's list is built once per process
    (and mount point: the URLs start with it), not once per page: 19 permission checks and URL builds."""
    menus = current_app.extensions.setdefault("flowtrack.menus", {})
    key = (role, request.script_root)
    if key not in menus:
        menus[key] = tuple(MenuLink(url_for(endpoint), label, endpoint.partition(".")[0])
                           for endpoint, label, permission in SECTIONS if p.allowed(role, permission))
    return menus[key]
