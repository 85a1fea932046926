"""A company whose paid period has ended subscribes again from its billing page, against a real local Stripe API
(localstripe): once Stripe's signed webhook says the new subscription is paid, the company is writable again, with
everything it had, and the deletion clock is stopped."""
from __future__ import annotations

import html
import json
import secrets

import pytest
import sqlalchemy as sa
import stripe

from flowtrack.billing import routes
from flowtrack.models.audit import AuditEntry
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer
from tests.billing.helpers import WEBHOOK_SECRET, now, signature
from tests.signup.conftest import SECRET_KEY, stripe_settings

PASSWORD = "seven plums under a bridge"
READ_ONLY = "<strong>FlowTrack is read-only.</strong>"  # the banner


@pytest.fixture(scope="module")
def connected_app(app_factory, localstripe_url, stripe_prices):
    """FlowTrack with Stripe connected (to localstripe), its webhook secret and the customer portal's link."""
    return app_factory(**stripe_settings(localstripe_url, stripe_prices), STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                       STRIPE_PORTAL_URL="https://billing.stripe.com/p/login/test")


@pytest.fixture(scope="module")
def stripe_api(localstripe_url) -> stripe.StripeClient:
    """What Stripe holds, read and changed as Stripe's own pages (the customer portal, an invoice page) would."""
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": localstripe_url})


class Subscriber:
    """A company that signed up (with Stripe), its admin signed in."""

    def __init__(self, app, stripe_api: stripe.StripeClient):
        self.app, self.stripe = app, stripe_api
        tag = secrets.token_hex(4)
        self.name, self.email = f"Lapsed Backflow {tag}", f"lee.{tag}@example.com"
        self.admin = app.test_client()
        signed_up = self.admin.submit("/signup", {
            "company_name": self.name, "timezone": "America/Denver", "plan": "professional",
            "full_name": "Lee Lapsed", "email": self.email, "password": PASSWORD, "confirm": PASSWORD})
        assert signed_up.status_code == 303, signed_up.text
        with app.extensions["flowtrack.db"].service() as session:
            self.id = session.scalar(sa.select(Company.id).where(Company.name == self.name))

    def company(self) -> Company:
        with self.app.extensions["flowtrack.db"].service() as session:
            return session.get(Company, self.id)

    def card_on_file(self, card: str = "pm_card_visa") -> None:
        """The admin puts a card on file in the Stripe portal."""
        customer = self.company().stripe_customer_id
        method = self.stripe.v1.payment_methods.attach(card, params={"customer": customer})
        self.stripe.v1.customers.update(customer, params={"invoice_settings": {"default_payment_method": method.id}})

    def stripe_says(self, event_type: str, subscription_id: str):
        """Stripe's webhook about the subscription as Stripe now holds it, signed with the endpoint's secret."""
        subscription = self.stripe.v1.subscriptions.retrieve(subscription_id).to_dict()
        event = {"id": f"evt_{secrets.token_hex(8)}", "object": "event", "type": event_type, "created": now(),
                 "data": {"object": subscription}}
        payload = json.dumps(event)
        return self.app.test_client().post("/webhooks/stripe", data=payload, content_type="application/json",
                                           headers={"Stripe-Signature": signature(payload)})

    def paid_period_ends(self) -> None:
        """The subscription ends at Stripe (cancelled, then the period over), and Stripe says so."""
        ended = self.company().stripe_subscription_id
        self.stripe.v1.subscriptions.cancel(ended)
        assert self.stripe_says("customer.subscription.deleted", ended).json["outcome"] == "applied"
        company = self.company()
        assert company.subscription_status == "canceled" and company.deletion_clock_starts_at is not None

    def live_subscriptions(self) -> list:
        return [s for s in self.stripe.v1.subscriptions.list(
            params={"customer": self.company().stripe_customer_id, "status": "all"}).data
            if s.status not in ("canceled", "incomplete_expired")]

    def can_write(self) -> bool:
        response = self.admin.submit("/customers/new", {"name": f"Harbor View {secrets.token_hex(3)}"})
        assert response.status_code in (303, 403), response.status_code
        return response.status_code == 303


def customers_of(app, company_id) -> list[str]:
    with app.extensions["flowtrack.db"].service() as session:
        return sorted(session.scalars(sa.select(Customer.name).where(Customer.company_id == company_id)))


