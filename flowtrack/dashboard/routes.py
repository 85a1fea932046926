"""One dashboard per role."""
from flask import Blueprint, g, render_template
from flask_login import current_user

from flowtrack.companies.services import company_timezone, company_today
from flowtrack.core.permissions import DASHBOARD_VIEW, Role, requires
from flowtrack.dashboard import services

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.get("/")
@requires(DASHBOARD_VIEW)
def home():
    """The signed-in person's start page, shaped by their role."""
    today = company_today(g.db)
    role = Role(current_user.role)
    context = {"role": role, "today": today}
    if role in (Role.company_admin, Role.office):
        context["team"] = services.team(g.db)
        context["certifications"] = services.technicians_certification(context["team"], today)
        context["due"] = services.devices_due(g.db, today)
        context["summary"] = services.office_summary(g.db, today)
        context["work"] = services.todays_work(g.db, today, company_timezone(g.db))
    if role in (Role.company_admin, Role.auditor):
        context["activity"] = services.recent_activity(g.db)
    if role is Role.technician:
        context["certification"] = services.certification_status(
            services.own_profile(g.db, current_user.profile_id), today)
    return render_template("dashboard/home.html", **context)
