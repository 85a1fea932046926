"""Stripe subscription events applied to the companies table. Plain functions on a service-role session.

The webhook is one of the few narrow uses of the service role (no person is
signed in): it finds one company by its Stripe ids, updates its subscription
columns, and audits what changed. Customers' invoice payments arrive on the
same webhook and are applied by flowtrack/invoices/payments.py. Each event id is recorded in
`stripe_events` in the same transaction as its effects, so a replay changes
nothing, and a redelivery racing the first waits on the primary key and
then changes nothing either.

Stripe does not deliver events in order. Each company keeps the creation
time of the event that produced its current subscription state
(`subscription_state_at`); an older event is recorded and otherwise ignored.
A canceled subscription never becomes active again in Stripe, so once a
subscription is canceled no later-delivered state of that same subscription
can revive it. Only a new, paid subscription of the same Stripe customer can
(re-subscribing during grace).

Re-subscribing: once the paid period has ended, the company admin can
subscribe again from the billing page until the sweep runs (`subscribe_again`).
That asks Stripe for a new subscription of the company's own Stripe customer;
the company changes when Stripe's webhook says it is paid, as for every change
made at Stripe, and then nothing of the company has been lost.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import insert

from flowtrack.audit import services as audit
from flowtrack.billing import stripe_api
from flowtrack.core.db import utcnow
from flowtrack.invoices import payments
from flowtrack.models.billing import StripeEvent
from flowtrack.models.companies import Company, Plan

log = logging.getLogger("flowtrack.billing")

SUBSCRIPTION_EVENTS = frozenset({
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
})
# The status after which a Stripe subscription can never be paid again.
ENDED_STATUSES = frozenset({"canceled"})
# A new subscription takes over from an ended or ending one only once it is paid for (or trialing).
PAID_STATUSES = frozenset({"active", "trialing"})
TRACKED_FIELDS = ("plan", "stripe_subscription_id", "subscription_status", "cancel_at_period_end",
                  "current_period_end", "deletion_clock_starts_at")
PLANS = frozenset(plan.value for plan in Plan)


@dataclass(frozen=True)
class Outcome:
    event_id: str
    result: str  # applied, unchanged, stale, unmatched, ignored, duplicate
    company_id: uuid.UUID | None = None


def _time(seconds: Any) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(seconds), dt.timezone.utc) if seconds else None


def _period_end(subscription: dict) -> dt.datetime | None:
    """The paid period's end. API versions from 2025-03-31 carry it on the items, older ones on the subscription."""
    if subscription.get("current_period_end"):
        return _time(subscription["current_period_end"])
    ends = [item.get("current_period_end") for item in (subscription.get("items") or {}).get("data", [])]
    ends = [end for end in ends if end]
    return _time(max(ends)) if ends else None


def _plan(subscription: dict) -> str | None:
    """Our plan, from the price's lookup key (the prices are named after the plans)."""
    for item in (subscription.get("items") or {}).get("data", []):
        lookup_key = (item.get("price") or {}).get("lookup_key")
        if lookup_key in PLANS:
            return lookup_key
    return None


def _state(company: Company) -> dict[str, Any]:
    return {field: getattr(company, field) for field in TRACKED_FIELDS}


def _find_company(session: so.Session, subscription: dict) -> Company | None:
    """The company this subscription belongs to, locked for the rest of the transaction."""
    by_subscription = session.scalar(sa.select(Company).where(Company.stripe_subscription_id == subscription["id"])
                                     .with_for_update())
    if by_subscription is not None:
        return by_subscription
    customer = subscription.get("customer")
    if not customer:
        return None
    return session.scalar(sa.select(Company).where(Company.stripe_customer_id == customer).with_for_update())


def _is_current_subscription(company: Company, subscription: dict) -> bool:
    """Whether the event may speak for the company: its own subscription, or a live new one that replaces it."""
    if company.stripe_subscription_id in (None, subscription["id"]):
        return True
    replaceable = company.subscription_status in ENDED_STATUSES or company.cancel_at_period_end
    return replaceable and subscription.get("status") in PAID_STATUSES


def _apply(company: Company, subscription: dict, state_at: dt.datetime) -> None:
    status = subscription.get("status") or company.subscription_status
    if subscription["id"] != company.stripe_subscription_id:
        company.stripe_subscription_id = subscription["id"]
    company.subscription_status = status
    company.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    company.current_period_end = _period_end(subscription) or company.current_period_end
    company.plan = _plan(subscription) or company.plan
    company.subscription_state_at = state_at
    if status in ENDED_STATUSES:
        # Cancelled at the period's end: the pinned clock stands. Ended without notice (failed payments): now.
        if company.deletion_clock_starts_at is None:
            company.deletion_clock_starts_at = (_time(subscription.get("ended_at"))
                                                or _time(subscription.get("canceled_at")) or state_at)
    elif company.cancel_at_period_end:
        company.deletion_clock_starts_at = company.current_period_end or _time(subscription.get("cancel_at"))
    else:
        company.deletion_clock_starts_at = None  # reversed (or never cancelled): nothing is lost


