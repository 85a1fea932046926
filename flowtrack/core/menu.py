"""The main menu: the app's sections in order, each shown to the roles that hold its permission."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for

from flowtrack.core import permissions as p

# The menu as people look for things: a few groups, each of the sections a role may open. A group a role sees
# one section of is shown as that section's link.
GROUPS = (  # (group label or None for links of their own, ((endpoint, label, permission that shows it), ...))
    (None, (("dashboard.home", "Dashboard", p.DASHBOARD_VIEW),
            ("portal.home", "Your account", p.PORTAL_VIEW),
            ("district_portal.index", "District tests", p.DISTRICT_PORTAL_VIEW),
            ("day.my_day", "My day", p.JOBS_WORK),
            ("vendors.work", "Assigned work", p.VENDOR_WORK),
            ("inventory.van", "My van", p.INVENTORY_VAN))),
    ("Work", (("due.index", "Due and failed", p.DEVICES_DUE),
              ("service_requests.queue", "Service requests", p.SERVICE_REQUESTS_MANAGE),
              ("work_orders.index", "Work orders", p.WORK_ORDERS_VIEW),
              ("schedule.board", "Schedule", p.SCHEDULE_MANAGE),
              ("booking.index", "Online booking", p.SCHEDULE_MANAGE),
              ("vendors.index", "Vendors", p.VENDORS_MANAGE),
              ("testing.index", "Tests", p.TESTS_VIEW))),
    ("Customers", (("customers.index", "Customers", p.CUSTOMERS_VIEW),
                   ("devices.index", "Devices", p.DEVICES_VIEW),
                   ("districts.index", "Districts", p.DISTRICTS_MANAGE))),
    ("Equipment", (("gauges.index", "Test kits", p.GAUGES_VIEW),
                   ("inventory.index", "Parts", p.INVENTORY_VIEW))),
    ("Money", (("invoices.index", "Invoices", p.INVOICES_VIEW),
               ("quotes.index", "Quotes", p.INVOICES_VIEW),
               ("reminders.index", "Reminders", p.REMINDERS_MANAGE))),
    ("Company", (("settings.index", "Company settings", p.SETTINGS_MANAGE),
                 ("team.index", "Team", p.TEAM_MANAGE),
                 ("billing.index", "Billing", p.BILLING_MANAGE),
                 ("audit.index", "Audit log", p.AUDIT_VIEW),
                 ("exports.index", "Data export", p.DATA_EXPORT))),
    (None, (("account.sessions", "My account", p.ACCOUNT_SELF),)),
)
SECTIONS = tuple(section for _, sections in GROUPS for section in sections)  # in the menu's order


@dataclass(frozen=True)
class MenuLink:
    url: str
    label: str
    blueprint: str  # the link is marked as the current page on this blueprint's pages


@dataclass(frozen=True)
class MenuGroup:
    label: str
    links: tuple[MenuLink, ...]


def menu_for(role: str) -> tuple[MenuLink | MenuGroup, ...]:
    """The links and groups a role sees. Every page's layout shows them, so each role's menu is built once per
    process (and mount point: the URLs start with it), not once per page: 21 permission checks and URL builds."""
    menus = current_app.extensions.setdefault("flowtrack.menus", {})
    key = (role, request.script_root)
    if key not in menus:
        entries: list[MenuLink | MenuGroup] = []
        for group, sections in GROUPS:
            links = tuple(MenuLink(url_for(endpoint), label, endpoint.partition(".")[0])
                          for endpoint, label, permission in sections if p.allowed(role, permission))
            if group is None or len(links) == 1:
                entries.extend(links)
            elif links:
                entries.append(MenuGroup(group, links))
        menus[key] = tuple(entries)
    return menus[key]
