"""The office bills completed work: an invoice in one click from a work order, numbered without gaps, sent and
frozen, paid by check or cash, credited, voided; the PDF comes from the worker; open invoices age."""
import datetime as dt
import io
import re
import threading
import uuid
import zoneinfo

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from flowtrack.companies.jobs import company_session
from flowtrack.invoices import services
from flowtrack.models.customers import Customer
from flowtrack.models.invoicing import Invoice
from flowtrack.work_orders import services as work_orders
from tests.customers.test_customers import audit_entries
from tests.factories import sent_meanwhile
from tests.field_tests.factories import DC_PASSING, SIGNED
from tests.invoices.factories import sent_invoice
from tests.notifications.outbox import emails_to

TODAY = dt.datetime.now(zoneinfo.ZoneInfo("America/Los_Angeles")).date()


def stored(app, invoice_id) -> Invoice:
    with app.extensions["flowtrack.db"].service() as session:
        return session.get(Invoice, invoice_id)


@pytest.mark.parametrize("taxable_cents, rate_bp, tax", [
    (1006, 825, 83),      # 82.995 rounds half up
    (1000, 825, 83),      # 82.5 rounds half up
    (999, 825, 82),       # 82.4175
    (0, 825, 0),
    (12345, 0, 0),
    (-1006, 825, -83),    # a credit rounds away from zero, the mirror of the charge
])
def test_tax_is_rounded_half_up_to_the_cent_on_the_taxable_sum(taxable_cents, rate_bp, tax):
    assert services.tax_on(taxable_cents, rate_bp) == tax


def test_totals_add_exact_line_amounts_and_tax_only_the_taxable_ones():
    lines = [services.new_line("Test fee", 2, 4250), services.new_line("Permit", 1, 1999, taxable=False)]
    assert services.totals(lines, 825) == (10499, 701, 11200)


def completed_work_order(app, acme, records, planner, technician):
    """A DC tested on a technician's job (with a repair recorded), and the job completed."""
    order = planner.work_order(acme, devices=1, device_type="DC", size="3/4")
    job = planner.job(acme, day=TODAY, order=order)
    kit = records.gauge(acme)
    with app.extensions["flowtrack.db"].service() as session:
        device_id = session.scalar(sa.text("SELECT device_id FROM work_order_devices WHERE work_order_id = :o"),
                                   {"o": order.id})
    technician.submit(f"/jobs/{job.id}/start")
    response = technician.submit(f"/devices/{device_id}/tests/new", {
        "test_type": "annual", "gauge_id": str(kit.id), "r_check1_psid": "0.5", "r_check2_psid": "1.8",
        "repairs": "replaced disc", **{f"retest_r_{k}": v for k, v in DC_PASSING.items()}, **SIGNED})
    assert response.status_code == 303, response.text
    assert technician.submit(f"/jobs/{job.id}/complete").status_code == 303
    return order


