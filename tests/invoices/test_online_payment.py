"""A customer pays an invoice online: the portal asks Stripe (localstripe here) for a PaymentIntent on the
company's account; only Stripe's signed `payment_intent.succeeded` records the payment, once; refunds show."""
import json

import pytest
import sqlalchemy as sa

from flowtrack.core.permissions import Role
from flowtrack.models.companies import Company
from flowtrack.models.invoicing import Invoice, Payment
from tests.billing.helpers import WEBHOOK_SECRET, deliver, now
from tests.customers.factories import Records
from tests.customers.test_customers import audit_entries
from tests.invoices.factories import sent_invoice
from tests.signup.conftest import SECRET_KEY, localstripe_url, stripe_client  # noqa: F401 (the fixtures)

ACCOUNT = "acct_harborpayments1"


@pytest.fixture(scope="module")
def paying_app(app_factory, localstripe_url):  # noqa: F811
    return app_factory(STRIPE_SECRET_KEY=SECRET_KEY, STRIPE_API_BASE=localstripe_url,
                       STRIPE_PUBLISHABLE_KEY="pk_test_flowtrack", STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)


@pytest.fixture
def billed(paying_app, factory):
    """A company with a payment account, a customer with a portal login, and a sent $125.00 invoice."""
    tenant = factory.tenant("Paying Backflow")
    with paying_app.extensions["flowtrack.db"].service() as session:
        session.get(Company, tenant.id).stripe_account_id = ACCOUNT
        session.commit()
    customer = Records(paying_app).customer(tenant, name="Harbor Foods", email="ap@harborfoods.example")
    invoice = sent_invoice(paying_app, tenant, customer=customer)
    member = factory.member(tenant.id, Role.customer.value, customer_id=customer.id)
    browser = paying_app.test_client()
    browser.sign_in_as(member)
    return tenant, invoice, browser


def stored(app, invoice_id) -> Invoice:
    with app.extensions["flowtrack.db"].service() as session:
        return session.get(Invoice, invoice_id)


def succeeded(intent: dict, **changes) -> dict:
    return {"id": f"evt_{intent['id']}_{changes.pop('tag', 'ok')}", "object": "event",
            "type": "payment_intent.succeeded", "created": now(), "account": ACCOUNT,
            "data": {"object": {**intent, "status": "succeeded", "amount_received": intent["amount"], **changes}}}


def test_the_portal_starts_a_payment_and_only_the_signed_webhook_records_it_once(
        paying_app, billed, stripe_client):  # noqa: F811
    tenant, invoice, browser = billed
    page = browser.submit(f"/portal/invoices/{invoice.id}/pay")
    assert page.status_code == 200 and "Pay $125.00" in page.text
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self' https://js.stripe.com" in csp and "unsafe-inline" not in csp
    intent_id = page.text.split('data-secret="', 1)[1].split("_secret_", 1)[0]
    intent = stripe_client.v1.payment_intents.retrieve(intent_id).to_dict()
    assert (intent["amount"], intent["currency"]) == (12500, "usd")
    assert intent["metadata"]["flowtrack_invoice"] == str(invoice.id)
    assert stored(paying_app, invoice.id).status == "sent"  # the browser's word is not a payment

    webhook = paying_app.test_client()
    forged = json.dumps(succeeded(intent))
    refused = webhook.post("/webhooks/stripe", data=forged, content_type="application/json",
                           headers={"Stripe-Signature": "t=1,v1=deadbeef"})
    assert refused.status_code == 400 and stored(paying_app, invoice.id).paid_cents == 0

    assert deliver(webhook, succeeded(intent)).json["outcome"] == "applied"
    paid = stored(paying_app, invoice.id)
    assert (paid.status, paid.paid_cents) == ("paid", 12500)
    assert deliver(webhook, succeeded(intent)).json["outcome"] == "duplicate"          # the same event again
    assert deliver(webhook, succeeded(intent, tag="again")).json["outcome"] == "unchanged"  # same intent, new id
    with paying_app.extensions["flowtrack.db"].service() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Payment)
                              .where(Payment.invoice_id == invoice.id)) == 1
    assert audit_entries(paying_app, tenant, "payment.recorded")[0].changes["method"] == "card"
    assert "Pay $" not in browser.get(f"/portal/invoices/{invoice.id}").text


