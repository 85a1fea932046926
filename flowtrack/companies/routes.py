"""The admin's company settings: name, time zone, and the details customers read; links to the rest."""
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.companies import services
from flowtrack.companies.forms import CompanyDetailsForm
from flowtrack.core.permissions import SETTINGS_MANAGE, requires
from flowtrack.models.companies import Company

bp = Blueprint("companies", __name__, url_prefix="/settings")


@bp.route("/", methods=["GET", "POST"])
@requires(SETTINGS_MANAGE)
def settings():
    """Show and save the company's details."""
    company = g.db.get(Company, current_user.company_id)
    details = services.settings_of(g.db)
    form = CompanyDetailsForm(obj=details, name=company.name, timezone=company.timezone) \
        if request.method == "GET" else CompanyDetailsForm()
    if form.validate_on_submit():
        changed = services.save_details(g.db, company, name=form.name.data, timezone=form.timezone.data,
                                        **{field: form[field].data for field in services.DETAILS})
        g.db.commit()
        flash("Company settings saved." if changed else "Nothing changed.", "success")
        return redirect(url_for("companies.settings"), code=303)
    return render_template("companies/settings.html", form=form), 422 if form.errors else 200