def test_an_invoice_from_a_completed_work_order_bills_each_test_repair_and_trip(
        app, admin, office, technician, acme, records, planner, run_worker):
    office.submit("/invoices/prices", {"kind": "test", "device_type": "DC", "unit_price": "85.00", "taxable": "y"})
    office.submit("/invoices/prices", {"kind": "repair", "part": "Replaced disc", "unit_price": "32.50",
                                       "taxable": "y"})
    admin.submit("/settings/trip-charge", {"trip_charge": "45", "trip_taxable": ""})
    admin.submit("/settings/invoicing", {"tax_rate": "8.25", "payment_terms_days": "30"})
    order = completed_work_order(app, acme, records, planner, technician)
    with records.session(acme) as session:  # the customer has an address to mail the invoice to
        customer = session.get(Customer, order.customer_id)
        customer.email, customer.billing_address = "ap@harbor.example", "12 Harbor St\nSpringfield, OR"

    response = office.submit(f"/work-orders/{order.id}/invoice", follow_redirects=True)
    assert "drafted from the work order" in response.text
    [invoice] = sa_invoices(app, acme)
    assert [line["description"] for line in invoice.lines] == [
        f"Backflow test, DC 3/4″, serial {line_serial(invoice)}",
        f"Repair: replaced disc (serial {line_serial(invoice)})", "Trip charge"]
    # 85.00 + 32.50 taxed at 8.25% (9.69375 -> 9.69), 45.00 not taxed
    assert (invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents) == (16250, 969, 17219)
    again = office.submit(f"/work-orders/{order.id}/invoice", follow_redirects=True)
    assert f"already on Invoice {invoice.number}" in again.text

    sent = office.submit(f"/invoices/{invoice.id}/send", follow_redirects=True)
    assert "sent. Its PDF is being printed and emailed." in sent.text
    run_worker()
    pdf = office.get(f"/invoices/{invoice.id}/pdf")
    assert pdf.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for expected in (f"Invoice {invoice.number}", "12 Harbor St", "Trip charge", "$172.19", "8.25%"):
        assert expected in text, expected
    [mail] = emails_to(app, "ap@harbor.example")
    assert f"Invoice {invoice.number}" in mail.subject and "$172.19" in mail.body
    assert f"/portal/invoices/{invoice.id}" in mail.body
    for action in ("invoice.created", "invoice.sent", "invoice.downloaded"):
        assert audit_entries(app, acme, action), action
    assert stored(app, invoice.id).customer_snapshot["name"] == customer.name


def sa_invoices(app, tenant):
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(Invoice).where(Invoice.company_id == tenant.id).order_by(Invoice.number)))


def line_serial(invoice):
    return invoice.lines[0]["description"].rsplit("serial ", 1)[1]


def test_a_sent_invoice_is_frozen_and_corrected_only_by_a_credit_note(app, office, acme, run_worker):
    invoice = sent_invoice(app, acme, amount_cents=20000)
    refused = office.submit(f"/invoices/{invoice.id}/lines", {"description": "Extra", "quantity": "1",
                                                              "unit_price": "10"}, follow_redirects=True)
    assert "was sent; correct it with a credit note" in refused.text
    assert len(stored(app, invoice.id).lines) == 1

    office.submit(f"/invoices/{invoice.id}/credit", {"amount": "50.00", "reason": "Second test waived"})
    credited = stored(app, invoice.id)
    assert (credited.paid_cents, credited.balance_cents, credited.status) == (5000, 15000, "partially_paid")
    note = [i for i in sa_invoices(app, acme) if i.kind == "credit_note"][0]
    assert note.number == invoice.number + 1 and note.total_cents == -5000 and note.status == "sent"
    run_worker()  # the credit note is printed and mailed like an invoice
    assert [e.subject for e in emails_to(app, "billing@harbor.example")][-1].startswith(f"Credit note {note.number}")
    assert office.get(f"/invoices/{note.id}/pdf").status_code == 200
    too_much = office.submit(f"/invoices/{invoice.id}/credit", {"amount": "150.01", "reason": "x"})
    assert too_much.status_code == 422 and "still due" in too_much.text
    assert audit_entries(app, acme, "invoice.credited")