def test_a_refund_in_stripe_shows_on_the_invoice(paying_app, billed):
    tenant, invoice, browser = billed
    intent = {"id": "pi_refunded1", "object": "payment_intent", "amount": 12500, "currency": "usd",
              "metadata": {"flowtrack_company": str(tenant.id), "flowtrack_invoice": str(invoice.id)}}
    webhook = paying_app.test_client()
    deliver(webhook, succeeded(intent))
    charge = {"id": "ch_1", "object": "charge", "payment_intent": "pi_refunded1", "amount": 12500,
              "metadata": intent["metadata"]}
    for refunded, tag in ((5000, "a"), (5000, "b"), (12500, "c")):
        deliver(webhook, {"id": f"evt_refund_{tag}", "object": "event", "type": "charge.refunded", "created": now(),
                          "account": ACCOUNT, "data": {"object": {**charge, "amount_refunded": refunded}}})
        if tag == "a":
            assert (stored(paying_app, invoice.id).paid_cents, stored(paying_app, invoice.id).status) == (
                7500, "partially_paid")
    assert (stored(paying_app, invoice.id).paid_cents, stored(paying_app, invoice.id).status) == (0, "sent")
    assert len(audit_entries(paying_app, tenant, "payment.refunded")) == 2  # the repeated 5000 changed nothing


def test_an_event_naming_another_accounts_invoice_changes_nothing(paying_app, billed):
    tenant, invoice, _ = billed
    intent = {"id": "pi_other", "object": "payment_intent", "amount": 12500, "currency": "usd",
              "metadata": {"flowtrack_company": str(tenant.id), "flowtrack_invoice": str(invoice.id)}}
    event = succeeded(intent)
    event["account"] = "acct_someoneelse99"
    assert deliver(paying_app.test_client(), event).json["outcome"] == "ignored"
    assert stored(paying_app, invoice.id).paid_cents == 0


def test_without_a_payment_account_the_customer_is_told_to_pay_otherwise(paying_app, billed):
    tenant, invoice, browser = billed
    with paying_app.extensions["flowtrack.db"].service() as session:
        session.get(Company, tenant.id).stripe_account_id = None
        session.commit()
    page = browser.get(f"/portal/invoices/{invoice.id}")
    assert "online</button>" not in page.text  # no button that can only end in a refusal
    assert "How to pay" in page.text and f"write {invoice.label} on it" in page.text
    answer = browser.submit(f"/portal/invoices/{invoice.id}/pay", follow_redirects=True)
    assert "Online payment is not set up by this company yet" in answer.text


def test_with_a_payment_account_the_portal_offers_to_pay_online(paying_app, billed):
    tenant, invoice, browser = billed
    page = browser.get(f"/portal/invoices/{invoice.id}")
    assert "online</button>" in page.text and "How to pay" not in page.text


def test_the_admin_sets_the_payment_account(paying_app, factory):
    tenant = factory.tenant("Account Setup")
    admin = paying_app.test_client()
    admin.sign_in_as(tenant.members["company_admin"])
    bad = admin.submit("/billing/payment-account", {"stripe_account_id": "not-an-account"})
    assert bad.status_code == 422 and "A Stripe account id" in bad.text
    admin.submit("/billing/payment-account", {"stripe_account_id": ACCOUNT})
    with paying_app.extensions["flowtrack.db"].service() as session:
        assert session.get(Company, tenant.id).stripe_account_id == ACCOUNT
    assert audit_entries(paying_app, tenant, "company.payment_account_changed")
