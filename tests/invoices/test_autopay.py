"""A customer saves a card in the portal and turns autopay on; the office's next invoice is charged to it when it is
sent (an off-session PaymentIntent at localstripe), and counts as paid only when Stripe's signed webhook says so.
A declined card is tried again after 3 and 7 days and the customer is emailed a pay link; a card whose bank wants
the customer present is not tried again; withdrawing the consent stops the very next charge."""
import datetime as dt
import threading

import pytest
import requests
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowtrack.companies.services import company_today
from flowtrack.core.permissions import Role
from flowtrack.invoices import autopay
from flowtrack.invoices import services as invoices
from flowtrack.invoices.tasks import charge_sent_invoice, retry_company_autopay
from flowtrack.models.autopay import AutopayCharge, SavedCard
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer
from flowtrack.models.invoicing import Invoice, Payment
from tests.billing.helpers import WEBHOOK_SECRET, deliver, now
from tests.customers.factories import Records
from tests.customers.test_customers import audit_entries
from tests.invoices.factories import draft_invoice, sent_invoice
from tests.invoices.test_online_payment import ACCOUNT, stored, succeeded
from tests.notifications.outbox import emails_to, last_email
from tests.signup.conftest import SECRET_KEY, localstripe_url, stripe_client  # noqa: F401 (the fixtures)

PUBLISHABLE_KEY = "pk_test_flowtrack"
GOOD_CARD, DECLINED_CARD, THREE_D_SECURE_CARD = "4242424242424242", "4000000000000341", "4000002500003155"


