"""Stripe events as Stripe sends them: JSON bodies signed with the endpoint secret (Stripe's own scheme)."""
from __future__ import annotations

import datetime as dt
import json
import secrets
import time

import stripe

from tests.run_log import remember_secret

WEBHOOK_SECRET = remember_secret("whsec_test_" + "s" * 32)
DAY = 24 * 3600


def subscribe(app, company_id, *, customer: str | None = None, subscription: str | None = None,
              **fields) -> tuple[str, str]:
    """Give a company Stripe ids (what sign-up does) and any other subscription columns; returns the ids."""
    from flowtrack.models.companies import Company

    customer = customer or f"cus_{secrets.token_hex(6)}"
    subscription = subscription or f"sub_{secrets.token_hex(6)}"
    with app.extensions["flowtrack.db"].service() as session:
        company = session.get(Company, company_id)
        company.stripe_customer_id, company.stripe_subscription_id = customer, subscription
        for name, value in fields.items():
            setattr(company, name, value)
        session.commit()
    return customer, subscription


def subscription_event(event_type: str, subscription: str, customer: str, *, created: int, status: str = "active",
                       cancel_at_period_end: bool = False, period_end: int | None = None, ended_at: int | None = None,
                       lookup_key: str | None = None, event_id: str | None = None, note: str = "") -> dict:
    """A customer.subscription.* event of API version 2025-03-31 or later (the period's end is on the items)."""
    return {
        "id": event_id or f"evt_{secrets.token_hex(8)}",
        "object": "event",
        "api_version": "2025-08-27.basil",
        "type": event_type,
        "created": created,
        "data": {"object": {
            "id": subscription,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "cancel_at_period_end": cancel_at_period_end,
            "canceled_at": created if cancel_at_period_end or status == "canceled" else None,
            "ended_at": ended_at,
            "description": note or None,
            "items": {"object": "list", "data": [{
                "id": f"si_{secrets.token_hex(6)}", "object": "subscription_item",
                "current_period_end": period_end,
                "price": {"id": f"price_{secrets.token_hex(4)}", "object": "price", "lookup_key": lookup_key},
            }]},
        }},
    }


def signature(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


def deliver(client, event: dict, **signing):
    """POST the event to the webhook the way Stripe does: raw JSON, Stripe-Signature header, no cookies."""
    payload = json.dumps(event)
    return client.post("/webhooks/stripe", data=payload, content_type="application/json",
                       headers={"Stripe-Signature": signature(payload, **signing)})


def at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def now() -> int:
    return int(time.time())
