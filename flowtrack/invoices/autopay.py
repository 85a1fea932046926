"""Cards on file and autopay: saving a customer's card through a Stripe SetupIntent on the company's account,
the customer's consent to be charged automatically, and charging a sent invoice to that card off-session.

The card's number never reaches FlowTrack: the customer types it into Stripe's field, Stripe confirms the
SetupIntent, and the server reads the result back from Stripe (the browser's word is never taken). A charge
is an off-session PaymentIntent whose idempotency key names the invoice and the attempt, so a job run twice,
or two workers at once, ask Stripe for one charge. The invoice counts as paid only when Stripe's signed
webhook says the PaymentIntent succeeded (`invoices.payments.apply_event`), as for any card payment.

A declined charge is tried again `RETRY_GAPS` days later while the invoice is open, the card on file and
autopay on; a card whose bank wants the customer present (3-D Secure) is not tried again off-session: the
customer is emailed a link to pay on the invoice's page.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
import sqlalchemy.orm as so
import stripe

from flowtrack.audit import services as audit
from flowtrack.core.db import utcnow
from flowtrack.core.money import format_cents
from flowtrack.invoices import services as invoices
from flowtrack.models.autopay import AutopayCharge, ChargeStatus, SavedCard
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer
from flowtrack.models.invoicing import Invoice, InvoiceKind
from flowtrack.notifications.services import send_email

log = logging.getLogger("flowtrack.autopay")

# Days from one declined attempt to the next: tried again after 3 days, and once more 7 days after the first.
RETRY_GAPS = (3, 4)
CONSENT = ("I authorize {company} to charge {card} for each invoice {company} sends me, on the day it is "
           "sent, until I turn autopay off or remove the card in my account.")
NEEDS_CONFIRMATION = "Your bank asks you to confirm this payment yourself."


class CardRefused(Exception):
    """Saving the card did not work; the message says why, for the customer."""


class NotYours(LookupError):
    """A SetupIntent of another customer or company: not found, as any other's id."""


# --- reading ----------------------------------------------------------------------------------------------

def live_card(session: so.Session, customer_id: uuid.UUID, *, for_update: bool = False) -> SavedCard | None:
    """The customer's card on file (one at most), or None."""
    query = SavedCard.on_file(customer_id)
    return session.scalar(query.with_for_update() if for_update else query)


def charges_of(session: so.Session, invoice_id: uuid.UUID) -> list[AutopayCharge]:
    """The invoice's autopay attempts, first first."""
    return list(session.scalars(sa.select(AutopayCharge).where(AutopayCharge.invoice_id == invoice_id)
                                .order_by(AutopayCharge.attempt)))