def handle_event(session: so.Session, event: dict) -> Outcome:
    """Apply one verified Stripe event; the caller commits. Replays and stale events change nothing."""
    event_id, event_type = event["id"], event["type"]
    created = _time(event.get("created")) or utcnow()
    claimed = session.execute(
        insert(StripeEvent).values(id=event_id, type=event_type, created_at=created, received_at=utcnow(),
                                   outcome="ignored")
        .on_conflict_do_nothing(index_elements=["id"]).returning(StripeEvent.id)
    ).scalar()
    if claimed is None:
        return Outcome(event_id, "duplicate")
    if event_type in payments.EVENTS:
        return _record(session, event_id, *payments.apply_event(session, event))
    if event_type not in SUBSCRIPTION_EVENTS:
        return Outcome(event_id, "ignored")

    subscription = event["data"]["object"]
    if event_type == "customer.subscription.deleted":
        subscription = {**subscription, "status": "canceled"}
    company = _find_company(session, subscription)
    if company is None:
        log.warning("stripe event %s (%s) matches no company", event_id, event_type)
        return _record(session, event_id, "unmatched", None)
    if company.tombstoned_at is not None or not _is_current_subscription(company, subscription):
        return _record(session, event_id, "ignored", company.id)
    if _is_stale(company, subscription, created):
        return _record(session, event_id, "stale", company.id)

    before = _state(company)
    _apply(company, subscription, created)
    after = _state(company)
    if before == after:
        return _record(session, event_id, "unchanged", company.id)
    audit.record(session, "subscription.changed", entity_type="company", entity_id=company.id,
                 company_id=company.id, actor=audit.Actor(None, f"Stripe event {event_id}"),
                 changes=audit.changes_between(before, after))
    return _record(session, event_id, "applied", company.id)


def _is_stale(company: Company, subscription: dict, created: dt.datetime) -> bool:
    if company.subscription_state_at is not None and created < company.subscription_state_at:
        return True
    same = subscription["id"] == company.stripe_subscription_id
    return same and company.subscription_status in ENDED_STATUSES and subscription.get("status") not in ENDED_STATUSES


def _record(session: so.Session, event_id: str, outcome: str, company_id: uuid.UUID | None) -> Outcome:
    session.execute(sa.update(StripeEvent).where(StripeEvent.id == event_id)
                    .values(outcome=outcome, company_id=company_id))
    return Outcome(event_id, outcome, company_id)


def set_payment_account(session: so.Session, company: Company, account_id: str | None) -> None:
    before = company.stripe_account_id
    if before == account_id:
        return
    company.stripe_account_id = account_id
    audit.record(session, "company.payment_account_changed", entity_type="company", entity_id=company.id,
                 changes=audit.changes_between({"stripe_account_id": before}, {"stripe_account_id": account_id}))


class CannotSubscribeAgain(Exception):
    """The subscription has not ended (change or resume it in the Stripe portal), or there is no Stripe customer."""


class AlreadySubscribed(Exception):
    """The company's Stripe customer already has a subscription that is not over: paid, and the webhook has not
    said so yet, or waiting for its first payment."""

    def __init__(self, subscription: dict):
        super().__init__(subscription.get("status"))
        self.subscription = subscription

    @property
    def paid(self) -> bool:
        return self.subscription.get("status") in stripe_api.PAID


def can_subscribe_again(company: Company) -> bool:
    """Whether the company's subscription has ended and the company is still there: in grace, before the sweep."""
    return (company.tombstoned_at is None and company.stripe_customer_id is not None
            and company.subscription_status in ENDED_STATUSES)


def subscribe_again(session: so.Session, company: Company, settings: stripe_api.StripeSettings,
                    plan: str) -> stripe_api.Resubscribed:
    """A new subscription to `plan` for a company whose subscription has ended, charged to the card on file at
    Stripe; audited in the caller's transaction (the caller commits). The company itself changes when Stripe's
    webhook says the subscription is paid (`handle_event`). The session's transaction ends before Stripe is asked:
    no transaction waits on Stripe. Raises CannotSubscribeAgain, AlreadySubscribed or stripe_api.BillingFailed."""
    if not can_subscribe_again(company):
        raise CannotSubscribeAgain(company.subscription_status)
    customer_id, ended = company.stripe_customer_id, company.stripe_subscription_id
    session.commit()
    live = stripe_api.live_subscriptions(settings, customer_id)
    if live:
        raise AlreadySubscribed(live[0])
    # The same company, ended subscription and plan make the same request: a second click returns the first.
    started = stripe_api.subscribe_again(settings, customer_id=customer_id, plan=plan,
                                         key=f"{company.id}-{ended}-{plan}")
    audit.record(session, "subscription.requested", entity_type="company", entity_id=company.id,
                 company_id=company.id,
                 changes=audit.changes_between(None, {"plan": plan,
                                                      "stripe_subscription_id": started.subscription["id"],
                                                      "status": started.subscription.get("status")}))
    log.info("company %s subscribed again: Stripe subscription %s is %s", company.id, started.subscription["id"],
             started.subscription.get("status"))
    return started
