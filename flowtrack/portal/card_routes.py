"""The portal's card page: save a card (Stripe's card field), replace or remove it, turn autopay on or off.
Only the customer account's own sign-in (not a requester) manages its card."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, url_for
from flask_login import current_user

from flowtrack.core.config import setting
from flowtrack.core.extensions import limiter
from flowtrack.core.permissions import PORTAL_CARD, requires
from flowtrack.core.web import client_ip
from flowtrack.invoices import autopay as services
from flowtrack.invoices import payments
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer
from flowtrack.portal.forms import AutopayForm, CardActionForm, SaveCardForm
from flowtrack.portal.services import customer_of

bp = Blueprint("card", __name__, url_prefix="/portal/card")


def _customer() -> Customer:
    customer = customer_of(g.db, current_user.user_id)
    if customer is None:
        abort(404)
    return customer


def _company() -> Company:
    return g.db.get(Company, current_user.company_id)


def _page(customer: Customer, autopay_form: AutopayForm | None = None, status: int = 200):
    company = _company()
    card = services.live_card(g.db, customer.id)
    return render_template("portal/card.html", customer=customer, card=card, company=company,
                           ready=payments.online_payments_ready(company, setting("STRIPE_PUBLISHABLE_KEY")),
                           consent=services.consent_text(company, card),
                           autopay_form=autopay_form or AutopayForm(formdata=None), action_form=CardActionForm()), \
        status


@bp.get("/")
@requires(PORTAL_CARD)
def show():
    customer = customer_of(g.db, current_user.user_id)
    if customer is None:
        return render_template("portal/home.html", customer=None)
    return _page(customer)


@bp.post("/new")
@requires(PORTAL_CARD)
@limiter.limit("20 per hour", key_func=lambda: f"user:{current_user.user_id}")
def new():
    """Stripe's card field, for a card kept to be charged later."""
    customer, company = _customer(), _company()
    if not CardActionForm().validate_on_submit():
        abort(400)
    publishable_key, js_url = setting("STRIPE_PUBLISHABLE_KEY"), payments.stripe_js_url(setting)
    try:
        if not publishable_key:
            raise services.CardRefused("Saving a card is not set up on this installation.")
        intent = services.start_saving(payments.stripe_client(setting), g.db, company, customer)
    except services.CardRefused as refused:
        flash(str(refused), "error")
        return redirect(url_for("card.show"), code=303)
    response = make_response(render_template(
        "portal/new_card.html", intent=intent, js_url=js_url, publishable_key=publishable_key,
        account=company.stripe_account_id, form=SaveCardForm(formdata=None),
        consent=services.consent_text(company, None), replacing=services.live_card(g.db, customer.id)))
    response.headers["Content-Security-Policy"] = payments.csp_with_stripe(js_url)
    return response


@bp.post("/saved")
@requires(PORTAL_CARD)
def saved():
    """The card page's script posts here once Stripe confirmed the card; Stripe is asked again, not believed."""
    customer, company = _customer(), _company()
    form = SaveCardForm()
    if not form.validate_on_submit():
        flash("The card was not saved. Please try again.", "error")
        return redirect(url_for("card.show"), code=303)
    try:
        card = services.save_card(payments.stripe_client(setting), g.db, company, customer, form.setup_intent.data,
                                  user_id=current_user.user_id, ip=client_ip(),
                                  autopay_words=services.consent_text(company, None) if form.autopay.data else None)
    except services.NotYours:
        abort(404)
    except services.CardRefused as refused:
        flash(str(refused), "error")
        return redirect(url_for("card.show"), code=303)
    g.db.commit()
    flash(f"{card.label} saved." + (" Autopay is on." if card.autopay_on else ""), "success")
    return redirect(url_for("card.show"), code=303)


def _card(customer: Customer):
    card = services.live_card(g.db, customer.id, for_update=True)
    if card is None:
        flash("There is no card on file.", "error")
    return card


@bp.post("/autopay")
@requires(PORTAL_CARD)
def autopay_on():
    customer = _customer()
    form = AutopayForm()
    card = _card(customer)
    if card is None:
        return redirect(url_for("card.show"), code=303)
    if not form.validate_on_submit():
        return _page(customer, form, 422)
    services.turn_on_autopay(g.db, card, services.consent_text(_company(), card), user_id=current_user.user_id,
                             ip=client_ip())
    g.db.commit()
    flash(f"Autopay is on: invoices are charged to your {card.label} when they are sent.", "success")
    return redirect(url_for("card.show"), code=303)


@bp.post("/autopay/off")
@requires(PORTAL_CARD)
def autopay_off():
    customer = _customer()
    if not CardActionForm().validate_on_submit():
        abort(400)
    card = _card(customer)
    if card is not None:
        services.turn_off_autopay(g.db, card)
        g.db.commit()
        flash("Autopay is off. Nothing more is charged to your card; pay invoices from their page.", "success")
    return redirect(url_for("card.show"), code=303)


@bp.post("/remove")
@requires(PORTAL_CARD)
def remove():
    customer = _customer()
    if not CardActionForm().validate_on_submit():
        abort(400)
    card = _card(customer)
    if card is not None:
        services.remove_card(payments.stripe_client(setting), g.db, _company(), card, user_id=current_user.user_id)
        g.db.commit()
        flash(f"{card.label} removed. Autopay is off.", "success")
    return redirect(url_for("card.show"), code=303)
