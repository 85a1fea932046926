"""Calls to Stripe's API: the customer and subscription that sign-up starts, and a new subscription of a company
whose subscription has ended. Plain functions, no Flask.

Settings (environment, or the app's config in tests): `STRIPE_SECRET_KEY`, one price id per plan
(`STRIPE_PRICE_BASIC`, `STRIPE_PRICE_PROFESSIONAL`, `STRIPE_PRICE_ENTERPRISE`), `STRIPE_TRIAL_DAYS`
(14 unless set; 0 for none) and `STRIPE_API_BASE` (another API host, such as a local fake in tests).

Every call goes through its own `StripeClient`, never the library's module globals (`stripe.api_key`,
`stripe.api_base`): two apps in one process (the tests) must not share a key or a host.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Callable, Mapping

import stripe

from flowtrack.models.companies import Plan

log = logging.getLogger("flowtrack.billing")

PRICE_SETTINGS = {plan.value: f"STRIPE_PRICE_{plan.value.upper()}" for plan in Plan}
DEFAULT_TRIAL_DAYS = 14
# A sign-up waits for Stripe: at most this long per attempt, and the library tries again after a network error
# (the idempotency keys make a retried create return the first result instead of a second object).
TIMEOUT_SECONDS = 10
NETWORK_RETRIES = 1


class Misconfigured(RuntimeError):
    """A secret key without a price for every plan, or a trial length that is not a number."""


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str = field(repr=False)
    prices: Mapping[str, str]
    trial_days: int = DEFAULT_TRIAL_DAYS
    api_base: str | None = None


def load_settings(get: Callable[[str], str | None]) -> StripeSettings | None:
    """Stripe settings from a lookup (name -> value); None when no secret key is set (billing not connected)."""
    secret_key = get("STRIPE_SECRET_KEY")
    if not secret_key:
        return None
    prices = {plan: get(name) for plan, name in PRICE_SETTINGS.items()}
    missing = [PRICE_SETTINGS[plan] for plan, price in prices.items() if not price]
    if missing:
        raise Misconfigured(f"STRIPE_SECRET_KEY is set but {', '.join(missing)} is not")
    trial_days = get("STRIPE_TRIAL_DAYS")
    if trial_days is not None and not (str(trial_days).isdigit() and int(trial_days) <= 730):
        raise Misconfigured("STRIPE_TRIAL_DAYS must be a whole number of days (0 to 730)")
    return StripeSettings(secret_key=secret_key, prices=prices, api_base=get("STRIPE_API_BASE"),
                          trial_days=DEFAULT_TRIAL_DAYS if trial_days is None else int(trial_days))


class BillingFailed(Exception):
    """Stripe did not start the subscription. `reachable` tells an outage from a refusal."""

    def __init__(self, reachable: bool, detail: str):
        super().__init__(detail)
        self.reachable = reachable


def _failure(error: stripe.StripeError, step: str, attempt: uuid.UUID | str, doing: str = "sign-up") -> BillingFailed:
    reachable = not isinstance(error, stripe.APIConnectionError)
    # Stripe's messages name objects and parameters, never the key (an invalid key is shown masked).
    detail = (f"{doing} {attempt}, {step}: {type(error).__name__} (HTTP {error.http_status}, code {error.code}, "
              f"request {error.request_id}): {error.user_message or error}")
    return BillingFailed(reachable, detail)


def _client(settings: StripeSettings) -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.secret_key,
        base_addresses={"api": settings.api_base} if settings.api_base else None,
        max_network_retries=NETWORK_RETRIES,
        http_client=stripe.new_default_http_client(timeout=TIMEOUT_SECONDS),
    )


@dataclass(frozen=True)
class Started:
    customer_id: str
    subscription: dict  # the subscription object as Stripe returned it


def start_subscription(settings: StripeSettings, *, attempt: uuid.UUID, company_name: str, email: str,
                       plan: str) -> Started:
    """A Stripe customer for the new company and its subscription to the plan's price; BillingFailed otherwise.

    `attempt` names this sign-up in the idempotency keys and in the objects' metadata. If the subscription
    cannot be made, the customer is deleted again, so a failed sign-up leaves nothing in Stripe either.
    """
    client = _client(settings)
    metadata = {"flowtrack_signup": str(attempt), "flowtrack_plan": plan}
    try:
        customer = client.v1.customers.create(
            params={"name": company_name, "email": email, "metadata": metadata},
            options={"idempotency_key": f"flowtrack-signup-{attempt}-customer"})
    except stripe.StripeError as error:
        raise _failure(error, "creating the customer", attempt) from error
    params = {
        "customer": customer.id,
        # A recurring price's id is also a plan id (Stripe's prices replaced plans backward-compatibly);
        # `plan` is the item field that both Stripe and localstripe, which the tests run against, accept.
        "items": [{"plan": settings.prices[plan]}],
        "metadata": metadata,
    }
    if settings.trial_days:
        # No card is asked at sign-up: the admin adds one in the customer portal during the trial.
        params["trial_period_days"] = settings.trial_days
    try:
        subscription = client.v1.subscriptions.create(
            params=params, options={"idempotency_key": f"flowtrack-signup-{attempt}-subscription"})
    except stripe.StripeError as error:
        discard_customer(settings, customer.id)
        raise _failure(error, "creating the subscription", attempt) from error
    return Started(customer.id, subscription.to_dict())


def discard_customer(settings: StripeSettings, customer_id: str) -> bool:
    """Delete the customer of a sign-up that did not complete (Stripe cancels its subscriptions with it)."""
    try:
        _client(settings).v1.customers.delete(customer_id)
        return True
    except stripe.StripeError as error:
        log.error("could not delete Stripe customer %s of a failed sign-up (%s: %s); delete it in the Stripe "
                  "dashboard", customer_id, type(error).__name__, error.user_message or error)
        return False


# A subscription in one of these states is over at Stripe: it will never be paid again.
OVER = frozenset({"canceled", "incomplete_expired"})
# Paid for (or in a trial): the subscription keeps the company's data.
PAID = frozenset({"active", "trialing"})


def live_subscriptions(settings: StripeSettings, customer_id: str) -> list[dict]:
    """The customer's subscriptions that are not over (paid, or waiting for a payment), newest first."""
    try:
        listed = _client(settings).v1.subscriptions.list(params={"customer": customer_id, "status": "all",
                                                                  "limit": 20})
    except stripe.StripeError as error:
        raise _failure(error, "listing the subscriptions", customer_id, doing="subscribing again,") from error
    live = [subscription.to_dict() for subscription in listed.data if subscription.status not in OVER]
    return sorted(live, key=lambda subscription: subscription.get("created") or 0, reverse=True)


