"""A customer opens the portal on a phone, reads an invoice and downloads its PDF."""
from flowtrack.core.permissions import Role
from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.e2e.conftest import PHONE
from tests.e2e.test_office_records import OVERFLOW
from tests.invoices.factories import printed_invoice


def test_a_customer_reads_and_downloads_an_invoice_on_a_phone(visit, app, factory, acme, records):  # noqa: F811
    harbor = records.customer(acme, name="Harbor Foods", email="ap@harborfoods.example")
    invoice = printed_invoice(app, acme, customer=harbor)
    member = factory.member(acme.id, Role.customer.value, customer_id=harbor.id)
    tab = visit(PHONE)
    tab.sign_in(member.email, member.password)
    page = tab.go("/portal/")
    assert "Harbor Foods" in page.inner_text("main")
    assert tab.axe_violations() == [] and page.evaluate(OVERFLOW) == []
    page.click(f"text={invoice.label}")
    page.wait_for_selector("text=Still due")
    assert "$125.00" in page.inner_text("main")
    assert tab.axe_violations() == [] and page.evaluate(OVERFLOW) == []
    with page.expect_download() as download:
        page.click("text=Download the PDF")
    assert download.value.suggested_filename == f"invoice-{invoice.number}.pdf"
    tab.screenshot("invoice")
    tab.assert_clean()
