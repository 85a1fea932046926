"""The admin's company settings on one page: each section is its own form, posted to its own address; a save
comes back to the page with a message, a refusal shows the page again with what was typed and why."""
from decimal import Decimal

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.companies import services as companies
from flowtrack.companies.forms import CompanyDetailsForm, FieldEvidenceForm
from flowtrack.core.images import PictureRefused
from flowtrack.core.money import cents
from flowtrack.core.permissions import SETTINGS_MANAGE, requires
from flowtrack.core.regions import current_region, region_label
from flowtrack.core.storage import file_storage
from flowtrack.invoices import logo
from flowtrack.invoices import services as invoices
from flowtrack.invoices.forms import BillingSettingsForm, TripChargeForm
from flowtrack.models.companies import Company
from flowtrack.quotes import services as quotes
from flowtrack.quotes.forms import QuoteSettingsForm
from flowtrack.reminders import services as reminders
from flowtrack.reminders.forms import ReminderSettingsForm

bp = Blueprint("settings", __name__, url_prefix="/settings")


# What a refusal says at the top of the page (on a phone the section may be far below): (what, section's id, heading)
NOT_SAVED = {"details": ("Your company's details were", "company", "Your company"),
             "billing": ("The tax rate and payment terms were", "invoicing", "Invoices"),
             "trip": ("The trip charge was", "invoicing", "Invoices"),
             "logo_error": ("The logo was", "invoicing", "Invoices"),
             "reminders": ("The reminder settings were", "reminders", "Test-due reminders"),
             "evidence": ("The field test setting was", "field-tests", "Field tests"),
             "quotes": ("The quote setting was", "quotes", "Quotes")}


def _page(status: int = 200, **refused):
    """The whole page: every section's form as saved, except the one refused (given by name, with what was typed
    and its errors), which the top of the page then points to."""
    company = g.db.get(Company, current_user.company_id)
    saved = companies.settings_of(g.db)
    trip = invoices.trip_charge(g.db)
    forms = {
        "details": CompanyDetailsForm(formdata=None, obj=saved, name=company.name, timezone=company.timezone),
        "billing": BillingSettingsForm(formdata=None, tax_rate=saved.tax_rate_bp / 100,
                                       payment_terms_days=saved.payment_terms_days),
        "trip": TripChargeForm(formdata=None, trip_charge=Decimal(trip.unit_price_cents).scaleb(-2) if trip else None,
                               trip_taxable=trip.taxable if trip else False),
        "reminders": ReminderSettingsForm(formdata=None, enabled=saved.reminders_enabled,
                                          lead_days=", ".join(str(days) for days in saved.reminder_lead_days),
                                          when_overdue=saved.remind_when_overdue),
        "logo_error": None,
        "evidence": FieldEvidenceForm(formdata=None, far_from_location_m=saved.far_from_location_m),
        "quotes": QuoteSettingsForm(formdata=None, signature_required=saved.quote_signature_required),
    }
    not_saved = next((NOT_SAVED[name] for name in refused), None)
    return render_template("settings/index.html", **(forms | refused), not_saved=not_saved,
                           data_region=region_label(current_region().name),
                           logo=logo.logo_data_uri(file_storage(), current_user.company_id)), status


def _saved(message: str):
    g.db.commit()
    flash(message, "success")
    return redirect(url_for("settings.index"), code=303)


@bp.route("/", methods=["GET", "POST"])
@requires(SETTINGS_MANAGE)
def index():
    """Show every company setting; save the company's name, time zone and the details customers read."""
    if request.method == "GET":
        return _page()
    form = CompanyDetailsForm()
    if not form.validate_on_submit():
        return _page(422, details=form)
    company = g.db.get(Company, current_user.company_id)
    changed = companies.save_details(g.db, company, name=form.name.data, timezone=form.timezone.data,
                                     **{field: form[field].data for field in companies.DETAILS})
    return _saved("Company settings saved." if changed else "Nothing changed.")


@bp.post("/invoicing")
@requires(SETTINGS_MANAGE)
def billing():
    """The tax rate and payment terms of invoices made from now on."""
    form = BillingSettingsForm()
    if not form.validate_on_submit():
        return _page(422, billing=form)
    invoices.save_settings(g.db, tax_rate_bp=cents(form.tax_rate.data), payment_terms_days=form.payment_terms_days.data)
    return _saved("Tax rate and payment terms saved; they apply to invoices made from now on.")


@bp.post("/trip-charge")
@requires(SETTINGS_MANAGE)
def trip_charge():
    """The charge added once to each visit's work order, or none."""
    form = TripChargeForm()
    if not form.validate_on_submit():
        return _page(422, trip=form)
    amount = form.trip_charge.data
    changed = invoices.set_trip_charge(g.db, cents(amount) if amount is not None else None,
                                       taxable=form.trip_taxable.data)
    if not changed:
        return _saved("Nothing changed.")
    return _saved("Trip charge saved; it is added to work orders made from now on." if amount is not None
                  else "Trip charge removed; work orders made from now on have none.")


@bp.post("/logo")
@requires(SETTINGS_MANAGE)
def upload_logo():
    """The logo printed on invoices from now on."""
    upload = request.files.get("logo")
    try:
        logo.change_logo(g.db, file_storage(), current_user.company_id,
                         upload.read(logo.MAX_BYTES + 1) if upload is not None else b"")
    except PictureRefused as refused:
        return _page(422, logo_error=str(refused))
    return _saved("Logo saved; it is printed on invoices sent from now on.")


@bp.post("/logo/delete")
@requires(SETTINGS_MANAGE)
def remove_logo():
    logo.drop_logo(g.db, file_storage(), current_user.company_id)
    return _saved("Logo removed.")


@bp.post("/reminders")
@requires(SETTINGS_MANAGE)
def reminder_settings():
    """When test-due reminders go out, or that none do."""
    form = ReminderSettingsForm()
    if not form.validate_on_submit():
        return _page(422, reminders=form)
    reminders.save_settings(g.db, enabled=form.enabled.data, lead_days=reminders.parse_lead_days(form.lead_days.data),
                            when_overdue=form.when_overdue.data)
    return _saved("Reminder settings saved.")


@bp.post("/field-tests")
@requires(SETTINGS_MANAGE)
def field_evidence():
    """How far from its location a test may be recorded before the office is asked to look at it."""
    form = FieldEvidenceForm()
    if not form.validate_on_submit():
        return _page(422, evidence=form)
    changed = companies.save_far_from_location(g.db, g.db.get(Company, current_user.company_id),
                                               form.far_from_location_m.data)
    return _saved("Field test setting saved." if changed else "Nothing changed.")


@bp.post("/quotes")
@requires(SETTINGS_MANAGE)
def quote_settings():
    """Whether customers sign a quote by hand when they approve it."""
    form = QuoteSettingsForm()
    if not form.validate_on_submit():
        return _page(422, quotes=form)
    changed = quotes.save_settings(g.db, signature_required=form.signature_required.data)
    return _saved("Quote setting saved." if changed else "Nothing changed.")
