"""Read-only grace for requests: refuse every state-changing request of a company whose paid period has
ended, and tell every page of a company with a scheduled cancellation when deletion happens; and the page of a
sign-in to a company that is moving to another region."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Flask, g, render_template, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from flowtrack.companies import state
from flowtrack.core.db import utcnow
from flowtrack.core.regions import region_label
from flowtrack.core.templating import is_fragment
from flowtrack.models.companies import Company, CompanyMoving

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# What a company in grace may still do: sign in (every step) and out (also its other devices), take the full
# data export, subscribe again, and hear from Stripe. Endpoints by name: a renamed one is refused, never silently
# allowed.
ALLOWED_IN_GRACE = frozenset({
    "auth.login", "auth.second_step", "auth.enrol",
    "auth.logout", "account.revoke_session", "account.revoke_other_sessions", "account.revoke_all_sessions",
    "exports.start",
    "billing.subscribe_again", "billing.stripe_webhook",
})


@dataclass(frozen=True)
class Notice:
    """What the banner says: read-only already, or from when; and when the data goes."""

    read_only: bool
    period_ends_at: dt.datetime
    deletion_at: dt.datetime
    timezone: str
    grace_days: int = state.GRACE_DAYS


def _company() -> Company | None:
    if "lifecycle_company" not in g:
        g.lifecycle_company = g.db.get(Company, current_user.company_id)
    return g.lifecycle_company


def refuse_writes_in_grace():
    """before_request: 403 for a state-changing request of a signed-in member of a company in grace."""
    if request.method not in STATE_CHANGING or request.endpoint is None or request.endpoint in ALLOWED_IN_GRACE:
        return None
    if not current_user.is_authenticated:
        return None
    company = _company()
    if company is None or not state.grace_started(company, utcnow()):
        return None
    template = "lifecycle/_read_only.html" if is_fragment() else "lifecycle/read_only.html"
    return render_template(template, notice=notice()), 403


def notice() -> Notice | None:
    """The banner of the signed-in person's company, or None when no cancellation is scheduled."""
    if not current_user.is_authenticated:
        return None
    try:
        company = _company()
    except SQLAlchemyError:
        # The error page of a failed statement: the transaction is aborted, and the page must still render.
        return None
    if company is None or company.deletion_clock_starts_at is None or company.tombstoned_at is not None:
        return None
    return Notice(read_only=state.grace_started(company, utcnow()),
                  period_ends_at=company.deletion_clock_starts_at,
                  deletion_at=state.scheduled_deletion(company), timezone=company.timezone)


def company_moving(error: CompanyMoving):
    """A sign-in to a company that `flowtrack company move` is copying to another region: try again shortly."""
    return render_template("lifecycle/moving.html", region=region_label(error.region)), 503


def init_app(app: Flask) -> None:
    """Register after web.init_app: CSRF, the signed-in user and the permission check come first."""
    app.before_request(refuse_writes_in_grace)
    app.register_error_handler(CompanyMoving, company_moving)
    app.add_template_global(notice, "lifecycle_notice")
