"""Invoices for the office: the list, one invoice (lines while a draft; send, payments, credit, void), making
one from a completed work order or by hand, the PDF, the aging of open invoices, and the price list (the tax
rate, terms, trip charge and logo are company settings: flowtrack/settings)."""
import uuid

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from flowtrack.audit import services as audit
from flowtrack.companies.services import company_today, settings_of
from flowtrack.core.forms import add_error, first_error
from flowtrack.core.money import cents
from flowtrack.core.paging import number_position
from flowtrack.core.permissions import INVOICES_MANAGE, INVOICES_VIEW, requires
from flowtrack.core.queue import enqueue_after_commit
from flowtrack.core.storage import StoredFileMissing, file_storage, send_stored
from flowtrack.core.templating import is_fragment
from flowtrack.customers import services as customers
from flowtrack.invoices import autopay, logo, services
from flowtrack.invoices.forms import (
    CreditForm,
    InvoiceFilterForm,
    LineForm,
    PaymentForm,
    PriceForm,
)
from flowtrack.invoices.tasks import charge_sent_invoice, pdf_key, print_and_mail_invoice, reprint_invoice
from flowtrack.models.invoicing import Invoice, InvoiceStatus, PriceItem, PriceKind
from flowtrack.work_orders import pricing
from flowtrack.work_orders import services as work_orders
from flowtrack.work_orders.forms import LinePriceForm

bp = Blueprint("invoices", __name__)


def _invoice(invoice_id: uuid.UUID) -> Invoice:
    """The invoice of the URL, locked when the request changes it (`lock_for_change`): a payment, a send or a
    line posted twice at once is applied to the invoice as the first left it."""
    invoice = services.get_invoice(g.db, invoice_id, for_update=request.method == "POST")
    if invoice is None:
        abort(404)
    return invoice


def _sent_invoice(invoice_id: uuid.UUID) -> Invoice:
    """An invoice that was sent (a draft has no PDF to print or download)."""
    invoice = _invoice(invoice_id)
    if invoice.status == InvoiceStatus.draft.value:
        abort(404)
    return invoice


def _detail(invoice: Invoice, status: int = 200, **forms):
    payment_form = forms.get("payment_form") or PaymentForm(formdata=None, received_on=company_today(g.db))
    return render_template(
        "invoices/detail.html", invoice=invoice, payments=services.payments_of(g.db, invoice.id),
        charges=autopay.charges_of(g.db, invoice.id),
        line_form=forms.get("line_form") or LineForm(formdata=None), payment_form=payment_form,
        credit_form=forms.get("credit_form") or CreditForm(formdata=None),
        pdf_ready=file_storage().exists(pdf_key(invoice)),
    ), status


def _back(invoice: Invoice, message: str):
    g.db.commit()
    flash(message, "success")
    return redirect(url_for("invoices.detail", invoice_id=invoice.id), code=303)


def _refused(invoice: Invoice, refused: services.InvoiceRefused):
    g.db.rollback()
    flash(str(refused), "error")
    return redirect(url_for("invoices.detail", invoice_id=invoice.id), code=303)


@bp.get("/invoices/")
@requires(INVOICES_VIEW)
def index():
    form = InvoiceFilterForm(request.args)
    valid = form.validate()
    status = form.status.data if valid else None
    try:
        after = number_position(request.args.get("after"))
    except ValueError:
        abort(400, "Not a page of this list.")
    page = services.list_invoices(g.db, status=status, after=after)
    params = {"status": status} if status else {}
    failed = autopay.failed_invoice_ids(g.db, [invoice.id for invoice in page.items])
    if is_fragment():
        return render_template("invoices/_rows.html", page=page, params=params, failed=failed), 200 if valid else 422
    return render_template("invoices/index.html", form=form, page=page, params=params, failed=failed), \
        200 if valid else 422


@bp.get("/invoices/<uuid:invoice_id>")
@requires(INVOICES_VIEW)
def detail(invoice_id: uuid.UUID):
    return _detail(_invoice(invoice_id))


@bp.post("/work-orders/<uuid:work_order_id>/invoice")
@requires(INVOICES_MANAGE)
def from_work_order(work_order_id: uuid.UUID):
    # Clicked twice at once, the second waits for the first and finds the work order invoiced.
    order = work_orders.get_work_order(g.db, work_order_id, for_update=True)
    if order is None:
        abort(404)
    try:
        invoice = services.invoice_from_work_order(g.db, order)
    except services.InvoiceRefused as refused:
        g.db.rollback()
        flash(str(refused), "error")
        return redirect(url_for("work_orders.detail", work_order_id=order.id), code=303)
    return _back(invoice, f"{invoice.label} drafted from the work order. Check it, then send it.")