def failed_invoice_ids(session: so.Session, invoice_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these invoices' latest autopay attempt failed (the office sees them as "payment failed")."""
    if not invoice_ids:
        return set()
    latest = (sa.select(AutopayCharge.invoice_id, sa.func.max(AutopayCharge.attempt).label("attempt"))
              .where(AutopayCharge.invoice_id.in_(invoice_ids)).group_by(AutopayCharge.invoice_id).subquery())
    failed = (ChargeStatus.declined.value, ChargeStatus.needs_confirmation.value)
    return set(session.scalars(sa.select(AutopayCharge.invoice_id).join(latest, sa.and_(
        latest.c.invoice_id == AutopayCharge.invoice_id, latest.c.attempt == AutopayCharge.attempt))
        .where(AutopayCharge.status.in_(failed))))


def consent_text(company: Company, card: SavedCard | None) -> str:
    """The words a customer agrees to, as the page shows them (of a card not saved yet: "this card")."""
    return CONSENT.format(company=company.name, card=f"my {card.label}" if card else "this card")


# --- saving a card ----------------------------------------------------------------------------------------

def _account(company: Company) -> dict:
    return {"stripe_account": company.stripe_account_id}


def _stripe_customer(client: stripe.StripeClient, session: so.Session, company: Company, customer: Customer) -> str:
    """The customer at Stripe on the company's account: the one an earlier card used, or a new one."""
    known = session.scalar(sa.select(SavedCard.stripe_customer_id).where(SavedCard.customer_id == customer.id)
                           .order_by(SavedCard.saved_at.desc()).limit(1))
    if known:
        return known
    made = client.v1.customers.create(
        params={"name": customer.name, "metadata": {"flowtrack_company": str(company.id),
                                                    "flowtrack_customer": str(customer.id)}},
        options={**_account(company), "idempotency_key": f"flowtrack-card-customer-{customer.id}"})
    return made.id


def start_saving(client: stripe.StripeClient | None, session: so.Session, company: Company,
                 customer: Customer) -> stripe.SetupIntent:
    """A SetupIntent for a card the customer may be charged on later (off-session), on the company's account."""
    if client is None or not company.stripe_account_id:
        raise CardRefused("Saving a card is not set up by this company yet.")
    try:
        return client.v1.setup_intents.create(
            params={"customer": _stripe_customer(client, session, company, customer), "usage": "off_session",
                    "payment_method_types": ["card"],
                    "metadata": {"flowtrack_company": str(company.id), "flowtrack_customer": str(customer.id)}},
            options=_account(company))
    except stripe.StripeError as error:
        log.warning("starting a card setup failed at Stripe: %s", type(error).__name__)
        raise CardRefused("The payment service did not answer; please try again in a minute.") from error


def save_card(client: stripe.StripeClient | None, session: so.Session, company: Company, customer: Customer,
              setup_intent_id: str, *, user_id: uuid.UUID, autopay_words: str | None, ip: str | None) -> SavedCard:
    """Keep the card of a SetupIntent that Stripe says succeeded for this customer, in place of the card on file;
    with `autopay_words`, the consent the customer gave with it. Saving the same SetupIntent twice keeps one."""
    if client is None or not company.stripe_account_id:
        raise CardRefused("Saving a card is not set up by this company yet.")
    try:
        intent = client.v1.setup_intents.retrieve(setup_intent_id, options=_account(company))
    except stripe.InvalidRequestError as error:  # not on this company's account
        raise NotYours(setup_intent_id) from error
    except stripe.StripeError as error:
        raise CardRefused("We could not confirm the card with the payment service; please try again.") from error
    metadata = intent.to_dict().get("metadata") or {}
    if (metadata.get("flowtrack_customer"), metadata.get("flowtrack_company")) != (str(customer.id), str(company.id)):
        raise NotYours(setup_intent_id)
    if intent.status != "succeeded" or not intent.payment_method:
        raise CardRefused("The card was not saved: the payment service did not confirm it. Please try again.")
    current = live_card(session, customer.id, for_update=True)
    if current is not None and current.payment_method_id == intent.payment_method:
        return current
    try:
        method = client.v1.payment_methods.retrieve(intent.payment_method, options=_account(company))
        if method.customer != intent.customer:  # Stripe attaches it on success; a missed attach is made here
            method = client.v1.payment_methods.attach(method.id, params={"customer": intent.customer},
                                                      options=_account(company))
    except stripe.StripeError as error:
        raise CardRefused("We could not confirm the card with the payment service; please try again.") from error
    if current is not None:
        remove_card(client, session, company, current, user_id=user_id, replaced=True)
    card = SavedCard(company_id=company.id, customer_id=customer.id, stripe_customer_id=intent.customer,
                     payment_method_id=method.id, brand=method.card.brand or "card", last4=method.card.last4,
                     exp_month=method.card.exp_month, exp_year=method.card.exp_year, saved_by=user_id)
    session.add(card)
    session.flush()
    audit.record(session, "card.saved", entity_type="customer", entity_id=customer.id,
                 changes={"card": card.label, "expires": card.expiry})
    if autopay_words:
        turn_on_autopay(session, card, autopay_words, user_id=user_id, ip=ip)
    return card


def turn_on_autopay(session: so.Session, card: SavedCard, words: str, *, user_id: uuid.UUID | None,
                    ip: str | None) -> None:
    """Record the customer's consent as given: when, the words shown, from where and by whom."""
    if card.autopay_on:
        return
    card.autopay_since, card.autopay_stopped_at = utcnow(), None
    card.autopay_consent_text, card.autopay_consent_ip, card.autopay_consented_by = words, ip, user_id
    audit.record(session, "autopay.consented", entity_type="customer", entity_id=card.customer_id,
                 changes={"card": card.label, "consent": card.autopay_consent_text, "ip": ip})


def turn_off_autopay(session: so.Session, card: SavedCard) -> None:
    """Withdraw the consent: from this moment no invoice is charged to the card, not even a retry."""
    if not card.autopay_on:
        return
    card.autopay_stopped_at = utcnow()
    audit.record(session, "autopay.withdrawn", entity_type="customer", entity_id=card.customer_id,
                 changes={"card": card.label})


def remove_card(client: stripe.StripeClient | None, session: so.Session, company: Company, card: SavedCard, *,
                user_id: uuid.UUID, replaced: bool = False) -> None:
    """Forget the card (autopay stops with it) and detach it at Stripe. A detach Stripe does not answer is
    logged: the card is gone for FlowTrack either way, and nothing charges a card FlowTrack does not know."""
    turn_off_autopay(session, card)
    card.removed_at, card.removed_by = utcnow(), user_id
    audit.record(session, "card.replaced" if replaced else "card.removed", entity_type="customer",
                 entity_id=card.customer_id, changes={"card": card.label})
    if client is None or not company.stripe_account_id:
        return
    try:
        client.v1.payment_methods.detach(card.payment_method_id, options=_account(company))
    except stripe.StripeError as error:
        log.warning("detaching payment method %s at Stripe failed: %s", card.payment_method_id, type(error).__name__)


# --- charging ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """What Stripe said to an off-session charge."""
    status: ChargeStatus
    intent_id: str | None = None
    failure: str | None = None


def _ask_stripe(client: stripe.StripeClient, company: Company, invoice: Invoice, card: SavedCard,
                attempt: int) -> Answer:
    """One off-session charge of the invoice's balance. A network failure raises (the job runs again, with the
    same idempotency key, so Stripe answers the first request's result instead of charging twice)."""
    params = {"amount": invoice.balance_cents, "currency": invoice.currency.lower(), "payment_method_types": ["card"],
              "customer": card.stripe_customer_id, "payment_method": card.payment_method_id,
              "off_session": True, "confirm": True,
              "metadata": {"flowtrack_company": str(company.id), "flowtrack_invoice": str(invoice.id),
                           "flowtrack_invoice_number": str(invoice.number), "flowtrack_autopay": str(attempt)}}
    try:
        intent = client.v1.payment_intents.create(params=params, options={
            **_account(company), "idempotency_key": f"flowtrack-autopay-{invoice.id}-{attempt}"})
    except stripe.CardError as error:
        intent_id = ((error.json_body or {}).get("error") or {}).get("payment_intent", {}).get("id")
        if error.code == "authentication_required":
            return Answer(ChargeStatus.needs_confirmation, intent_id, NEEDS_CONFIRMATION)
        return Answer(ChargeStatus.declined, intent_id, error.user_message or "The card was declined.")
    except stripe.InvalidRequestError as error:  # the card is no longer usable at Stripe (detached, deleted)
        log.warning("autopay of invoice %s refused by Stripe: %s", invoice.id, error.code)
        return Answer(ChargeStatus.declined, None, "The card on file could not be charged.")
    if intent.status in ("succeeded", "processing"):
        return Answer(ChargeStatus.submitted, intent.id)
    if intent.status == "requires_action":
        return Answer(ChargeStatus.needs_confirmation, intent.id, NEEDS_CONFIRMATION)
    error = intent.to_dict().get("last_payment_error") or {}
    return Answer(ChargeStatus.declined, intent.id, error.get("message") or "The card was declined.")


def chargeable(invoice: Invoice) -> bool:
    return (invoice.kind == InvoiceKind.invoice.value and invoice.status in invoices.OPEN
            and invoice.balance_cents > 0)


def charge_invoice(client: stripe.StripeClient | None, session: so.Session, invoice_id: uuid.UUID, attempt: int,
                   today: dt.date, pay_link: Callable[[Invoice], str]) -> AutopayCharge | None:
    """Charge the invoice's balance to its customer's card, if autopay is on now. Returns the attempt's row
    (the existing one when this attempt was made already), or None when nothing is to be charged. Holds the
    invoice's row lock across Stripe's answer, so a second run waits and then finds the attempt made."""
    invoice = session.scalar(sa.select(Invoice).where(Invoice.id == invoice_id).with_for_update())
    if invoice is None:
        return None
    made = session.scalar(sa.select(AutopayCharge).where(AutopayCharge.invoice_id == invoice.id,
                                                         AutopayCharge.attempt == attempt))
    if made is not None:
        return made
    card = live_card(session, invoice.customer_id)
    company = session.get(Company, invoice.company_id)
    if client is None or not company.stripe_account_id or card is None or not card.autopay_on \
            or not chargeable(invoice):
        return None
    amount = invoice.balance_cents
    answer = _ask_stripe(client, company, invoice, card, attempt)
    retry_on = (today + dt.timedelta(days=RETRY_GAPS[attempt - 1])
                if answer.status == ChargeStatus.declined and attempt <= len(RETRY_GAPS) else None)
    charge = AutopayCharge(company_id=company.id, invoice_id=invoice.id, card_id=card.id, attempt=attempt,
                           amount_cents=amount, payment_intent_id=answer.intent_id, status=answer.status.value,
                           failure=answer.failure, next_attempt_on=retry_on)
    session.add(charge)
    audit.record(session, "autopay.charged" if answer.status == ChargeStatus.submitted else "autopay.failed",
                 entity_type="invoice", entity_id=invoice.id,
                 changes={"attempt": attempt, "amount_cents": amount, "card": card.label,
                          "payment_intent": answer.intent_id, "status": answer.status.value,
                          "failure": answer.failure, "next_attempt_on": retry_on})
    if charge.failed:
        _tell_customer(session, company, invoice, card, charge, pay_link(invoice))
    return charge


def _tell_customer(session: so.Session, company: Company, invoice: Invoice, card: SavedCard, charge: AutopayCharge,
                   link: str) -> None:
    email = (invoice.customer_snapshot or {}).get("email")
    if not email:
        return
    amount = format_cents(charge.amount_cents)
    if charge.status == ChargeStatus.needs_confirmation.value:
        what = (f"Your bank asks you to confirm the payment of {amount} for {invoice.label} yourself, so "
                f"{company.name} could not charge your {card.label} automatically. Please pay it here:")
    else:
        again = (f" We will try the card again on {charge.next_attempt_on:%B} {charge.next_attempt_on.day}."
                 if charge.next_attempt_on else "")
        what = (f"We could not charge your {card.label} {amount} for {invoice.label}: {charge.failure}{again}\n\n"
                f"You can pay it now, or change the card in your account, here:")
    send_email(session, email, f"Payment failed: {invoice.label} from {company.name}",
               f"Hello {(invoice.customer_snapshot or {}).get('name', '')},\n\n{what}\n{link}\n\n"
               f"Thank you.\n{company.name}\n")


def due_retries(session: so.Session, today: dt.date) -> list[AutopayCharge]:
    """The declined attempts whose next attempt falls due today or earlier."""
    return list(session.scalars(sa.select(AutopayCharge).where(AutopayCharge.next_attempt_on <= today)
                                .order_by(AutopayCharge.created_at)))


def mark_paid(session: so.Session, company_id: uuid.UUID, intent_id: str) -> None:
    """Stripe's webhook said this autopay PaymentIntent succeeded: no attempt is left to make."""
    session.execute(sa.update(AutopayCharge).where(AutopayCharge.company_id == company_id,
                                                   AutopayCharge.payment_intent_id == intent_id)
                    .values(status=ChargeStatus.paid.value, next_attempt_on=None))
