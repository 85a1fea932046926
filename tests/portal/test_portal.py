"""A customer, invited from their account, signs in to the portal and sees their own invoices and their
assemblies with their due dates and latest test certificates, and nothing of anyone else's."""
import datetime as dt
import io
import zoneinfo

import pytest
from pypdf import PdfReader

from flowtrack.core.permissions import Role
from flowtrack.invoices import services as invoices
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer, CustomerLocation, Device
from flowtrack.models.invoicing import Invoice
from tests.customers.test_customers import audit_entries
from tests.field_tests.factories import printed_test
from tests.invoices.factories import printed_invoice, sent_invoice
from tests.notifications.outbox import emails_to, last_email, link_in

PASSWORD = "a portal passphrase of mine"


@pytest.fixture
def harbor(records, acme):
    return records.customer(acme, name="Harbor Foods", email="ap@harborfoods.example")


def portal_browser(app, factory, tenant, customer):
    member = factory.member(tenant.id, Role.customer.value, customer_id=customer.id)
    browser = app.test_client()
    browser.sign_in_as(member)
    return browser


def test_the_office_invites_a_portal_user_who_sets_a_password_and_sees_the_account(
        app, office, client, acme, harbor):
    page = office.get(f"/customers/{harbor.id}")
    assert "Invite to the portal" in page.text
    office.submit(f"/customers/{harbor.id}/portal-users", {"full_name": "Pat Payables",
                                                           "email": "pat@harborfoods.example"})
    assert "pat@harborfoods.example · invited" in office.get(f"/customers/{harbor.id}").text
    link = link_in(last_email(app, "pat@harborfoods.example").body)
    client.get(link)
    accepted = client.submit("/invitation", {"password": PASSWORD, "confirm": PASSWORD})
    assert accepted.status_code == 303
    signed_in = client.submit("/login", {"email": "pat@harborfoods.example", "password": PASSWORD},
                              follow_redirects=True)
    assert signed_in.request.path == "/portal/" and "Harbor Foods" in signed_in.text  # they start on their account
    assert client.get("/customers/").status_code == 403 and client.get("/invoices/").status_code == 403


def test_a_portal_user_sees_only_their_customers_sent_invoices_and_downloads_them(
        app, factory, acme, records, harbor):
    mine = printed_invoice(app, acme, customer=harbor)
    theirs = printed_invoice(app, acme)  # another customer of the same company
    with records.session(acme) as session:
        draft = invoices.blank_invoice(session, session.get(Customer, harbor.id))
    browser = portal_browser(app, factory, acme, harbor)

    home = browser.get("/portal/").text
    assert mine.label in home and theirs.label not in home and draft.label not in home
    page = browser.get(f"/portal/invoices/{mine.id}")
    assert page.status_code == 200 and "$125.00" in page.text
    pdf = browser.get(f"/portal/invoices/{mine.id}/pdf")
    assert pdf.status_code == 200 and "Harbor Foods" in PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    with records.session(acme) as session:  # a credit note shows beside its invoice, asking for nothing
        note = invoices.credit_note(session, session.get(Invoice, mine.id), amount_cents=2500, reason="Goodwill",
                                    today=mine.issued_on)
    home = browser.get("/portal/").text
    assert note.label in home and "$100.00 due" in home
    assert "Still due" not in browser.get(f"/portal/invoices/{note.id}").text
    for other in (theirs.id, draft.id):  # an id changed in the URL
        assert browser.get(f"/portal/invoices/{other}").status_code == 404
        assert browser.get(f"/portal/invoices/{other}/pdf").status_code == 404


def test_a_portal_user_downloads_their_devices_latest_certificates_only(app, factory, acme, records):
    record = printed_test(app, factory, acme)
    with app.extensions["flowtrack.db"].service() as session:
        customer = session.get(CustomerLocation, session.get(Device, record.device_id).location_id).customer
    other = printed_test(app, factory, acme)
    browser = portal_browser(app, factory, acme, customer)
    home = browser.get("/portal/").text
    assert "Download the certificate" in home
    pdf = browser.get(f"/portal/certificates/{record.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert browser.get(f"/portal/certificates/{other.id}.pdf").status_code == 404


def test_a_portal_user_sees_their_assemblies_in_service_and_when_each_is_due(app, factory, acme, records, harbor):
    today = dt.datetime.now(zoneinfo.ZoneInfo(acme.company.timezone)).date()
    dock = records.location(acme, harbor, address_line1="9 Dock Road")
    records.device(acme, dock, serial="HF-DUE", device_type="RP", where_installed="Boiler room",
                   last_test_on=today - dt.timedelta(days=400))
    records.device(acme, dock, serial="HF-GONE", status="removed")
    records.device(acme, serial="SOMEONE-ELSES")
    browser = portal_browser(app, factory, acme, harbor)
    home = browser.get("/portal/").text
    assert "HF-DUE" in home and "9 Dock" in home and "Boiler room" in home and "Overdue" in home
    assert "HF-GONE" not in home and "SOMEONE-ELSES" not in home
    assert "Download the certificate" not in home  # not tested here yet


def test_a_portal_sign_in_without_a_customer_sees_nothing(customer, acme, app):
    invoice = sent_invoice(app, acme)
    assert "not linked to a customer account" in customer.get("/portal/").text
    assert customer.get(f"/portal/invoices/{invoice.id}").status_code == 404


def test_a_customer_signs_in_with_a_one_time_email_link(app, client, factory, acme, harbor):
    member = factory.member(acme.id, Role.customer.value, customer_id=harbor.id)
    office = acme.members["manager"]
    for address in (member.email, office.email, "nobody@example.com"):  # the same answer for everyone
        answer = client.submit("/login/link", {"email": address}, follow_redirects=True)
        assert "If a customer account uses that address, we sent it a sign-in link." in answer.text
    assert emails_to(app, office.email) == []  # team members sign in with their password (and second step)
    link = link_in(last_email(app, member.email).body)

    assert client.get(link).status_code == 303
    button = client.get("/login/link/open")
    assert button.status_code == 200 and "Sign in" in button.text  # opening the link spent nothing
    signed_in = client.submit("/login/link/open")
    assert signed_in.status_code == 303 and signed_in.location.endswith("/portal/")
    assert "Harbor Foods" in client.get("/portal/").text
    assert audit_entries(app, acme, "login.succeeded")[-1].changes == {"via": "email link"}

    again = app.test_client()
    again.get(link)
    assert again.submit("/login/link/open").status_code == 400  # single use


def test_a_sign_in_link_still_asks_for_the_second_step_where_the_company_requires_it(app, client, factory, acme,
                                                                                      harbor):
    member = factory.member(acme.id, Role.customer.value, customer_id=harbor.id)
    with app.extensions["flowtrack.db"].service() as session:
        session.get(Company, acme.id).require_mfa = True
        session.commit()
    client.submit("/login/link", {"email": member.email})
    client.get(link_in(last_email(app, member.email).body))
    answer = client.submit("/login/link/open")
    assert answer.status_code == 303 and answer.location.endswith("/login/enrol")
    assert client.get("/portal/").status_code in (302, 303)  # no session yet
