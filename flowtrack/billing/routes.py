"""Billing: Stripe's webhook (authenticated by signature, not by a session) and the admin's billing page."""
from __future__ import annotations

import logging
import time

import stripe
from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.billing import services, stripe_api
from flowtrack.billing.forms import PaymentAccountForm, SubscribeAgainForm
from flowtrack.companies import state
from flowtrack.core.config import setting
from flowtrack.core.db import utcnow
from flowtrack.core.extensions import csrf
from flowtrack.core.permissions import BILLING_MANAGE, public, requires
from flowtrack.core.web import get_db
from flowtrack.models.companies import Company

bp = Blueprint("billing", __name__)
log = logging.getLogger("flowtrack.billing")

# Seconds a signature stays valid, both ways: the library refuses old timestamps, we refuse future ones too.
SIGNATURE_TOLERANCE = 300


class _FutureTimestamp(ValueError):
    pass


def _refuse_future_timestamp(header: str) -> None:
    timestamps = [int(part[2:]) for part in header.split(",") if part.startswith("t=")]
    if not timestamps or timestamps[0] > time.time() + SIGNATURE_TOLERANCE:
        raise _FutureTimestamp("timestamp is in the future")


@bp.post("/webhooks/stripe")
@csrf.exempt
@public  # no session: Stripe's signature over the raw body is the authentication
def stripe_webhook():
    """Apply one Stripe event, once, if its signature is good."""
    secret = setting("STRIPE_WEBHOOK_SECRET")
    if not secret:
        log.error("Stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set")
        return jsonify(error="webhooks are not configured"), 503
    payload = request.get_data()
    header = request.headers.get("Stripe-Signature")
    try:
        event = stripe.Webhook.construct_event(payload, header, secret, tolerance=SIGNATURE_TOLERANCE)
        _refuse_future_timestamp(header)
    except (stripe.SignatureVerificationError, ValueError) as error:
        # The payload is not logged: it is unauthenticated input and may carry customer details.
        reason = "no Stripe-Signature header" if not header else type(error).__name__
        log.warning("Stripe webhook refused (%s) from %s, %d bytes", reason, request.remote_addr, len(payload))
        return jsonify(error="invalid signature"), 400
    with get_db().service() as session:
        outcome = services.handle_event(session, event.to_dict())
        session.commit()
    log.info("Stripe event %s (%s): %s", outcome.event_id, event.type, outcome.result)
    return jsonify(received=True, outcome=outcome.result)


@bp.get("/billing/")
@requires(BILLING_MANAGE)
def index():
    """The plan and subscription, and the way to the Stripe customer portal (card, plan, cancel, resume)."""
    company = g.db.get(Company, current_user.company_id)
    return _page(company)


def _page(company: Company, form: PaymentAccountForm | None = None, status: int = 200,
          subscribe_form: SubscribeAgainForm | None = None):
    form = form or PaymentAccountForm(formdata=None, stripe_account_id=company.stripe_account_id)
    subscribe_form = subscribe_form or SubscribeAgainForm(formdata=None, plan=company.plan)
    return render_template("billing/index.html", company=company, portal_url=setting("STRIPE_PORTAL_URL"),
                           account_form=form, subscribe_form=subscribe_form,
                           can_subscribe_again=services.can_subscribe_again(company) and _stripe() is not None,
                           read_only=state.grace_started(company, utcnow()),
                           deletion_at=state.scheduled_deletion(company), grace_days=state.GRACE_DAYS), status


def _stripe() -> stripe_api.StripeSettings | None:
    try:
        return stripe_api.load_settings(setting)
    except stripe_api.Misconfigured as error:
        log.error("billing: %s", error)
        return None


SUBSCRIBED_AGAIN = ("Subscribed again. As soon as Stripe confirms the payment (usually within a minute) FlowTrack "
                    "is writable again, and nothing is deleted.")
NOT_PAID = ("Stripe could not take the first payment with the card on file. Change the card under \"Manage billing "
            "in Stripe\" and pay the open invoice there; FlowTrack is writable again once Stripe confirms it.")
NO_CARD = ("Stripe did not start the subscription (is there a card on file?). Add or change the card under "
           "\"Manage billing in Stripe\", then subscribe again.")
UNREACHABLE = "We could not reach Stripe, so nothing was changed or charged. Please try again in a few minutes."


@bp.post("/billing/payment-account")
@requires(BILLING_MANAGE)
def payment_account():
    """The company's own Stripe account, where its customers' online invoice payments go."""
    company = g.db.get(Company, current_user.company_id)
    form = PaymentAccountForm()
    if not form.validate_on_submit():
        return _page(company, form, 422)
    services.set_payment_account(g.db, company, form.stripe_account_id.data or None)
    g.db.commit()
    flash("Payment account saved.", "success")
    return redirect(url_for("billing.index"), code=303)


@bp.post("/billing/subscribe-again")
@requires(BILLING_MANAGE)
def subscribe_again():
    """A new subscription for a company whose paid period has ended (allowed in grace: it ends the grace)."""
    company = g.db.get(Company, current_user.company_id)
    form = SubscribeAgainForm()
    settings = _stripe()
    if settings is None:  # the page offers no such button then: a form from elsewhere, refused as it stands
        flash("Billing is not connected on this server, so a subscription cannot start here.", "error")
        return _page(company, subscribe_form=form, status=409)
    if not form.validate_on_submit():
        return _page(company, subscribe_form=form, status=422)
    try:
        started = services.subscribe_again(g.db, company, settings, form.plan.data)
    except services.CannotSubscribeAgain:
        flash("The subscription has not ended: change or resume it under \"Manage billing in Stripe\".", "error")
    except services.AlreadySubscribed as existing:
        flash(SUBSCRIBED_AGAIN if existing.paid else NOT_PAID, "success" if existing.paid else "error")
    except stripe_api.BillingFailed as failure:
        log.error("subscribing again failed at Stripe: %s", failure)
        flash(NO_CARD if failure.reachable else UNREACHABLE, "error")
    else:
        g.db.commit()
        if not started.paid and started.pay_url:
            return redirect(started.pay_url, code=303)  # Stripe's page for the first invoice
        flash(SUBSCRIBED_AGAIN if started.paid else NOT_PAID, "success" if started.paid else "error")
    return redirect(url_for("billing.index"), code=303)
