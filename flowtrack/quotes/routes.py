"""The office's quote pages, and the customer's: in the portal, or through the link emailed with the quote."""
from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy.orm as so
from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from weasyprint.urls import URLFetcher

from flowtrack.audit.services import Actor
from flowtrack.companies import services as companies
from flowtrack.core import pdf, signatures
from flowtrack.core.db import bind_company
from flowtrack.core.extensions import limiter
from flowtrack.core.forms import add_error
from flowtrack.core.money import cents, format_cents
from flowtrack.core.permissions import INVOICES_VIEW, PORTAL_VIEW, QUOTES_MANAGE, public, requires
from flowtrack.core.storage import file_storage
from flowtrack.core.web import client_ip, get_db, stored_picture
from flowtrack.devices import services as devices
from flowtrack.inventory import services as inventory
from flowtrack.invoices.logo import logo_data_uri
from flowtrack.models.companies import Company
from flowtrack.models.customers import CustomerLocation
from flowtrack.models.quotes import Quote
from flowtrack.models.service_requests import ServiceRequest
from flowtrack.notifications.links import external_url
from flowtrack.quotes import services
from flowtrack.quotes.forms import ApproveForm, DeclineForm, LineForm, QuoteForm
from flowtrack.work_orders.pricing import price_list

_NOTHING_FETCHED = URLFetcher(allowed_protocols={"data"})  # the logo comes inline; nothing else is fetched

bp = Blueprint("quotes", __name__, url_prefix="/quotes")
customer_bp = Blueprint("customer_quotes", __name__)


# --- the office ----------------------------------------------------------------------------------------

@bp.get("/")
@requires(INVOICES_VIEW)
def index():
    today = companies.company_today(g.db)
    return render_template("quotes/index.html", quotes=services.list_quotes(g.db), today=today,
                           status_label=services.status_label, totals=_office_totals())


def _office_totals():
    rate = services.tax_rate(g.db)
    return lambda quote: services.totals_of(quote, quote.approved_version or quote.version, rate)


def _origin(location_id: uuid.UUID) -> tuple[CustomerLocation, dict]:
    """The place a new quote is for, and what it is about there (?device=, a failed assembly; ?request=, a
    service request); one of another place is not found."""
    def arg(name: str) -> uuid.UUID | None:
        try:
            return uuid.UUID(request.args.get(name, ""))
        except ValueError:
            return None

    location = devices.get_location(g.db, location_id)
    if location is None:
        abort(404)
    about: dict = {}
    if arg("device"):
        about["device"] = devices.get_device(g.db, arg("device"))
        if about["device"] is None or about["device"].location_id != location.id:
            abort(404)
        if about["device"].failed_on is not None:  # a failed assembly: the quote names the test that failed it
            about["test_record"] = services.latest_test_of(g.db, about["device"].id)
    if arg("request"):
        about["service_request"] = g.db.get(ServiceRequest, arg("request"))
        if about["service_request"] is None or about["service_request"].location_id != location.id:
            abort(404)
    return location, about


@bp.route("/new/<uuid:location_id>", methods=["GET", "POST"])
@requires(QUOTES_MANAGE)
def new(location_id: uuid.UUID):
    location, about = _origin(location_id)
    form = QuoteForm()
    if request.method == "GET":
        form.expires_on.data = companies.company_today(g.db) + dt.timedelta(days=services.DEFAULT_VALID_DAYS)
    if form.validate_on_submit():
        if form.expires_on.data < companies.company_today(g.db):
            add_error(form.expires_on, "Choose today or a later day.")
        else:
            quote = services.new_quote(g.db, location, expires_on=form.expires_on.data, notes=form.notes.data,
                                       created_by=current_user.user_id, form_key=_key(form.form_key.data),
                                       **about)
            g.db.commit()
            flash(f"{quote.label} started: add its lines.", "success")
            return redirect(url_for("quotes.detail", quote_id=quote.id), code=303)
    return render_template("quotes/new.html", form=form, location=location, about=about), \
        422 if form.errors else 200


def _key(typed: str | None) -> uuid.UUID | None:
    """The form's key, if it sent one that is a key (a form without one is simply not guarded)."""
    try:
        return uuid.UUID(typed or "")
    except ValueError:
        return None


def _quote(quote_id: uuid.UUID, *, for_update: bool = False) -> Quote:
    quote = services.get_quote(g.db, quote_id, for_update=for_update)
    if quote is None:
        abort(404)
    return quote


