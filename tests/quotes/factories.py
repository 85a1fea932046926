"""Quotes for tests, made through the quotes' services as the office's pages make them."""
from __future__ import annotations

import datetime as dt

from flowtrack.core.db import bind_company
from flowtrack.core.signatures import signature_png
from flowtrack.models.customers import CustomerLocation
from flowtrack.models.quotes import Quote
from flowtrack.quotes import services
from tests.customers.factories import Records
from tests.factories import Tenant, file_store
from tests.field_tests.factories import drawn_signature


def sent_quote(app, tenant: Tenant, *, location=None, optional: bool = True,
               expires_on: dt.date | None = None) -> tuple[Quote, str]:
    """A quote sent to a customer with an email: a required repair and (unless told) an optional part. Returns the
    quote and its link's token."""
    records = Records(app)
    location = location or records.location(tenant, records.customer(tenant, email="ap@harborfoods.example"))
    with app.test_request_context(), app.extensions["flowtrack.db"].service() as session:
        bind_company(session, tenant.id)
        quote = services.new_quote(session, session.get(CustomerLocation, location.id),
                                   expires_on=expires_on or dt.date.today() + dt.timedelta(days=30), notes=None,
                                   created_by=None)
        services.add_line(session, quote, description="Rebuild the first check", quantity=1, unit_price_cents=18550)
        if optional:
            services.add_line(session, quote, description="Replace the relief valve spring", quantity=2,
                              unit_price_cents=1999, optional=True)
        token = services.send(session, quote, dt.date.today(), lambda raw: f"https://flowtrack.test/q/{raw}")
        session.commit()
        return quote, token


def signed_quote(app, tenant: Tenant) -> Quote:
    """A sent quote the customer approved with a signature drawn on the pad."""
    quote, _ = sent_quote(app, tenant, optional=False)
    with app.app_context(), app.extensions["flowtrack.db"].service() as session:  # the office's email has a link
        bind_company(session, tenant.id)
        approved = services.approve(session, quote.id, version=1, chosen=set(), name="Pat Payables", ip=None,
                                    today=dt.date.today(), storage=file_store(app),
                                    signature=signature_png(drawn_signature(), missing="unsigned"))
        session.commit()
        return approved


def draft_quote(app, tenant: Tenant, location) -> Quote:
    """A draft with a line from the office, not sent yet."""
    with app.extensions["flowtrack.db"].service() as session:
        bind_company(session, tenant.id)
        quote = services.new_quote(session, session.get(CustomerLocation, location.id), notes="Gate code 2468",
                                   expires_on=dt.date.today() + dt.timedelta(days=30), created_by=None)
        services.add_line(session, quote, description="Permit fee", quantity=1, unit_price_cents=2500,
                          taxable=False, optional=True)
        session.commit()
        return quote


def _quote(app, factory, tenant):
    return {"quote_id": sent_quote(app, tenant)[0].id}


def _signed(app, factory, tenant):
    return {"quote_id": signed_quote(app, tenant).id}


def _line(app, factory, tenant):
    quote, _ = sent_quote(app, tenant)
    return {"quote_id": quote.id, "line_id": quote.lines[0].id}


def _location(app, factory, tenant):
    return {"location_id": Records(app).location(tenant).id}


QUOTE_URLS = {
    "quotes.new": _location,
    **{endpoint: _quote for endpoint in ("quotes.detail", "quotes.add_line", "quotes.change_details", "quotes.send",
                                         "quotes.pdf_of", "customer_quotes.portal_page",
                                         "customer_quotes.portal_total", "customer_quotes.portal_approve",
                                         "customer_quotes.portal_decline", "customer_quotes.portal_pdf")},
    "quotes.remove_line": _line,
    "quotes.signature": _signed,
}
