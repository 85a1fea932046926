"""Customers paying invoices online: a Stripe PaymentIntent on the company's own (Connect) account, and the
webhook events that say the money arrived or went back. The browser's word is never taken: a payment is
recorded only from a verified `payment_intent.succeeded`, once per PaymentIntent, and a refund from
`charge.refunded`, once per amount refunded. An autopay charge (`invoices.autopay`) settles the same way.
"""
from __future__ import annotations

import uuid
from typing import Callable
from urllib.parse import urlsplit

import sqlalchemy as sa
import sqlalchemy.orm as so
import stripe

from flowtrack.audit import services as audit
from flowtrack.core.db import utcnow
from flowtrack.core.web import CSP
from flowtrack.invoices import autopay
from flowtrack.invoices import services as invoices
from flowtrack.models.companies import Company
from flowtrack.models.invoicing import Invoice, InvoiceKind, Payment, PaymentMethod

EVENTS = frozenset({"payment_intent.succeeded", "charge.refunded"})
TIMEOUT_SECONDS = 10
STRIPE_JS = "https://js.stripe.com/v3/"


class CannotPay(Exception):
    """Online payment is not possible for this invoice now; the message says why, for the customer."""


def stripe_client(get: Callable[[str], str | None]) -> stripe.StripeClient | None:
    """A client for the platform's key (`STRIPE_SECRET_KEY`, `STRIPE_API_BASE`), or None without a key."""
    key = get("STRIPE_SECRET_KEY")
    if not key:
        return None
    base = get("STRIPE_API_BASE")
    return stripe.StripeClient(key, base_addresses={"api": base} if base else None, max_network_retries=1,
                               http_client=stripe.new_default_http_client(timeout=TIMEOUT_SECONDS))


def stripe_js_url(get: Callable[[str], str | None]) -> str:
    """Stripe's script for the card field (`STRIPE_JS_URL`: another host's copy, such as a local fake in tests)."""
    return get("STRIPE_JS_URL") or STRIPE_JS


def csp_with_stripe(js_url: str) -> str:
    """Our policy, plus Stripe's script, card frame and API for a card page (the card never touches us)."""
    parts = urlsplit(js_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return (CSP.replace("script-src 'self'", f"script-src 'self' {origin}")
            .replace("connect-src 'self'", f"connect-src 'self' {origin} https://api.stripe.com")
            + f"; frame-src {origin} https://hooks.stripe.com")


def online_payments_ready(company: Company, publishable_key: str | None) -> bool:
    """Whether the portal can take a card for this company: the installation has Stripe's keys and the company
    connected its own Stripe account."""
    return bool(publishable_key) and bool(company.stripe_account_id)


def start_payment(client: stripe.StripeClient | None, company: Company, invoice: Invoice) -> stripe.PaymentIntent:
    """A PaymentIntent for what the invoice still asks for, on the company's Stripe account. Asking twice for
    the same balance returns the same PaymentIntent (idempotency key), so a double click charges once."""
    if client is None or not company.stripe_account_id:
        raise CannotPay("Online payment is not set up by this company yet; please pay by check or call them.")
    if invoice.kind != InvoiceKind.invoice.value or invoice.status not in invoices.OPEN or invoice.balance_cents <= 0:
        raise CannotPay("This invoice has nothing left to pay.")
    params = {"amount": invoice.balance_cents, "currency": invoice.currency.lower(), "payment_method_types": ["card"],
              "metadata": {"flowtrack_company": str(company.id), "flowtrack_invoice": str(invoice.id),
                           "flowtrack_invoice_number": str(invoice.number)}}
    try:
        return client.v1.payment_intents.create(params=params, options={
            "stripe_account": company.stripe_account_id,
            "idempotency_key": f"flowtrack-invoice-{invoice.id}-{invoice.paid_cents}-{invoice.balance_cents}"})
    except stripe.StripeError as error:
        raise CannotPay("The payment service did not answer; please try again in a minute.") from error


def _invoice_of(session: so.Session, metadata: dict) -> Invoice | None:
    try:
        company_id, invoice_id = uuid.UUID(metadata["flowtrack_company"]), uuid.UUID(metadata["flowtrack_invoice"])
    except (KeyError, TypeError, ValueError):
        return None
    return session.scalar(sa.select(Invoice).where(Invoice.id == invoice_id, Invoice.company_id == company_id)
                          .with_for_update())


def _card_total(session: so.Session, invoice: Invoice, intent_id: str, sign: int) -> int:
    return session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Payment.amount_cents), 0)).where(
        Payment.invoice_id == invoice.id, Payment.method == PaymentMethod.card.value, Payment.reference == intent_id,
        Payment.amount_cents * sign > 0))


def apply_event(session: so.Session, event: dict) -> tuple[str, uuid.UUID | None]:
    """A verified payment event (service role); returns (outcome, company id). Idempotent per PaymentIntent."""
    data = event["data"]["object"]
    intent_id = data["id"] if event["type"] == "payment_intent.succeeded" else data.get("payment_intent")
    invoice = _invoice_of(session, data.get("metadata") or {})
    if invoice is None or not intent_id:
        return "unmatched", None
    company = session.get(Company, invoice.company_id)
    if event.get("account") and event["account"] != company.stripe_account_id:
        return "ignored", company.id  # an event of another account naming our invoice
    actor = audit.Actor(None, f"Stripe event {event['id']}")
    if event["type"] == "payment_intent.succeeded":
        if _card_total(session, invoice, intent_id, 1):
            return "unchanged", company.id
        amount = int(data.get("amount_received") or data["amount"])
        if (data.get("metadata") or {}).get("flowtrack_autopay"):
            autopay.mark_paid(session, company.id, intent_id)
    else:
        amount = -(int(data.get("amount_refunded") or 0) + _card_total(session, invoice, intent_id, -1))
        if amount == 0:
            return "unchanged", company.id
    session.add(Payment(company_id=company.id, invoice_id=invoice.id, amount_cents=amount,
                        method=PaymentMethod.card.value, reference=intent_id, received_on=utcnow().date()))
    invoices.apply_payment(session, invoice, amount, company_id=company.id, actor=actor)
    audit.record(session, "payment.recorded" if amount > 0 else "payment.refunded", entity_type="invoice",
                 entity_id=invoice.id, company_id=company.id, actor=actor,
                 changes={"amount_cents": amount, "method": "card", "reference": intent_id})
    return "applied", company.id