def _line_form() -> LineForm:
    form = LineForm()
    prices = ((f"price:{item.id}", services.price_label(item), item.unit_price_cents) for item in price_list(g.db))
    parts = ((f"part:{part.id}", services.part_label(part), part.unit_price_cents) for part in inventory.parts(g.db))
    form.source.choices = [("", "— describe it below —"),
                           *((value, f"{label} · {format_cents(price)}") for value, label, price in (*prices, *parts))]
    return form


def _detail_page(quote: Quote, *, line_form: LineForm | None = None, details_form: QuoteForm | None = None,
                 status: int = 200):
    today = companies.company_today(g.db)
    if details_form is None:
        details_form = QuoteForm(formdata=None, obj=quote)
    shown = quote.approved_version or quote.version  # once approved, what the customer approved
    return render_template(
        "quotes/detail.html", quote=quote, lines=quote.lines_of(shown),
        totals=services.totals_of(quote, shown, services.tax_rate(g.db)),
        line_form=line_form or _line_form(), details_form=details_form, today=today,
        status_label=services.status_label(quote, today), expired=services.expired(quote, today),
        zone=companies.company_timezone(g.db), about=services.origin(g.db, quote)), status


@bp.get("/<uuid:quote_id>")
@requires(INVOICES_VIEW)
def detail(quote_id: uuid.UUID):
    return _detail_page(_quote(quote_id))


def _refused(quote: Quote, refusal: services.QuoteRefused):
    g.db.rollback()
    flash(str(refusal), "error")
    return redirect(url_for("quotes.detail", quote_id=quote.id), code=303)


@bp.post("/<uuid:quote_id>/lines")
@requires(QUOTES_MANAGE)
def add_line(quote_id: uuid.UUID):
    quote = _quote(quote_id, for_update=True)
    form = _line_form()
    if not form.validate_on_submit():
        return _detail_page(quote, line_form=form, status=422)
    description, price, taxable = form.description.data, form.unit_price.data, form.taxable.data
    kind, _, picked = (form.source.data or "").partition(":")
    if kind == "price":
        item = next(item for item in price_list(g.db) if str(item.id) == picked)
        description, taxable = description or services.price_label(item), item.taxable
        unit_price_cents = cents(price) if price is not None else item.unit_price_cents
    elif kind == "part":
        part = inventory.get_part(g.db, uuid.UUID(picked))
        description = description or services.part_label(part)
        unit_price_cents = cents(price) if price is not None else part.unit_price_cents
    else:
        unit_price_cents = cents(price)
    try:
        services.add_line(g.db, quote, description=description, quantity=form.quantity.data,
                          unit_price_cents=unit_price_cents, taxable=taxable, optional=form.optional.data,
                          form_key=_key(form.form_key.data))
    except services.QuoteRefused as refusal:
        return _refused(quote, refusal)
    g.db.commit()
    return redirect(url_for("quotes.detail", quote_id=quote.id, _anchor="lines"), code=303)


@bp.post("/<uuid:quote_id>/lines/<uuid:line_id>/remove")
@requires(QUOTES_MANAGE)
def remove_line(quote_id: uuid.UUID, line_id: uuid.UUID):
    quote = _quote(quote_id, for_update=True)
    try:
        services.remove_line(g.db, quote, line_id)
    except LookupError:
        abort(404)
    except services.QuoteRefused as refusal:
        return _refused(quote, refusal)
    g.db.commit()
    return redirect(url_for("quotes.detail", quote_id=quote.id, _anchor="lines"), code=303)


@bp.post("/<uuid:quote_id>/details")
@requires(QUOTES_MANAGE)
def change_details(quote_id: uuid.UUID):
    quote = _quote(quote_id, for_update=True)
    form = QuoteForm()
    if not form.validate_on_submit():
        return _detail_page(quote, details_form=form, status=422)
    try:
        services.change_details(g.db, quote, expires_on=form.expires_on.data, notes=form.notes.data)
    except services.QuoteRefused as refusal:
        return _refused(quote, refusal)
    g.db.commit()
    flash("Changes saved.", "success")
    return redirect(url_for("quotes.detail", quote_id=quote.id), code=303)


