"""Invoices for tests, made through the services as the office's pages make them."""
from __future__ import annotations

import datetime as dt

from flowtrack.invoices import services
from flowtrack.invoices.tasks import print_and_mail_invoice
from flowtrack.models.autopay import SavedCard
from flowtrack.models.customers import Customer
from tests.customers.factories import Records
from tests.factories import Tenant


def draft_invoice(app, tenant: Tenant, *, amount_cents: int = 12500, customer=None, send_on: dt.date | None = None):
    """An invoice of one line for a (new) customer with an email address; sent on `send_on` if given."""
    records = Records(app)
    customer = customer or records.customer(tenant, email="billing@harbor.example", billing_address="12 Harbor St")
    with records.session(tenant) as session:
        invoice = services.blank_invoice(session, session.get(Customer, customer.id))
        services.add_line(session, invoice, "Annual backflow test", 1, amount_cents, True)
        if send_on:
            services.send(session, invoice, send_on)
    return invoice


def sent_invoice(app, tenant: Tenant, *, amount_cents: int = 12500, customer=None, today: dt.date | None = None):
    """A sent invoice of one line for a (new) customer with an email address."""
    return draft_invoice(app, tenant, amount_cents=amount_cents, customer=customer,
                         send_on=today or dt.date.today())


def card_on_file(session, customer_id, *, autopay: bool = True, last4: str = "4242") -> SavedCard:
    """A card as the portal keeps it once Stripe confirmed it (for tests that need one without Stripe), with the
    customer's consent to autopay."""
    card = SavedCard(company_id=session.info["company_id"], customer_id=customer_id, stripe_customer_id="cus_test",
                     payment_method_id=f"pm_test_{last4}", brand="visa", last4=last4, exp_month=12, exp_year=2030)
    if autopay:
        card.autopay_since, card.autopay_consent_text, card.autopay_consent_ip = \
            dt.datetime.now(dt.timezone.utc), "I authorize the test company.", "203.0.113.9"
    session.add(card)
    session.flush()
    return card


def printed_invoice(app, tenant: Tenant, **fields):
    """A sent invoice whose PDF is printed (by the worker's function, called here in-process)."""
    invoice = sent_invoice(app, tenant, **fields)
    with app.app_context():
        print_and_mail_invoice(str(tenant.id), str(invoice.id))
    return invoice


def _invoice(app, factory, tenant):
    return {"invoice_id": sent_invoice(app, tenant).id}


def _printed_invoice(app, factory, tenant):
    return {"invoice_id": printed_invoice(app, tenant).id}


def _draft_line(app, factory, tenant):
    records = Records(app)
    customer = records.customer(tenant)
    with records.session(tenant) as session:
        invoice = services.blank_invoice(session, session.get(Customer, customer.id))
        services.add_line(session, invoice, "Trip charge", 1, 4500, True)
    return {"invoice_id": invoice.id, "index": 0}


def _price(app, factory, tenant):
    with Records(app).session(tenant) as session:
        return {"item_id": services.set_price(session, kind="trip", unit_price_cents=4500).id}


def _customer(app, factory, tenant):
    return {"customer_id": Records(app).customer(tenant).id}


def _work_order(app, factory, tenant):
    from tests.scheduling.factories import Planner
    return {"work_order_id": Planner(app).work_order(tenant).id}


# Endpoints whose URL carries an id, for the cross-tenant sweep (tests/foundation/test_cross_tenant.py).
INVOICE_URLS = {
    **{endpoint: _invoice for endpoint in ("invoices.detail", "invoices.send", "invoices.void", "invoices.add_line",
                                           "invoices.record_payment", "invoices.credit")},
    "invoices.pdf": _printed_invoice,
    "invoices.pdf_status": _printed_invoice,
    "invoices.print_pdf": _printed_invoice,
    "invoices.remove_line": _draft_line,
    "invoices.price_line": _draft_line,
    "invoices.remove_price": _price,
    "invoices.new_for_customer": _customer,
    "invoices.from_work_order": _work_order,
}