def test_payments_by_check_and_cash_settle_the_invoice_and_overpayment_is_refused(app, office, acme):
    invoice = sent_invoice(app, acme, amount_cents=12500)
    partial = office.submit(f"/invoices/{invoice.id}/payments", {"amount": "100.00", "method": "check",
                                                                 "reference": "1042",
                                                                 "received_on": TODAY.isoformat()})
    assert partial.status_code == 303 and stored(app, invoice.id).status == "partially_paid"
    over = office.submit(f"/invoices/{invoice.id}/payments", {"amount": "25.01", "method": "cash",
                                                              "received_on": TODAY.isoformat()})
    assert over.status_code == 422 and "more than the $25.00 still due" in over.text
    fractional = office.submit(f"/invoices/{invoice.id}/payments", {"amount": "1.005", "method": "cash",
                                                                    "received_on": TODAY.isoformat()})
    assert fractional.status_code == 422 and "Whole cents only" in fractional.text
    office.submit(f"/invoices/{invoice.id}/payments", {"amount": "25", "method": "cash",
                                                       "received_on": TODAY.isoformat()})
    assert (stored(app, invoice.id).status, stored(app, invoice.id).balance_cents) == ("paid", 0)
    assert len(audit_entries(app, acme, "payment.recorded")) == 2
    assert [e.changes["status"]["after"] for e in audit_entries(app, acme, "invoice.status_changed")] == [
        "partially_paid", "paid"]
    assert office.submit(f"/invoices/{invoice.id}/void", follow_redirects=True).text.count("has payments") == 1


def test_create_invoice_clicked_twice_at_once_makes_one_invoice(app, office, technician, acme, records, planner):
    """A double click on Create invoice: the second request waits for the first and finds the work order invoiced
    (found by bench/soak.py: two invoices were made for one visit)."""
    order = completed_work_order(app, acme, records, planner, technician)
    form = {"csrf_token": office.csrf_token()}
    with records.session(acme) as first:
        services.invoice_from_work_order(first, work_orders.get_work_order(first, order.id, for_update=True))
        second, answers = sent_meanwhile(app, lambda: office.post(f"/work-orders/{order.id}/invoice", data=form))
    second.join(30)
    [answer] = answers
    assert answer.status_code == 303 and answer.location.endswith(f"/work-orders/{order.id}")
    [invoice] = sa_invoices(app, acme)
    assert f"already on Invoice {invoice.number}" in office.get(answer.location).text


def test_a_payment_form_sent_twice_at_once_records_one_payment(app, office, acme, records):
    """A double click on Record payment, for part of what is due: the second request waits for the first and
    answers as done (found by bench/soak.py: both were recorded, and the invoice said more was paid than came in)."""
    invoice = sent_invoice(app, acme, amount_cents=12500)
    page = office.get(f"/invoices/{invoice.id}")
    key = re.search(r'name="form_key"[^>]*value="([^"]+)"', page.text).group(1)
    form = {"amount": "50.00", "method": "check", "reference": "1042", "received_on": TODAY.isoformat(),
            "form_key": key, "csrf_token": office.csrf_token()}
    with records.session(acme) as first:
        services.record_payment(first, services.get_invoice(first, invoice.id, for_update=True), amount_cents=5000,
                                method="check", received_on=TODAY, reference="1042",
                                recorded_by=acme.members["manager"].user_id, form_key=uuid.UUID(key))
        second, answers = sent_meanwhile(app, lambda: office.post(f"/invoices/{invoice.id}/payments", data=form))
    second.join(30)
    assert [answer.status_code for answer in answers] == [303]
    paid = stored(app, invoice.id)
    assert (paid.status, paid.paid_cents) == ("partially_paid", 5000)
    assert len(audit_entries(app, acme, "payment.recorded")) == 1
    assert office.get(f"/invoices/{invoice.id}").text != page.text  # a new form, with a new key, for the next one


def test_two_people_recording_the_same_check_at_once_the_second_is_refused(app, office, acme, records):
    """Two forms, one check for all that is due: the second waits for the first, then asks for more than is due."""
    invoice = sent_invoice(app, acme, amount_cents=12500)
    form = {"amount": "125.00", "method": "check", "reference": "1042", "received_on": TODAY.isoformat(),
            "csrf_token": office.csrf_token()}
    with records.session(acme) as first:
        services.record_payment(first, services.get_invoice(first, invoice.id, for_update=True), amount_cents=12500,
                                method="check", received_on=TODAY, reference="1042",
                                recorded_by=acme.members["manager"].user_id)
        second, answers = sent_meanwhile(app, lambda: office.post(f"/invoices/{invoice.id}/payments", data=form))
    second.join(30)
    assert [answer.status_code for answer in answers] == [422]  # the invoice as the first left it: paid
    paid = stored(app, invoice.id)
    assert (paid.status, paid.paid_cents) == ("paid", 12500)
    assert len(audit_entries(app, acme, "payment.recorded")) == 1