@bp.post("/customers/<uuid:customer_id>/invoices")
@requires(INVOICES_MANAGE)
def new_for_customer(customer_id: uuid.UUID):
    customer = customers.get_customer(g.db, customer_id)
    if customer is None:
        abort(404)
    invoice = services.blank_invoice(g.db, customer)
    return _back(invoice, f"{invoice.label} drafted. Add its lines, then send it.")


@bp.post("/invoices/<uuid:invoice_id>/lines")
@requires(INVOICES_MANAGE)
def add_line(invoice_id: uuid.UUID):
    invoice = _invoice(invoice_id)
    form = LineForm()
    if not form.validate_on_submit():
        return _detail(invoice, 422, line_form=form)
    try:
        services.add_line(g.db, invoice, form.description.data, form.quantity.data, cents(form.unit_price.data),
                          form.taxable.data)
    except services.InvoiceRefused as refused:
        return _refused(invoice, refused)
    return _back(invoice, "Line added.")


@bp.post("/invoices/<uuid:invoice_id>/lines/<int:index>/price")
@requires(INVOICES_MANAGE)
def price_line(invoice_id: uuid.UUID, index: int):
    """Set the price of a draft's line that the price list had none for."""
    invoice = _invoice(invoice_id)
    form = LinePriceForm()
    if not form.validate_on_submit():
        flash(f"Price not saved: {first_error(form)}", "error")
        return redirect(url_for("invoices.detail", invoice_id=invoice.id), code=303)
    try:
        services.set_line_price(g.db, invoice, index, cents(form.unit_price.data))
    except LookupError:
        abort(404)
    except services.InvoiceRefused as refused:
        return _refused(invoice, refused)
    return _back(invoice, "Price set.")


@bp.post("/invoices/<uuid:invoice_id>/lines/<int:index>/delete")
@requires(INVOICES_MANAGE)
def remove_line(invoice_id: uuid.UUID, index: int):
    invoice = _invoice(invoice_id)
    try:
        services.remove_line(g.db, invoice, index)
    except LookupError:
        abort(404)
    except services.InvoiceRefused as refused:
        return _refused(invoice, refused)
    return _back(invoice, "Line removed.")


@bp.post("/invoices/<uuid:invoice_id>/send")
@requires(INVOICES_MANAGE)
def send(invoice_id: uuid.UUID):
    """Issue it: frozen from now on; the worker prints the PDF and emails the customer."""
    invoice = _invoice(invoice_id)
    try:
        services.send(g.db, invoice, company_today(g.db))
    except services.InvoiceRefused as refused:
        return _refused(invoice, refused)
    enqueue_after_commit(g.db, print_and_mail_invoice, current_user.company_id, str(invoice.id),
                         description="Invoice PDF and email")
    enqueue_after_commit(g.db, charge_sent_invoice, current_user.company_id, str(invoice.id),
                         description="Autopay charge")
    return _back(invoice, f"{invoice.label} sent. Its PDF is being printed and emailed.")


@bp.post("/invoices/<uuid:invoice_id>/void")
@requires(INVOICES_MANAGE)
def void(invoice_id: uuid.UUID):
    invoice = _invoice(invoice_id)
    try:
        services.void(g.db, invoice)
    except services.InvoiceRefused as refused:
        return _refused(invoice, refused)
    return _back(invoice, f"{invoice.label} is void; its number stays used.")


@bp.post("/invoices/<uuid:invoice_id>/payments")
@requires(INVOICES_MANAGE)
def record_payment(invoice_id: uuid.UUID):
    invoice = _invoice(invoice_id)
    form = PaymentForm()
    if not form.validate_on_submit():
        return _detail(invoice, 422, payment_form=form)
    try:
        services.record_payment(g.db, invoice, amount_cents=cents(form.amount.data), method=form.method.data,
                                received_on=form.received_on.data, reference=form.reference.data,
                                recorded_by=current_user.user_id, form_key=form.key())
    except services.InvoiceRefused as refused:
        g.db.rollback()
        add_error(form.amount, str(refused))
        return _detail(invoice, 422, payment_form=form)
    return _back(invoice, "Payment recorded.")


