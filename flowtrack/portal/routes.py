"""The customer portal: a customer's own invoices (list, page, PDF; a requester only when the office allowed it) and
their devices' latest test certificates. Phone-first: most customers arrive from an email on their phone."""
import uuid

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.audit import services as audit
from flowtrack.companies import services as companies
from flowtrack.companies.services import company_timezone
from flowtrack.core.config import setting
from flowtrack.core.extensions import limiter
from flowtrack.core.permissions import PORTAL_INVOICES, PORTAL_VIEW, person_allowed, requires
from flowtrack.core.storage import StoredFileMissing, file_storage, send_stored
from flowtrack.field_tests import report
from flowtrack.field_tests import services as testing
from flowtrack.invoices import autopay, payments
from flowtrack.invoices import services as invoices
from flowtrack.invoices.tasks import pdf_key
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer
from flowtrack.portal import services
from flowtrack.quotes import services as quotes

bp = Blueprint("portal", __name__, url_prefix="/portal")


def _customer() -> Customer | None:
    return services.customer_of(g.db, current_user.user_id)


def _own_customer() -> Customer:
    customer = _customer()
    if customer is None:
        abort(404)
    return customer


@bp.get("/")
@requires(PORTAL_VIEW)
def home():
    customer = _customer()
    if customer is None:
        return render_template("portal/home.html", customer=None)
    certificates = {record.device_id: record for record in testing.latest_certificates(g.db, customer.id)}
    # A requester the office did not allow to see the invoices is not shown that there are any.
    sees_invoices = person_allowed(current_user.role, PORTAL_INVOICES, may_see_invoices=current_user.may_see_invoices)
    return render_template("portal/home.html", customer=customer,
                           invoices=services.invoices_of(g.db, customer.id) if sees_invoices else None,
                           devices=services.devices_of(g.db, customer.id), certificates=certificates,
                           quotes=quotes.sent_quotes_of(g.db, customer.id), quote_status=quotes.status_label,
                           card=autopay.live_card(g.db, customer.id), today=companies.company_today(g.db))


@bp.get("/invoices/<uuid:invoice_id>")
@requires(PORTAL_INVOICES)
def invoice(invoice_id: uuid.UUID):
    found = invoices.get_invoice(g.db, invoice_id, customer_id=_own_customer().id)
    if found is None:
        abort(404)
    company = g.db.get(Company, current_user.company_id)
    return render_template("portal/invoice.html", invoice=found, pdf_ready=file_storage().exists(pdf_key(found)),
                           charges=autopay.charges_of(g.db, found.id),
                           paying=request.args.get("paid") == "1", company=company,
                           details=companies.settings_of(g.db),
                           online=payments.online_payments_ready(company, setting("STRIPE_PUBLISHABLE_KEY")))


@bp.post("/invoices/<uuid:invoice_id>/pay")
@requires(PORTAL_INVOICES)
@limiter.limit("20 per hour", key_func=lambda: f"user:{current_user.user_id}")
def pay(invoice_id: uuid.UUID):
    """The card form for what the invoice still asks for. The payment counts once Stripe's webhook says so."""
    found = invoices.get_invoice(g.db, invoice_id, customer_id=_own_customer().id)
    if found is None:
        abort(404)
    company = g.db.get(Company, current_user.company_id)
    publishable_key, js_url = setting("STRIPE_PUBLISHABLE_KEY"), payments.stripe_js_url(setting)
    try:
        if not publishable_key:
            raise payments.CannotPay("Online payment is not set up on this installation; please pay by check.")
        intent = payments.start_payment(payments.stripe_client(setting), company, found)
    except payments.CannotPay as refused:
        flash(str(refused), "error")
        return redirect(url_for("portal.invoice", invoice_id=found.id), code=303)
    audit.record(g.db, "invoice.payment_started", entity_type="invoice", entity_id=found.id,
                 changes={"payment_intent": intent.id, "amount_cents": intent.amount})
    g.db.commit()
    response = make_response(render_template("portal/pay.html", invoice=found, intent=intent, js_url=js_url,
                                              publishable_key=publishable_key, account=company.stripe_account_id))
    response.headers["Content-Security-Policy"] = payments.csp_with_stripe(js_url)
    return response


@bp.get("/invoices/<uuid:invoice_id>/pdf")
@requires(PORTAL_INVOICES)
def invoice_pdf(invoice_id: uuid.UUID):
    found = invoices.get_invoice(g.db, invoice_id, customer_id=_own_customer().id)
    if found is None:
        abort(404)
    try:
        response = send_stored(file_storage(), pdf_key(found), mimetype="application/pdf",
                               download_name=f"{found.label.lower().replace(' ', '-')}.pdf")
    except StoredFileMissing:
        abort(404)
    audit.record(g.db, "invoice.downloaded", entity_type="invoice", entity_id=found.id, changes={"by": "portal"})
    g.db.commit()
    return response


@bp.get("/certificates/<uuid:test_id>.pdf")
@requires(PORTAL_VIEW)
def certificate(test_id: uuid.UUID):
    record = services.certificate(g.db, _own_customer().id, test_id)
    if record is None:
        abort(404)
    try:
        response = report.send_report(file_storage(), record, company_timezone(g.db))
    except StoredFileMissing:
        abort(404)
    audit.record(g.db, "test_report.downloaded", entity_type="test_record", entity_id=record.id,
                 changes={"by": "portal"})
    g.db.commit()
    return response
