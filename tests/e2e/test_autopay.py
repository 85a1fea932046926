"""A customer on a phone saves a card in the portal with autopay on (Stripe's card field, served by localstripe);
the office sends the next invoice at a desk; the worker charges the card, Stripe's signed webhook (sent by
localstripe itself) records the payment, and the customer finds the invoice paid without doing anything."""
import threading
import time

import pytest
import requests
from werkzeug.serving import make_server

from flowtrack.core.permissions import Role
from flowtrack.models.companies import Company
from tests.billing.helpers import WEBHOOK_SECRET
from tests.customers.factories import Records
from tests.e2e.conftest import DESKTOP, PHONE, Visit
from tests.invoices.factories import draft_invoice
from tests.invoices.test_online_payment import ACCOUNT
from tests.signup.conftest import SECRET_KEY, localstripe_url  # noqa: F401 (the fixture)

OVERFLOW = """() => [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1).map(el => el.tagName)"""


@pytest.fixture(scope="module")
def stripe_settings(localstripe_url):  # noqa: F811
    return {"STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_API_BASE": localstripe_url,
            "STRIPE_PUBLISHABLE_KEY": "pk_test_flowtrack", "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_JS_URL": f"{localstripe_url}/js.stripe.com/v3/"}


@pytest.fixture(scope="module")
def card_app(app_factory, stripe_settings):
    return app_factory(**stripe_settings)


@pytest.fixture(scope="module")
def card_server(card_app, localstripe_url):  # noqa: F811
    """The app with Stripe's keys on a real HTTP server, and localstripe sending it signed webhooks."""
    server = make_server("127.0.0.1", 0, card_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    requests.post(f"{localstripe_url}/_config/webhooks/flowtrack-autopay", timeout=10,
                  json={"url": f"{base}/webhooks/stripe", "secret": WEBHOOK_SECRET,
                        "events": ["payment_intent.succeeded"]}).raise_for_status()
    yield base
    server.shutdown()


def _visit(chromium, base: str, viewport: dict, name: str) -> Visit:
    return Visit(chromium.new_context(viewport=viewport).new_page(), base, name)


def test_the_customer_saves_a_card_and_the_next_invoice_is_paid_by_itself(
        card_app, card_server, chromium, factory, run_worker, stripe_settings):
    tenant = factory.tenant("Cascade Backflow")
    with card_app.extensions["flowtrack.db"].service() as session:
        session.get(Company, tenant.id).stripe_account_id = ACCOUNT
        session.commit()
    customer = Records(card_app).customer(tenant, name="Harbor Bakery", email=f"ap.{tenant.id.hex[:6]}@bakery.example")
    person = factory.member(tenant.id, Role.customer.value, customer_id=customer.id)

    phone = _visit(chromium, card_server, PHONE, "autopay-customer")
    phone.sign_in(person.email, person.password)
    page = phone.page
    page.click("text=Card and autopay")
    page.wait_for_selector("h2:has-text('No card on file')")
    page.click("button:has-text('Save a card')")
    page.wait_for_selector("input[placeholder=number]")
    for field, value in (("number", "4242424242424242"), ("exp_month", "11"), ("exp_year", "31"), ("cvc", "123"),
                         ("postal_code", "97401")):
        page.fill(f"input[placeholder={field}]", value)
    page.check("#autopay")
    assert page.evaluate(OVERFLOW) == []
    phone.screenshot("card-form")
    page.click("button:has-text('Save the card')")
    page.wait_for_selector("text=Visa ending 4242 saved. Autopay is on.")
    assert "11/2031" in page.inner_text("main")
    assert page.evaluate(OVERFLOW) == []
    phone.screenshot("card-saved")
    assert phone.axe_violations() == []

    invoice = draft_invoice(card_app, tenant, customer=customer, amount_cents=14_250)
    desk = _visit(chromium, card_server, DESKTOP, "autopay-office")
    manager = tenant.members["manager"]
    desk.sign_in(manager.email, manager.password)
    office = desk.go(f"/invoices/{invoice.id}")
    office.click("button:has-text('Send')")
    office.wait_for_selector("text=sent. Its PDF is being printed and emailed.")
    run_worker(**stripe_settings)

    invoice_page = phone.go(f"/portal/invoices/{invoice.id}")
    deadline = time.monotonic() + 15  # localstripe sends its webhook a second after the charge
    while "Paid" not in invoice_page.inner_text("h1") and time.monotonic() < deadline:
        time.sleep(0.5)
        invoice_page.reload()
    assert "Paid" in invoice_page.inner_text("h1")
    assert "Pay $" not in invoice_page.inner_text("main")
    phone.screenshot("invoice-paid")
    office = desk.go(f"/invoices/{invoice.id}")
    assert "Paid" in office.inner_text("h1") and "$142.50" in office.inner_text("main")
    assert "Visa ending 4242" in office.inner_text("main")
    desk.screenshot("office-invoice-paid")
    phone.assert_clean()
    desk.assert_clean()