@bp.post("/invoices/<uuid:invoice_id>/credit")
@requires(INVOICES_MANAGE)
def credit(invoice_id: uuid.UUID):
    invoice = _invoice(invoice_id)
    form = CreditForm()
    if not form.validate_on_submit():
        return _detail(invoice, 422, credit_form=form)
    try:
        note = services.credit_note(g.db, invoice, amount_cents=cents(form.amount.data), reason=form.reason.data,
                                    today=company_today(g.db))
    except services.InvoiceRefused as refused:
        g.db.rollback()
        add_error(form.amount, str(refused))
        return _detail(invoice, 422, credit_form=form)
    enqueue_after_commit(g.db, print_and_mail_invoice, current_user.company_id, str(note.id),
                         description="Credit note PDF and email")
    return _back(invoice, f"{note.label} issued.")


@bp.get("/invoices/<uuid:invoice_id>/pdf")
@requires(INVOICES_VIEW)
def pdf(invoice_id: uuid.UUID):
    invoice = _sent_invoice(invoice_id)
    try:
        response = send_stored(file_storage(), pdf_key(invoice), mimetype="application/pdf",
                               download_name=f"{invoice.label.lower().replace(' ', '-')}.pdf")
    except StoredFileMissing:
        abort(404)
    audit.record(g.db, "invoice.downloaded", entity_type="invoice", entity_id=invoice.id)
    g.db.commit()
    return response


@bp.get("/invoices/<uuid:invoice_id>/pdf/status")
@requires(INVOICES_VIEW)
def pdf_status(invoice_id: uuid.UUID):
    """The PDF's part of the invoice page, polled while it is being printed."""
    invoice = _invoice(invoice_id)
    return render_template("invoices/_pdf.html", invoice=invoice, pdf_ready=file_storage().exists(pdf_key(invoice)))


@bp.post("/invoices/<uuid:invoice_id>/pdf/print")
@requires(INVOICES_MANAGE)
def print_pdf(invoice_id: uuid.UUID):
    """Print a sent invoice's missing PDF again (it was never printed, or it was lost)."""
    invoice = _sent_invoice(invoice_id)
    audit.record(g.db, "invoice.pdf_reprinted", entity_type="invoice", entity_id=invoice.id)
    enqueue_after_commit(g.db, reprint_invoice, current_user.company_id, str(invoice.id),
                         description="Invoice PDF")
    g.db.commit()
    if is_fragment():
        return render_template("invoices/_pdf.html", invoice=invoice, pdf_ready=False, printing=True)
    flash("The PDF is being printed.", "success")
    return redirect(url_for("invoices.detail", invoice_id=invoice.id), code=303)


@bp.get("/invoices/aging")
@requires(INVOICES_VIEW)
def aging():
    today = company_today(g.db)
    return render_template("invoices/aging.html", report=services.aging(g.db, today), today=today,
                           bucket_of=services.aging_bucket)


@bp.get("/invoices/aging.csv")
@requires(INVOICES_VIEW)
def aging_csv():
    today = company_today(g.db)
    report = services.aging(g.db, today)
    audit.record(g.db, "invoices.aging_exported", entity_type="invoice", changes={"invoices": len(report.rows)})
    g.db.commit()
    return Response(services.aging_csv(report, today), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="aging-{today.isoformat()}.csv"'})


def _prices_page(form: PriceForm | None = None, status: int = 200):
    """The price list: test fees and repair parts. The tax rate, terms, trip charge and logo it is billed with are
    company settings, shown here for reference."""
    items = [item for item in pricing.price_list(g.db) if item.kind != PriceKind.trip.value]
    return render_template("invoices/prices.html", items=items, form=form or PriceForm(formdata=None),
                           settings=settings_of(g.db), trip=services.trip_charge(g.db),
                           has_logo=file_storage().exists(logo.logo_key(current_user.company_id))), status


@bp.get("/invoices/prices")
@requires(INVOICES_MANAGE)
def prices():
    return _prices_page()


@bp.post("/invoices/prices")
@requires(INVOICES_MANAGE)
def set_price():
    form = PriceForm()
    if not form.validate_on_submit():
        return _prices_page(form, status=422)
    services.set_price(g.db, kind=form.kind.data, device_type=form.device_type.data, size=form.size.data,
                       part=form.part.data, unit_price_cents=cents(form.unit_price.data), taxable=form.taxable.data)
    g.db.commit()
    flash("Price saved.", "success")
    return redirect(url_for("invoices.prices"), code=303)


@bp.post("/invoices/prices/<uuid:item_id>/delete")
@requires(INVOICES_MANAGE)
def remove_price(item_id: uuid.UUID):
    item = g.db.get(PriceItem, item_id)
    if item is None or item.kind == PriceKind.trip.value:  # the trip charge is the admin's, in company settings
        abort(404)
    services.remove_price(g.db, item)
    g.db.commit()
    flash("Price removed.", "success")
    return redirect(url_for("invoices.prices"), code=303)
