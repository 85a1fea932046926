"""One dashboard, shaped by what the role may do."""
import datetime as dt

from flask import Blueprint, g, render_template
from flask_login import current_user

from flowtrack.booking import services as booking
from flowtrack.companies.services import company_timezone, company_today
from flowtrack.core import permissions as p
from flowtrack.core.db import utcnow
from flowtrack.core.permissions import Role, requires
from flowtrack.dashboard import services
from flowtrack.hints import services as hints
from flowtrack.inventory import services as inventory
from flowtrack.quotes import services as quotes
from flowtrack.service_requests import services as service_requests
from flowtrack.submissions import services as submissions

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

QUOTE_ANSWERS_SHOWN = dt.timedelta(days=7)  # customers' answers to quotes stay on the dashboard this long
HINTS_SHOWN = 4  # the most pressing; the hints page has them all


@bp.get("/")
@requires(p.DASHBOARD_VIEW)
def home():
    """The signed-in person's start page: what needs them, by what their role may do."""
    today = company_today(g.db)
    role = Role(current_user.role)
    context = {"role": role, "today": today}
    if p.allowed(role, p.INVOICES_VIEW):  # the company's state: money owed, set-up steps, kits to calibrate
        context["summary"] = services.office_summary(g.db, today)
        context["quote_answers"] = quotes.decided_since(g.db, utcnow() - QUOTE_ANSWERS_SHOWN)
        context["zone"] = company_timezone(g.db)
    elif p.allowed(role, p.GAUGES_MANAGE):
        context["kits_due"] = services.kits_due(g.db, today)
    if p.allowed(role, p.SCHEDULE_MANAGE):
        context["team"] = services.team(g.db)
        context["certifications"] = services.technicians_certification(context["team"], today)
        context["work"] = services.todays_work(g.db, today, company_timezone(g.db))
        context["bookings_waiting"] = context["summary"]["bookings_waiting"] if "summary" in context \
            else booking.waiting_count(g.db)
    if p.allowed(role, p.SERVICE_REQUESTS_MANAGE):
        context["requests_waiting"] = context["summary"]["requests_waiting"] if "summary" in context \
            else service_requests.waiting_count(g.db)
    if p.allowed(role, p.DISTRICTS_MANAGE):
        context["reports"] = {key: context["summary"][key] for key in
                              ("reports_overdue", "reports_held", "reports_rejected")} \
            if "summary" in context else submissions.attention_counts(g.db, today)
    if p.allowed(role, p.INVENTORY_MANAGE):
        context["stock"] = {key: context["summary"][key] for key in ("stock_negative", "stock_low")} \
            if "summary" in context else inventory.attention_counts(g.db)
    if p.allowed(role, p.DEVICES_DUE):
        context["due"] = services.devices_due(g.db, today)
    if p.allowed(role, p.HINTS_VIEW):
        context["hints"] = hints.find(g.db, hints.kinds_for(role), today, first=HINTS_SHOWN)
    if p.allowed(role, p.AUDIT_VIEW):
        context["activity"] = services.recent_activity(g.db)
    if role is Role.technician:
        context["certification"] = services.certification_status(
            services.own_profile(g.db, current_user.profile_id), today)
    return render_template("dashboard/home.html", **context)
