"""What every template may use: one set of filters and globals, registered once by `init_app`.

Times are shown in the zone a template names, or else in the signed-in person's company's zone
(`current_user.timezone`): a moment with neither is refused rather than shown in UTC.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

from flask import Flask, has_request_context
from flask_login import current_user
from htmx_flask import request as htmx_request

from flowtrack.core import dates, menu, permissions
from flowtrack.core.money import format_cents


def is_fragment() -> bool:
    """Answer with the partial HTMX swaps in: an HTMX request, but not its reload of a page from history
    (which needs the whole document)."""
    return bool(htmx_request.htmx) and not htmx_request.htmx.history_restore_request


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 new customer', '2 new customers', '0 new customers'."""
    return f"{count:,} {singular if count == 1 else plural_form or singular + 's'}"


def waited(since: dt.datetime) -> str:
    """How long something has waited, roughly: '40 minutes', '5 hours', '3 days'."""
    minutes = max(0, int((dt.datetime.now(dt.timezone.utc) - since).total_seconds() // 60))
    if minutes < 60:
        return plural(minutes, "minute")
    if minutes < 48 * 60:
        return plural(minutes // 60, "hour")
    return plural(minutes // (24 * 60), "day")


def _zone(zone):
    """The zone named, else the signed-in person's company's (none in a job: its templates name the zone)."""
    if zone or not has_request_context():
        return zone
    return getattr(current_user, "timezone", None)


def date(value, zone=None, *, long: bool = False) -> str:
    return dates.date(value, _zone(zone) if isinstance(value, dt.datetime) else None, long=long)


def local_time(value, zone=None) -> str:
    return dates.local_time(value, _zone(zone))


def clock(value, zone=None) -> str:
    return dates.clock(value, _zone(zone))


def permission_check(role: str | None, *, may_see_invoices: bool = False) -> Callable[[str], bool]:
    """`can(...)` for templates: whether this person may do that. A permission no role has is a typo and raises,
    rather than silently hiding a button."""
    def can(permission: str) -> bool:
        if permission not in permissions.ALL_PERMISSIONS:
            raise KeyError(f"no such permission: {permission!r}")
        return role is not None and permissions.person_allowed(role, permission, may_see_invoices=may_see_invoices)
    return can


def role_label(role: str) -> str:
    return permissions.Role(role).label


def init_app(app: Flask) -> None:
    app.add_template_filter(format_cents, "money")
    app.add_template_filter(date, "date")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(clock, "clock")
    app.add_template_filter(plural, "plural")
    app.add_template_filter(waited, "waited")
    app.add_template_filter(dates.utc, "utc")
    app.add_template_global(dt.timedelta, "timedelta")
    app.add_template_global(menu.menu_for, "menu_for")
    app.add_template_global(role_label, "role_label")

    @app.context_processor
    def _permission_check():
        # The role is read once: list pages ask `can(...)` on every row, and each look at current_user costs.
        if not getattr(current_user, "is_authenticated", False):
            return {"can": permission_check(None)}
        return {"can": permission_check(current_user.role, may_see_invoices=current_user.may_see_invoices)}