@dataclass(frozen=True)
class Resubscribed:
    subscription: dict  # as Stripe returned it
    pay_url: str | None = None  # Stripe's page for the first invoice, when the card on file did not pay it

    @property
    def paid(self) -> bool:
        return self.subscription.get("status") in PAID


def subscribe_again(settings: StripeSettings, *, customer_id: str, plan: str, key: str) -> Resubscribed:
    """A new subscription of the company's own Stripe customer to the plan's price, charged to the card on file;
    no trial (the company had it). BillingFailed when Stripe does not make it (no card, say).

    `key` names this request in the idempotency key: the same request sent twice (a retry after a lost answer,
    a double click) returns the first subscription instead of making a second. If the first payment does not go
    through, the subscription waits for it ('incomplete'), and Stripe's page for that invoice is returned."""
    client = _client(settings)
    params = {"customer": customer_id, "items": [{"plan": settings.prices[plan]}],
              "metadata": {"flowtrack_resubscribe": key, "flowtrack_plan": plan}}
    try:
        subscription = client.v1.subscriptions.create(params=params,
                                                      options={"idempotency_key": f"flowtrack-resubscribe-{key}"})
    except stripe.StripeError as error:
        raise _failure(error, "creating the subscription", customer_id, doing="subscribing again,") from error
    started = Resubscribed(subscription.to_dict())
    invoice_id = started.subscription.get("latest_invoice")
    if started.paid or not isinstance(invoice_id, str):
        return started
    try:
        invoice = client.v1.invoices.retrieve(invoice_id)
    except stripe.StripeError as error:
        log.warning("could not read invoice %s of a new subscription: %s", invoice_id, type(error).__name__)
        return started
    return Resubscribed(started.subscription, invoice.to_dict().get("hosted_invoice_url"))