@bp.post("/<uuid:quote_id>/send")
@requires(QUOTES_MANAGE)
def send(quote_id: uuid.UUID):
    quote = _quote(quote_id, for_update=True)
    try:
        services.send(g.db, quote, companies.company_today(g.db),
                      lambda token: external_url("customer_quotes.link_page", token=token))
    except services.QuoteRefused as refusal:
        return _refused(quote, refusal)
    g.db.commit()
    flash(f"{quote.label} (version {quote.version}) sent to {quote.customer.email}.", "success")
    return redirect(url_for("quotes.detail", quote_id=quote.id), code=303)


def _pdf(session: so.Session, quote: Quote, version: int | None) -> Response:
    """The quote as printed: the same company and customer details an invoice carries."""
    company = session.get(Company, quote.company_id)
    lines = quote.lines_of(version)
    signature = signatures.data_uri(file_storage(), quote.approved_signature_key) \
        if version == quote.approved_version else None
    html = render_template("quotes/pdf.html", quote=quote, version=version, lines=lines, company=company,
                           details=companies.settings_of(session), customer=quote.customer, signature=signature,
                           totals=services.totals_of(quote, version, services.tax_rate(session)),
                           zone=companies.company_timezone(session),
                           logo=logo_data_uri(file_storage(), company.id))
    response = Response(pdf.print_pdf(html, url_fetcher=_NOTHING_FETCHED), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="quote-{quote.number}-v{version}.pdf"'
    return response


@bp.get("/<uuid:quote_id>/pdf")
@requires(INVOICES_VIEW)
def pdf_of(quote_id: uuid.UUID):
    quote = _quote(quote_id)
    return _pdf(g.db, quote, quote.version)


@bp.get("/<uuid:quote_id>/signature")
@requires(INVOICES_VIEW)
def signature(quote_id: uuid.UUID):
    """The signature the customer drew when approving."""
    key = _quote(quote_id).approved_signature_key
    if key is None:
        abort(404)
    return stored_picture(key, "image/png")


# --- the customer: in the portal, or through the emailed link -------------------------------------------

def _chosen(quote: Quote, version: int | None) -> set[uuid.UUID]:
    """The optional lines the customer ticked (a value that is none of them is left out; the server decides)."""
    optional = {str(line.id): line.id for line in quote.lines_of(version) if line.optional}
    return {optional[value] for value in request.values.getlist("chosen") if value in optional}


def _customer_page(session: so.Session, quote: Quote, urls: dict, *, approve_form: ApproveForm | None = None,
                   decline_form: DeclineForm | None = None, status: int = 200):
    today = companies.company_today(session)
    version = quote.approved_version or quote.sent_version
    lines = quote.lines_of(version)
    if quote.approved_version:
        chosen = {line.id for line in lines if line.chosen}
    else:  # every optional item ticked at first; as the customer ticked them when a form comes back
        chosen = _chosen(quote, version) if request.method == "POST" else {line.id for line in lines if line.optional}
    details = companies.settings_of(session)
    return render_template(
        "quotes/customer.html", quote=quote, version=version, lines=lines, chosen=chosen, urls=urls,
        totals=services.totals(lines, details.tax_rate_bp, chosen), today=today,
        expired=services.expired(quote, today), status_label=services.status_label(quote, today),
        zone=companies.company_timezone(session), signature_required=details.quote_signature_required,
        signature=signatures.data_uri(file_storage(), quote.approved_signature_key),
        company=session.get(Company, quote.company_id), details=details,
        approve_form=approve_form or ApproveForm(formdata=None, version=version),
        decline_form=decline_form or DeclineForm(formdata=None, version=version)), status


def _total_fragment(session: so.Session, quote: Quote):
    lines = quote.lines_of(quote.sent_version)
    return render_template("quotes/_total.html", totals=services.totals(lines, services.tax_rate(session),
                                                                        _chosen(quote, quote.sent_version)))


def _version(form) -> int:
    try:
        return int(form.version.data or "")
    except ValueError:
        return 0


def _decide(session: so.Session, quote: Quote, urls: dict, *, approving: bool):
    """Approve or decline as the customer asked; a form error keeps what they typed, ticked and drawn, and a
    refusal (expired, changed, already decided) shows on the page, in words."""
    form = DeclineForm()
    if approving:
        form = ApproveForm()
        form.signature_required = services.signature_required(session)
    if not form.validate_on_submit():
        kind = "approve_form" if approving else "decline_form"
        return _customer_page(session, quote, urls, **{kind: form}, status=422)
    today = companies.company_today(session)
    try:
        if approving:
            services.approve(session, quote.id, version=_version(form), chosen=_chosen(quote, _version(form)),
                             name=form.name.data, ip=client_ip(), today=today, signature=form.drawn,
                             storage=file_storage())
        else:
            services.decline(session, quote.id, version=_version(form), reason=form.reason.data, today=today)
    except services.QuoteRefused as refusal:
        session.rollback()
        flash(str(refusal), "error")
        return redirect(urls["page"], code=303)
    session.commit()
    flash("Thank you: the quote is approved, and the work is on its way to be booked." if approving
          else "Thank you: the company is told that you declined, and why.", "success")
    return redirect(urls["page"], code=303)


def _portal_quote(quote_id: uuid.UUID) -> Quote:
    customer_id = services.customer_of_user(g.db, current_user.user_id)
    quote = services.get_quote(g.db, quote_id, customer_id=customer_id) if customer_id is not None else None
    if quote is None:
        abort(404)
    return quote


def _portal_urls(quote: Quote) -> dict:
    return {name: url_for(f"customer_quotes.portal_{name}", quote_id=quote.id)
            for name in ("page", "total", "approve", "decline", "pdf")}


@customer_bp.get("/portal/quotes/<uuid:quote_id>")
@requires(PORTAL_VIEW)
def portal_page(quote_id: uuid.UUID):
    quote = _portal_quote(quote_id)
    return _customer_page(g.db, quote, _portal_urls(quote))


@customer_bp.get("/portal/quotes/<uuid:quote_id>/total")
@requires(PORTAL_VIEW)
def portal_total(quote_id: uuid.UUID):
    return _total_fragment(g.db, _portal_quote(quote_id))


@customer_bp.post("/portal/quotes/<uuid:quote_id>/approve")
@requires(PORTAL_VIEW)
def portal_approve(quote_id: uuid.UUID):
    quote = _portal_quote(quote_id)
    return _decide(g.db, quote, _portal_urls(quote), approving=True)


@customer_bp.post("/portal/quotes/<uuid:quote_id>/decline")
@requires(PORTAL_VIEW)
def portal_decline(quote_id: uuid.UUID):
    quote = _portal_quote(quote_id)
    return _decide(g.db, quote, _portal_urls(quote), approving=False)


@customer_bp.get("/portal/quotes/<uuid:quote_id>/pdf")
@requires(PORTAL_VIEW)
def portal_pdf(quote_id: uuid.UUID):
    quote = _portal_quote(quote_id)
    return _pdf(g.db, quote, quote.approved_version or quote.sent_version)


def _by_link(token: str, answer):
    """Run `answer(session, quote, urls)` for the quote the link opens, in a session held to its company and
    audited as the customer (who has no sign-in); an unknown link, or one of a version since changed, opens
    nothing. Past the quote's expiry the link only says so."""
    with get_db().service() as session:
        quote = services.quote_by_link(session, token)
        if quote is None:
            return render_template("quotes/link_invalid.html"), 404
        bind_company(session, quote.company_id)
        session.info["audit_actor"] = Actor(None, f"customer of {quote.label} (emailed link)", client_ip(),
                                            request.user_agent.string)
        urls = {name: url_for(f"customer_quotes.link_{name}", token=token)
                for name in ("page", "total", "approve", "decline", "pdf")}
        return answer(session, quote, urls)


@customer_bp.get("/q/<token>")
@public
@limiter.limit("60 per minute")
def link_page(token: str):
    return _by_link(token, lambda session, quote, urls: _customer_page(session, quote, urls))


@customer_bp.get("/q/<token>/total")
@public
@limiter.limit("120 per minute")
def link_total(token: str):
    return _by_link(token, lambda session, quote, urls: _total_fragment(session, quote))


@customer_bp.post("/q/<token>/approve")
@public
@limiter.limit("20 per minute")
def link_approve(token: str):
    return _by_link(token, lambda session, quote, urls: _decide(session, quote, urls, approving=True))


@customer_bp.post("/q/<token>/decline")
@public
@limiter.limit("20 per minute")
def link_decline(token: str):
    return _by_link(token, lambda session, quote, urls: _decide(session, quote, urls, approving=False))


@customer_bp.get("/q/<token>/pdf")
@public
@limiter.limit("20 per minute")
def link_pdf(token: str):
    return _by_link(token, lambda session, quote, urls: _pdf(session, quote,
                                                             quote.approved_version or quote.sent_version))
