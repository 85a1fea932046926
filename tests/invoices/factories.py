"""Invoices for tests, made through the services as the office's pages make them."""
from __future__ import annotations

import datetime as dt

from flowtrack.invoices import services
from flowtrack.invoices.tasks import print_and_mail_invoice
from flowtrack.models.customers import Customer
from tests.customers.factories import Records
from tests.factories import Tenant


def sent_invoice(app, tenant: Tenant, *, amount_cents: int = 12500, customer=None, today: dt.date | None = None):
    """A sent invoice of one line for a (new) customer with an email address."""
    records = Records(app)
    customer = customer or records.customer(tenant, email="billing@harbor.example", billing_address="12 Harbor St")
    with records.session(tenant) as session:
        invoice = services.blank_invoice(session, session.get(Customer, customer.id))
        services.add_line(session, invoice, "Annual backflow test", 1, amount_cents, True)
        services.send(session, invoice, today or dt.date.today())
    return invoice


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
