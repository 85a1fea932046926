"""Invoice jobs run by the RQ worker: print the PDF of a sent invoice and email the customer; charge a sent invoice
to the customer's card when autopay is on, and the daily run of autopay retries (jobs/cron.py)."""
from __future__ import annotations

import hashlib
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import render_template
from weasyprint.urls import URLFetcher

from flowtrack.companies.jobs import company_session
from flowtrack.companies.services import company_today, settings_of
from flowtrack.core import pdf
from flowtrack.core.config import setting
from flowtrack.core.dates import date
from flowtrack.core.money import format_cents
from flowtrack.core.queue import enqueue_after_commit, enqueue_for_company
from flowtrack.core.storage import FileStorage, file_storage
from flowtrack.core.web import get_db
from flowtrack.invoices import autopay, payments
from flowtrack.invoices.logo import logo_data_uri
from flowtrack.models.autopay import AutopayCharge
from flowtrack.models.companies import Company, CompanyReadOnly
from flowtrack.models.invoicing import Invoice
from flowtrack.notifications.links import external_url
from flowtrack.notifications.services import send_email

_NOTHING_FETCHED = URLFetcher(allowed_protocols={"data"})


def pdf_key(invoice: Invoice) -> str:
    """Where the printed invoice is in the file store (made when it is sent; gone with the company)."""
    return f"{invoice.company_id}/invoices/{invoice.id}.pdf"


def render_pdf(session: so.Session, invoice: Invoice, company: Company, storage: FileStorage) -> bytes:
    """The invoice as the customer keeps it: who bills, who is billed and for what work where, and how to pay."""
    online = payments.online_payments_ready(company, setting("STRIPE_PUBLISHABLE_KEY"))
    html = render_template("invoices/pdf.html", invoice=invoice, company=company, details=settings_of(session),
                           customer=invoice.customer_snapshot or {}, logo=logo_data_uri(storage, company.id),
                           pay_online=external_url("portal.invoice", invoice_id=invoice.id) if online else None)
    return pdf.print_pdf(html, url_fetcher=_NOTHING_FETCHED)


def print_pdf(session: so.Session, invoice: Invoice, storage: FileStorage) -> None:
    """The sent invoice as a PDF in the file store, its hash on the row."""
    data = render_pdf(session, invoice, session.get(Company, invoice.company_id), storage)
    storage.put(pdf_key(invoice), data, "application/pdf")
    invoice.pdf_sha256 = hashlib.sha256(data).hexdigest()


def print_and_mail(session: so.Session, invoice: Invoice, storage: FileStorage) -> bool:
    """Print the sent invoice, then email the customer. Returns whether it was emailed; the caller commits."""
    print_pdf(session, invoice, storage)
    company = session.get(Company, invoice.company_id)
    email = (invoice.customer_snapshot or {}).get("email")
    card = autopay.live_card(session, invoice.customer_id)
    paying = (f"Autopay is on: {company.name} charges it to your {card.label} today.\n\n"
              if card is not None and card.autopay_on and autopay.chargeable(invoice) else "")
    if email:
        send_email(session, email, f"{invoice.label} from {company.name}",
                   f"Hello {invoice.customer_snapshot.get('name', '')},\n\n"
                   f"{company.name} sent you {invoice.label.lower()} for {format_cents(invoice.total_cents)}"
                   + (f", due {date(invoice.due_on, long=True)}" if invoice.due_on else "") + ".\n\n" + paying +
                   f"See it, download it or pay it online in your account:\n"
                   f"{external_url('portal.invoice', invoice_id=invoice.id)}\n\n"
                   f"(Ask {company.name} for a sign-in if you have none yet.)\n\nThank you.\n{company.name}\n")
    return bool(email)


def reprint_invoice(company_id: str, invoice_id: str) -> dict:
    """The job the office starts when a sent invoice has no PDF (never printed, or lost): print it, mail nothing."""
    with company_session(uuid.UUID(company_id), actor_label="invoice job") as session:
        invoice = session.get(Invoice, uuid.UUID(invoice_id))
        storage = file_storage()
        if invoice is None or storage.exists(pdf_key(invoice)):
            return {"status": "done" if invoice else "missing"}
        print_pdf(session, invoice, storage)
        session.commit()
        return {"status": "done"}


def print_and_mail_invoice(company_id: str, invoice_id: str) -> dict:
    """The job: print and mail a sent invoice, once."""
    with company_session(uuid.UUID(company_id), actor_label="invoice job") as session:
        invoice = session.get(Invoice, uuid.UUID(invoice_id))
        if invoice is None or invoice.pdf_sha256:
            return {"status": "done" if invoice else "missing"}
        emailed = print_and_mail(session, invoice, file_storage())
        session.commit()
        return {"status": "done", "emailed": emailed}


def _pay_link(invoice: Invoice) -> str:
    return external_url("portal.invoice", invoice_id=invoice.id)


def charge_sent_invoice(company_id: str, invoice_id: str, attempt: str = "1") -> dict:
    """The job the office's "Send" starts: charge the invoice to the customer's card if autopay is on then."""
    try:
        with company_session(uuid.UUID(company_id), actor_label="autopay", writes=True) as session:
            charge = autopay.charge_invoice(payments.stripe_client(setting), session, uuid.UUID(invoice_id),
                                             int(attempt), company_today(session), _pay_link)
            session.commit()
            return {"status": charge.status if charge else "not charged"}
    except CompanyReadOnly:
        return {"status": "read-only"}


def retry_declined_autopay() -> int:
    """The daily run: a job for every company with a declined charge waiting for its next attempt."""
    with get_db().service() as session:
        companies = list(session.scalars(sa.select(AutopayCharge.company_id)
                                         .where(AutopayCharge.next_attempt_on.is_not(None)).distinct()))
    for company_id in companies:
        enqueue_for_company(retry_company_autopay, company_id, description="Autopay retries")
    return len(companies)


def retry_company_autopay(company_id: str) -> dict:
    """Each declined charge due for another attempt hands over to a charge job of its own, in the transaction
    that marks it taken: a run twice over queues each attempt once."""
    try:
        with company_session(uuid.UUID(company_id), actor_label="autopay", writes=True) as session:
            due = autopay.due_retries(session, company_today(session))
            for charge in due:
                charge.next_attempt_on = None
                enqueue_after_commit(session, charge_sent_invoice, uuid.UUID(company_id), str(charge.invoice_id),
                                     str(charge.attempt + 1), description="Autopay retry")
            session.commit()
            return {"retries": len(due)}
    except CompanyReadOnly:
        return {"skipped": "read-only"}
