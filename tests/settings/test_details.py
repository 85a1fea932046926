"""The admin keeps the company's details in one place, and the customer's invoice carries them: who bills, from
where, for work where, and how to pay when the portal takes no cards."""
import io

import sqlalchemy as sa
from pypdf import PdfReader

from flowtrack.models.companies import Company, CompanySettings
from flowtrack.models.customers import Customer, CustomerLocation
from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.customers.test_customers import audit_entries
from tests.invoices.test_invoices import completed_work_order
from tests.scheduling.factories import planner  # noqa: F401 (the fixture)

DETAILS = {"name": "Acme Backflow", "timezone": "America/Denver", "address": "12 Valve Way\nBoise, ID 83702",
           "phone": "208-555-0140", "email": "billing@acme-backflow.example", "remit_to": "PO Box 77\nBoise, ID 83701"}


def test_the_admin_saves_the_companys_details_and_only_the_admin_may(app, admin, office, acme):
    page = admin.get("/settings/")
    assert page.status_code == 200 and "Mail checks to" in page.text
    assert admin.submit("/settings/", DETAILS).status_code == 303
    with app.extensions["flowtrack.db"].service() as session:
        company = session.get(Company, acme.id)
        details = session.scalar(sa.select(CompanySettings).where(CompanySettings.company_id == acme.id))
    assert (company.name, company.timezone) == ("Acme Backflow", "America/Denver")
    assert (details.address, details.phone, details.remit_to) == (DETAILS["address"], "208-555-0140",
                                                                  DETAILS["remit_to"])
    [entry] = audit_entries(app, acme, "settings.changed")
    assert entry.changes["timezone"] == {"before": "America/Los_Angeles", "after": "America/Denver"}
    assert office.get("/settings/").status_code == 403
    assert office.submit("/settings/", DETAILS).status_code == 403


def test_a_detail_that_does_not_fit_is_refused_next_to_it_and_nothing_is_lost(app, admin, acme):
    refused = admin.submit("/settings/", {**DETAILS, "phone": "call us", "timezone": "Mars/Olympus"})
    assert refused.status_code == 422
    assert "Enter a phone number" in refused.text and "Choose a time zone from the list." in refused.text
    assert "12 Valve Way" in refused.text and 'value="call us"' in refused.text
    with app.extensions["flowtrack.db"].service() as session:
        assert session.get(Company, acme.id).timezone == "America/Los_Angeles"


def test_the_customers_invoice_says_who_bills_for_work_where_and_how_to_pay(
        app, admin, office, technician, acme, records, planner, run_worker, factory):  # noqa: F811
    admin.submit("/settings/", {**DETAILS, "timezone": "America/Los_Angeles"})
    office.submit("/invoices/prices", {"kind": "test", "device_type": "DC", "unit_price": "85.00", "taxable": "y"})
    order = completed_work_order(app, acme, records, planner, technician)
    with records.session(acme) as session:
        customer = session.get(Customer, order.customer_id)
        customer.name, customer.billing_address = "Harbor Foods", "1 Dock Road\nEugene, OR 97401"
        place = session.get(CustomerLocation, order.location_id).one_line
    office.submit(f"/work-orders/{order.id}/invoice")
    with app.extensions["flowtrack.db"].service() as session:
        invoice = session.scalar(sa.text("SELECT id, number FROM invoices WHERE work_order_id = :o"), {"o": order.id})
    office.submit(f"/invoices/{invoice}/lines/1/price", {"unit_price": "30"})  # the repair had no price
    assert "sent." in office.submit(f"/invoices/{invoice}/send", follow_redirects=True).text
    run_worker()

    pdf = office.get(f"/invoices/{invoice}/pdf")
    text = " ".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages).split())
    for expected in ("Acme Backflow", "12 Valve Way", "208-555-0140", "billing@acme-backflow.example",
                     "Bill to Harbor Foods 1 Dock Road", f"Service address {' '.join(place.split())}",
                     "How to pay", "By check, payable to Acme Backflow, mailed to: PO Box 77 Boise, ID 83701"):
        assert expected in text, expected
    assert "price list" not in text.lower()

    member = factory.member(acme.id, "customer", customer_id=order.customer_id)
    portal = app.test_client()
    portal.sign_in_as(member)
    page = portal.get(f"/portal/invoices/{invoice}").text
    assert "How to pay" in page and "PO Box 77" in page and "208-555-0140" in page and place in page