@pytest.fixture(scope="module")
def stripe_settings(localstripe_url):  # noqa: F811
    return {"STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_API_BASE": localstripe_url,
            "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}


@pytest.fixture(scope="module")
def paying_app(app_factory, stripe_settings):
    return app_factory(**stripe_settings)


class Shop:
    """A company taking cards on its own Stripe account, its office, and one customer with a portal sign-in."""

    def __init__(self, app, factory, name: str = "Autopay Backflow"):
        self.app = app
        self.tenant = factory.tenant(name)
        with app.extensions["flowtrack.db"].service() as session:
            session.get(Company, self.tenant.id).stripe_account_id = ACCOUNT
            session.commit()
        self.email = f"ap.{self.tenant.id.hex[:8]}@harborfoods.example"
        self.customer = Records(app).customer(self.tenant, name="Harbor Foods", email=self.email)
        self.portal = self._browser(factory.member(self.tenant.id, Role.customer.value, customer_id=self.customer.id))
        self.office = self._browser(self.tenant.members["manager"])

    def _browser(self, member):
        browser = self.app.test_client()
        browser.sign_in_as(member)
        return browser

    def save_card(self, localstripe: str, number: str = GOOD_CARD, *, autopay: bool = True, authenticate=False):
        """What the card page does: Stripe's field confirms the SetupIntent (as Stripe.js would), then the form
        tells FlowTrack which one."""
        page = self.portal.submit("/portal/card/new")
        assert page.status_code == 200, page.text
        secret = page.text.split('data-secret="', 1)[1].split('"', 1)[0]
        setup_intent = secret.split("_secret_", 1)[0]
        confirm = f"{localstripe}/v1/setup_intents/{setup_intent}/confirm"
        answer = requests.post(confirm, json={
            "key": PUBLISHABLE_KEY, "client_secret": secret, "use_stripe_sdk": True,
            "payment_method_data": {"type": "card", "card": {"number": number, "exp_month": 11, "exp_year": 2031,
                                                             "cvc": "123"}}}, timeout=10).json()
        if authenticate:  # the bank's 3-D Secure window, answered "Complete authentication"
            assert answer["status"] == "requires_action"
            answer = requests.post(confirm, json={"key": PUBLISHABLE_KEY, "client_secret": secret,
                                                  "use_stripe_sdk": True}, timeout=10).json()
        assert answer["status"] == "succeeded", answer
        form = {"setup_intent": setup_intent, **({"autopay": "y"} if autopay else {})}
        return self.portal.submit("/portal/card/saved", form, follow_redirects=True), setup_intent

    def invoice(self, amount_cents: int = 12500) -> Invoice:
        return sent_invoice(self.app, self.tenant, customer=self.customer, amount_cents=amount_cents)

    def charge(self, invoice: Invoice, attempt: int = 1) -> dict:
        """The autopay job, run in this process (one story runs it in a real worker)."""
        with self.app.app_context():
            return charge_sent_invoice(str(self.tenant.id), str(invoice.id), str(attempt))

    def charges(self, invoice: Invoice) -> list[AutopayCharge]:
        with self.app.extensions["flowtrack.db"].service() as session:
            return list(session.scalars(sa.select(AutopayCharge).where(AutopayCharge.invoice_id == invoice.id)
                                        .order_by(AutopayCharge.attempt)))

    def card(self) -> SavedCard | None:
        with self.app.extensions["flowtrack.db"].service() as session:
            return session.scalar(sa.select(SavedCard).where(SavedCard.customer_id == self.customer.id,
                                                             SavedCard.removed_at.is_(None)))

    def days_pass(self, invoice: Invoice) -> None:
        """The day of the next attempt comes: the waiting charge's day moves to today."""
        with self.app.extensions["flowtrack.db"].service() as session:
            session.execute(sa.update(AutopayCharge).where(AutopayCharge.invoice_id == invoice.id,
                                                           AutopayCharge.next_attempt_on.is_not(None))
                            .values(next_attempt_on=dt.date.today() - dt.timedelta(days=1)))
            session.commit()

    def retry_run(self) -> dict:
        with self.app.app_context():
            return retry_company_autopay(str(self.tenant.id))


@pytest.fixture
def shop(paying_app, factory):
    return Shop(paying_app, factory)


def test_the_customer_saves_a_card_and_the_next_invoice_is_paid_by_itself(
        paying_app, shop, localstripe_url, stripe_client, stripe_settings, run_worker):  # noqa: F811
    page = shop.portal.get("/portal/card/")
    assert "No card on file" in page.text and "Save a card" in page.text
    saved, setup_intent = shop.save_card(localstripe_url)
    assert "Visa ending 4242 saved. Autopay is on." in saved.text
    assert "11/2031" in saved.text and "Turn autopay off" in saved.text
    card = shop.card()
    assert card.autopay_on and card.autopay_consent_ip == shop.portal.environ_base["REMOTE_ADDR"]
    company = shop.tenant.company.name
    assert card.autopay_consent_text == (f"I authorize {company} to charge this card for each invoice {company} sends "
                                         "me, on the day it is sent, until I turn autopay off or remove the card in my "
                                         "account.")
    assert [e.changes["consent"] for e in audit_entries(paying_app, shop.tenant, "autopay.consented")] == \
        [card.autopay_consent_text]
    assert "Autopay is on" in shop.portal.get("/portal/").text

    # The office sends an invoice; the worker prints it, mails it, and charges the card.
    invoice = draft_invoice(paying_app, shop.tenant, customer=shop.customer, amount_cents=18_735)
    assert shop.office.submit(f"/invoices/{invoice.id}/send").status_code == 303
    run_worker(**stripe_settings)
    assert f"Autopay is on: {company} charges it to your Visa ending 4242" in last_email(paying_app, shop.email).body
    [charge] = shop.charges(invoice)
    assert (charge.status, charge.amount_cents, charge.attempt) == ("submitted", 18_735, 1)
    intent = stripe_client.v1.payment_intents.retrieve(charge.payment_intent_id).to_dict()
    assert (intent["amount"], intent["customer"], intent["payment_method"], intent["status"]) == \
        (18_735, card.stripe_customer_id, card.payment_method_id, "succeeded")
    assert stored(paying_app, invoice.id).status == "sent"  # Stripe's answer to the job is not the webhook
    assert "Charged to your Visa ending 4242" in shop.portal.get(f"/portal/invoices/{invoice.id}").text

    webhook = paying_app.test_client()
    assert deliver(webhook, succeeded(intent)).json["outcome"] == "applied"
    assert deliver(webhook, succeeded(intent, tag="again")).json["outcome"] == "unchanged"
    paid = stored(paying_app, invoice.id)
    assert (paid.status, paid.paid_cents) == ("paid", 18_735)
    assert shop.charges(invoice)[0].status == "paid"
    assert "Paid" in shop.portal.get(f"/portal/invoices/{invoice.id}").text


def test_a_declined_card_is_tried_again_after_3_and_7_days_and_the_customer_gets_a_pay_link(
        paying_app, shop, localstripe_url):  # noqa: F811
    shop.save_card(localstripe_url, DECLINED_CARD)
    invoice = shop.invoice(amount_cents=9_950)
    assert shop.charge(invoice) == {"status": "declined"}
    [first] = shop.charges(invoice)
    with paying_app.app_context(), paying_app.extensions["flowtrack.db"].service() as session:
        today = company_today(session)
    assert (first.amount_cents, first.failure, first.next_attempt_on) == \
        (9_950, "Your card was declined.", today + dt.timedelta(days=3))
    email = last_email(paying_app, shop.email)
    assert email.subject.startswith(f"Payment failed: {invoice.label}")
    assert "We could not charge your Visa ending 0341 $99.50" in email.body
    assert f"/portal/invoices/{invoice.id}" in email.body
    assert "Payment failed" in shop.office.get(f"/invoices/{invoice.id}").text
    assert "Payment failed" in shop.office.get("/invoices/").text
    portal_page = shop.portal.get(f"/portal/invoices/{invoice.id}").text
    assert "We could not charge your Visa ending 0341" in portal_page and "Pay $99.50 online" in portal_page
    assert audit_entries(paying_app, shop.tenant, "autopay.failed")[0].changes["failure"] == "Your card was declined."

    assert shop.retry_run() == {"retries": 0}  # not before its day
    shop.days_pass(invoice)
    assert shop.retry_run() == {"retries": 1}
    assert shop.retry_run() == {"retries": 0}  # taken once, whoever runs the job again
    assert shop.charge(invoice, 2) == {"status": "declined"}
    assert shop.charges(invoice)[1].next_attempt_on == today + dt.timedelta(days=4)  # 7 days after the first
    shop.days_pass(invoice)
    assert shop.retry_run() == {"retries": 1}
    assert shop.charge(invoice, 3) == {"status": "declined"}
    assert [c.next_attempt_on for c in shop.charges(invoice)] == [None, None, None]  # no fourth attempt
    assert len(emails_to(paying_app, shop.email)) == 3


def test_retries_stop_when_the_invoice_is_paid_another_way(paying_app, shop, localstripe_url):  # noqa: F811
    shop.save_card(localstripe_url, DECLINED_CARD)
    invoice = shop.invoice()
    shop.charge(invoice)
    paid = shop.office.submit(f"/invoices/{invoice.id}/payments", {"amount": "125.00", "method": "check",
                                                                   "reference": "2201",
                                                                   "received_on": dt.date.today().isoformat()})
    assert paid.status_code == 303 and stored(paying_app, invoice.id).status == "paid"
    shop.days_pass(invoice)
    shop.retry_run()
    assert shop.charge(invoice, 2) == {"status": "not charged"}
    assert len(shop.charges(invoice)) == 1
    assert "Payment failed" not in shop.office.get(f"/invoices/{invoice.id}").text


def test_a_card_that_needs_the_customers_confirmation_is_not_tried_again_off_session(
        paying_app, shop, localstripe_url, stripe_client):  # noqa: F811
    shop.save_card(localstripe_url, THREE_D_SECURE_CARD, authenticate=True)
    invoice = shop.invoice()
    assert shop.charge(invoice) == {"status": "needs_confirmation"}
    [charge] = shop.charges(invoice)
    assert charge.next_attempt_on is None and charge.failure == autopay.NEEDS_CONFIRMATION
    assert stripe_client.v1.payment_intents.retrieve(charge.payment_intent_id).status == "requires_action"
    body = last_email(paying_app, shop.email).body
    assert "Your bank asks you to confirm the payment of $125.00" in body and f"/portal/invoices/{invoice.id}" in body
    page = shop.portal.get(f"/portal/invoices/{invoice.id}").text
    assert "Your bank asks you to confirm this payment yourself." in page and "Pay $125.00 online" in page
    assert "Payment failed" in shop.office.get(f"/invoices/{invoice.id}").text


def test_consent_withdrawn_between_sending_and_charging_charges_nothing(paying_app, shop, localstripe_url):  # noqa: F811
    shop.save_card(localstripe_url)
    invoice = shop.invoice()  # sent; its charge job has not run yet
    off = shop.portal.submit("/portal/card/autopay/off", follow_redirects=True)
    assert "Autopay is off" in off.text and "Turn autopay on" in off.text
    assert shop.charge(invoice) == {"status": "not charged"} and shop.charges(invoice) == []
    assert [e.changes["card"] for e in audit_entries(paying_app, shop.tenant, "autopay.withdrawn")] == \
        ["Visa ending 4242"]

    # Turned on again, with the words ticked; then the card removed before the next invoice's job.
    refused = shop.portal.submit("/portal/card/autopay", {})
    assert refused.status_code == 422 and "Tick the box to agree" in refused.text
    assert "Autopay is on" in shop.portal.submit("/portal/card/autopay", {"consent": "y"}, follow_redirects=True).text
    later = shop.invoice()
    removed = shop.portal.submit("/portal/card/remove", follow_redirects=True)
    assert "Visa ending 4242 removed. Autopay is off." in removed.text and "No card on file" in removed.text
    assert shop.charge(later) == {"status": "not charged"} and shop.card() is None


def test_the_same_invoice_is_charged_once_when_its_job_runs_twice_at_once(
        paying_app, shop, localstripe_url, stripe_client):  # noqa: F811
    shop.save_card(localstripe_url)
    invoice = shop.invoice(amount_cents=31_337)
    outcomes = []
    runs = [threading.Thread(target=lambda: outcomes.append(shop.charge(invoice))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert outcomes == [{"status": "submitted"}] * 2
    [charge] = shop.charges(invoice)
    intents = stripe_client.v1.payment_intents.list(params={"limit": 100}).data
    assert [i.id for i in intents if i.to_dict()["metadata"].get("flowtrack_invoice") == str(invoice.id)] == \
        [charge.payment_intent_id]

    # A run whose answer was lost (the worker died before it committed) asks Stripe again with the same key,
    # and Stripe answers with the first charge instead of making a second.
    with paying_app.app_context(), paying_app.extensions["flowtrack.db"].service() as session:
        session.execute(sa.delete(AutopayCharge).where(AutopayCharge.invoice_id == invoice.id))
        session.commit()
    shop.charge(invoice)
    assert shop.charges(invoice)[0].payment_intent_id == charge.payment_intent_id


def test_another_customers_card_setup_is_not_found_and_only_the_customer_manages_the_card(
        paying_app, shop, factory, localstripe_url, login):  # noqa: F811
    _, setup_intent = shop.save_card(localstripe_url)
    other = Shop(paying_app, factory, "Other Backflow")
    assert other.portal.submit("/portal/card/saved", {"setup_intent": setup_intent}).status_code == 404
    assert other.card() is None
    neighbour = Records(paying_app).customer(shop.tenant, name="Neighbour Deli", email="deli@example.com")
    same_company = shop._browser(factory.member(shop.tenant.id, Role.customer.value, customer_id=neighbour.id))
    assert same_company.submit("/portal/card/saved", {"setup_intent": setup_intent}).status_code == 404
    refused = shop.portal.submit("/portal/card/saved", {"setup_intent": "not-a-setup-intent"},
                                 follow_redirects=True)
    assert "The card was not saved" in refused.text
    for role in (Role.requester, Role.manager, Role.company_admin):
        person = shop._browser(factory.member(shop.tenant.id, role.value,
                                              **({"customer_id": shop.customer.id} if role == Role.requester
                                                 else {})))
        assert person.get("/portal/card/").status_code == 403
        assert person.submit("/portal/card/remove").status_code == 403
    assert shop.card() is not None


def test_the_card_settles_only_through_the_signed_webhook_once_per_event(
        paying_app, shop, localstripe_url, stripe_client):  # noqa: F811
    shop.save_card(localstripe_url)
    invoice = shop.invoice()
    shop.charge(invoice)
    [charge] = shop.charges(invoice)
    intent = stripe_client.v1.payment_intents.retrieve(charge.payment_intent_id).to_dict()
    webhook = paying_app.test_client()
    assert deliver(webhook, succeeded(intent), secret="whsec_not_ours").status_code == 400
    assert stored(paying_app, invoice.id).paid_cents == 0
    event = succeeded(intent)
    assert [deliver(webhook, event).json["outcome"] for _ in range(2)] == ["applied", "duplicate"]
    with paying_app.extensions["flowtrack.db"].service() as session:
        assert session.scalars(sa.select(Payment.amount_cents).where(Payment.invoice_id == invoice.id)).all() == \
            [12500]


@pytest.fixture(scope="module")
def regular(paying_app, localstripe_url):  # noqa: F811
    """One customer with a good card and autopay on, for many invoices (module-wide: hypothesis reruns a test)."""
    from tests.factories import Factory

    shop = Shop(paying_app, Factory(paying_app), "Exact Backflow")
    shop.save_card(localstripe_url)
    return shop


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.tuples(st.integers(1, 40), st.integers(1, 250_000)), min_size=1, max_size=4),
       checks=st.lists(st.integers(1, 10_000), max_size=2), refund_shares=st.lists(st.integers(1, 100), max_size=3))
def test_money_is_exact_to_the_cent_from_invoice_to_charge_to_refund(
        paying_app, regular, stripe_client, lines, checks, refund_shares):  # noqa: F811 (the fixture)
    """Whatever the lines, the part payments by check before the charge and the refunds after it: the charge
    asks exactly what is left, the webhook records exactly it, and the refunds take back exactly theirs."""
    with Records(paying_app).session(regular.tenant) as session:
        invoice = invoices.blank_invoice(session, session.get(Customer, regular.customer.id))
        for quantity, unit_price in lines:
            invoices.add_line(session, invoice, "Repair part", quantity, unit_price, True)
        invoices.send(session, invoice, dt.date.today())
        for amount in checks:
            if amount < invoice.balance_cents:
                invoices.record_payment(session, invoice, amount_cents=amount, method="check", reference=None,
                                        received_on=dt.date.today(), recorded_by=None)
        total, by_check = invoice.total_cents, invoice.paid_cents
    assert total == sum(quantity * unit_price for quantity, unit_price in lines)  # no tax in this company
    regular.charge(invoice)
    [charge] = regular.charges(invoice)
    assert charge.amount_cents == total - by_check
    intent = stripe_client.v1.payment_intents.retrieve(charge.payment_intent_id).to_dict()
    assert intent["amount"] == charge.amount_cents
    webhook = paying_app.test_client()
    deliver(webhook, succeeded(intent))
    assert (stored(paying_app, invoice.id).paid_cents, stored(paying_app, invoice.id).balance_cents) == (total, 0)

    refunded = 0
    for step, share in enumerate(refund_shares):
        refunded = min(charge.amount_cents, refunded + max(1, charge.amount_cents * share // 100))
        deliver(webhook, {"id": f"evt_{intent['id']}_refund_{step}", "object": "event", "type": "charge.refunded",
                          "created": now(), "account": ACCOUNT,
                          "data": {"object": {"id": f"ch_{intent['id']}", "object": "charge", "payment_intent":
                                              intent["id"], "amount": intent["amount"], "amount_refunded": refunded,
                                              "metadata": intent["metadata"]}}})
    after = stored(paying_app, invoice.id)
    assert after.paid_cents == total - refunded and after.balance_cents == refunded
    with paying_app.extensions["flowtrack.db"].service() as session:
        assert sum(session.scalars(sa.select(Payment.amount_cents).where(Payment.invoice_id == invoice.id))) == \
            after.paid_cents