def test_a_company_in_grace_subscribes_again_and_keeps_everything(connected_app, stripe_api, stripe_prices):
    lapsed = Subscriber(connected_app, stripe_api)
    lapsed.card_on_file()
    assert lapsed.admin.submit("/customers/new", {"name": "Harbor View Apartments"}).status_code == 303
    lapsed.paid_period_ends()
    assert not lapsed.can_write()
    page = lapsed.admin.get("/billing/")
    assert "Subscribe again" in page.text and "everything is kept until" in page.text

    subscribed = lapsed.admin.submit("/billing/subscribe-again", {"plan": "basic"})

    assert subscribed.status_code == 303 and subscribed.headers["Location"] == "/billing/"
    [new] = lapsed.live_subscriptions()
    assert new.status == "active" and new.customer == lapsed.company().stripe_customer_id
    assert new["items"].data[0].plan.id == stripe_prices["basic"] and not new.trial_period_days
    assert routes.SUBSCRIBED_AGAIN in html.unescape(lapsed.admin.get("/billing/").text)
    # A second click before Stripe's webhook arrives makes no second subscription.
    assert lapsed.admin.submit("/billing/subscribe-again", {"plan": "basic"}).status_code == 303
    assert [s.id for s in lapsed.live_subscriptions()] == [new.id]
    assert not lapsed.can_write()  # until Stripe confirms

    confirmed = lapsed.stripe_says("customer.subscription.created", new.id)

    assert confirmed.status_code == 200 and confirmed.json["outcome"] == "applied"
    company = lapsed.company()
    assert (company.stripe_subscription_id, company.subscription_status) == (new.id, "active")
    assert company.deletion_clock_starts_at is None and company.cancel_at_period_end is False
    assert company.tombstoned_at is None and company.name == lapsed.name
    # Everything kept, writable again, no banner, nothing scheduled for deletion.
    assert lapsed.can_write() and "Harbor View Apartments" in customers_of(connected_app, lapsed.id)
    billing = lapsed.admin.get("/billing/")
    assert READ_ONLY not in billing.text and "Data deleted" not in billing.text
    assert "Subscribe again" not in billing.text
    with connected_app.extensions["flowtrack.db"].service() as session:
        [requested] = session.scalars(sa.select(AuditEntry).where(AuditEntry.company_id == lapsed.id,
                                                                  AuditEntry.action == "subscription.requested"))
    assert requested.actor_label == lapsed.email and requested.changes["stripe_subscription_id"]["after"] == new.id
    # Now that it runs again, subscribing again is refused (plan and card are changed in the Stripe portal).
    again = lapsed.admin.submit("/billing/subscribe-again", {"plan": "enterprise"})
    assert again.status_code == 303 and [s.id for s in lapsed.live_subscriptions()] == [new.id]


def test_a_declined_card_keeps_the_company_read_only_until_stripe_is_paid(connected_app, stripe_api):
    lapsed = Subscriber(connected_app, stripe_api)
    lapsed.card_on_file("pm_card_chargeCustomerFail")
    lapsed.paid_period_ends()

    assert lapsed.admin.submit("/billing/subscribe-again", {"plan": "professional"}).status_code == 303

    assert routes.NOT_PAID in html.unescape(lapsed.admin.get("/billing/").text)
    [waiting] = lapsed.live_subscriptions()
    assert waiting.status == "incomplete"
    assert lapsed.stripe_says("customer.subscription.created", waiting.id).json["outcome"] == "ignored"
    assert not lapsed.can_write() and lapsed.company().deletion_clock_starts_at is not None
    # The admin changes the card in the portal and pays the open invoice there; Stripe says the subscription runs.
    lapsed.card_on_file()
    stripe_api.v1.invoices.pay(waiting.latest_invoice)
    assert lapsed.stripe_says("customer.subscription.updated", waiting.id).json["outcome"] == "applied"
    assert lapsed.company().deletion_clock_starts_at is None and lapsed.can_write()


def test_without_a_card_nothing_is_started_and_the_admin_is_told_where_to_add_one(connected_app, stripe_api):
    lapsed = Subscriber(connected_app, stripe_api)  # a trial never given a card
    lapsed.paid_period_ends()

    assert lapsed.admin.submit("/billing/subscribe-again", {"plan": "basic"}).status_code == 303

    assert routes.NO_CARD in html.unescape(lapsed.admin.get("/billing/").text)
    assert lapsed.company().subscription_status == "canceled" and not lapsed.can_write()
