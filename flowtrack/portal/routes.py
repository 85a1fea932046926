"""The customer portal: a customer's own invoices (list, page, PDF) and their devices' latest test certificates.
Phone-first: most customers arrive from an email on their phone."""
import uuid

from flask import Blueprint, abort, g, render_template, send_file
from flask_login import current_user

from flowtrack.audit import services as audit
from flowtrack.auth.permissions import PORTAL_VIEW, requires
from flowtrack.invoices import services as invoices
from flowtrack.invoices.tasks import pdf_path
from flowtrack.models.customers import Customer
from flowtrack.portal import services
from flowtrack.testing import report
from flowtrack.testing import services as testing
from flowtrack.testing.tasks import storage_dir

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
    return render_template("portal/home.html", customer=customer, invoices=services.invoices_of(g.db, customer.id),
                           certificates=testing.latest_certificates(g.db, customer.id))


@bp.get("/invoices/<uuid:invoice_id>")
@requires(PORTAL_VIEW)
def invoice(invoice_id: uuid.UUID):
    found = invoices.get_invoice(g.db, invoice_id, customer_id=_own_customer().id)
    if found is None:
        abort(404)
    return render_template("portal/invoice.html", invoice=found, pdf_ready=pdf_path(found).exists())


@bp.get("/invoices/<uuid:invoice_id>/pdf")
@requires(PORTAL_VIEW)
def invoice_pdf(invoice_id: uuid.UUID):
    found = invoices.get_invoice(g.db, invoice_id, customer_id=_own_customer().id)
    if found is None or not pdf_path(found).exists():
        abort(404)
    audit.record(g.db, "invoice.downloaded", entity_type="invoice", entity_id=found.id, changes={"by": "portal"})
    g.db.commit()
    return send_file(pdf_path(found), mimetype="application/pdf", as_attachment=True,
                     download_name=f"{found.label.lower().replace(' ', '-')}.pdf")


@bp.get("/certificates/<uuid:test_id>.pdf")
@requires(PORTAL_VIEW)
def certificate(test_id: uuid.UUID):
    record = services.certificate(g.db, _own_customer().id, test_id)
    path = report.report_path(storage_dir(), record) if record else None
    if path is None or not path.exists():
        abort(404)
    audit.record(g.db, "test_report.downloaded", entity_type="test_record", entity_id=record.id,
                 changes={"by": "portal"})
    g.db.commit()
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=report.download_name(record))