def test_a_void_invoice_keeps_its_number_and_the_next_one_follows(app, office, acme, records):
    customer = records.customer(acme)
    office.submit(f"/customers/{customer.id}/invoices")
    [draft] = sa_invoices(app, acme)
    office.submit(f"/invoices/{draft.id}/void")
    office.submit(f"/customers/{customer.id}/invoices")
    numbers = [(i.number, i.status) for i in sa_invoices(app, acme)]
    assert numbers == [(1, "void"), (2, "draft")]
    assert audit_entries(app, acme, "invoice.voided")


def test_numbers_have_no_gaps_and_no_repeats_when_many_invoices_are_made_at_once(app, acme, records):
    customer = records.customer(acme)
    db = app.extensions["flowtrack.db"]
    errors = []

    def make(rollback: bool):
        try:
            with app.app_context(), company_session(acme.id, db=db) as session:
                services.blank_invoice(session, session.get(Customer, customer.id))
                session.rollback() if rollback else session.commit()
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=make, args=(n % 5 == 4,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert [i.number for i in sa_invoices(app, acme)] == list(range(1, 17))  # 4 rolled back gave theirs back


def test_open_invoices_age_by_days_late_and_export_as_csv(app, office, acme):
    sent_invoice(app, acme, amount_cents=10000, today=TODAY - dt.timedelta(days=10))       # not yet due (terms 30)
    sent_invoice(app, acme, amount_cents=20000, today=TODAY - dt.timedelta(days=45))       # 15 days late
    sent_invoice(app, acme, amount_cents=30000, today=TODAY - dt.timedelta(days=150))      # 120 days late
    page = office.get("/invoices/aging")
    assert page.status_code == 200 and "$600.00" in page.text
    with app.app_context(), company_session(acme.id, db=app.extensions["flowtrack.db"]) as session:
        buckets = services.aging(session, TODAY).buckets
    assert buckets == {"current": 10000, "1-30": 20000, "31-60": 0, "61-90": 0, "90+": 30000}
    csv_text = office.get("/invoices/aging.csv").text
    assert csv_text.splitlines()[0].startswith("number,customer,issued_on,due_on,days_late,bucket")
    assert ",120,90+," in csv_text


def test_only_the_office_and_admins_reach_invoices(login, acme, app):
    invoice = sent_invoice(app, acme)
    for role in ("technician", "auditor", "customer", "district_admin"):
        browser = login(acme, role)
        assert browser.get("/invoices/").status_code == 403
        assert browser.get(f"/invoices/{invoice.id}").status_code == 403


def test_a_sent_invoice_without_its_pdf_says_so_and_the_office_prints_it_again(app, office, acme, run_worker):
    invoice = sent_invoice(app, acme, amount_cents=20000)  # sent, but no worker has printed it yet
    page = office.get(f"/invoices/{invoice.id}").text
    assert "The PDF is being printed" in page and "Print it now" in page and "Download PDF" not in page
    polled = office.htmx("get", f"/invoices/{invoice.id}/pdf/status")
    assert polled.status_code == 200 and 'hx-trigger="load delay:2s"' in polled.text

    started = office.htmx("post", f"/invoices/{invoice.id}/pdf/print")
    assert started.status_code == 200 and "Print it now" not in started.text
    assert audit_entries(app, acme, "invoice.pdf_reprinted")
    run_worker()
    ready = office.htmx("get", f"/invoices/{invoice.id}/pdf/status").text
    assert "Download PDF" in ready and "hx-trigger" not in ready
    assert office.get(f"/invoices/{invoice.id}/pdf").mimetype == "application/pdf"
