"""The demo companies come with an office's records to try the pages on."""
import sqlalchemy as sa

from flowtrack.models.customers import Device, District
from flowtrack.models.field_tests import TestRecord
from flowtrack.models.invoicing import Invoice
from flowtrack.models.notifications import NotificationEmail
from flowtrack.ops.seed import link_portal_user, seed_records, seed_tests
from tests.customers.test_sweep import counts
from tests.factories import file_store


def test_demo_records_fill_every_page(app, factory, login):
    tenant = factory.tenant("Demo")
    with app.app_context():
        seed_records(app.extensions["flowtrack.db"], tenant.company, file_store(app))
    assert counts(app, tenant) == {"districts": 2, "customers": 4, "customer_locations": 5, "devices": 8, "gauges": 2}
    office = login(tenant, "manager")
    assert "Harbor View Apartments" in office.get("/customers/").text
    assert ">expired</span>" in office.get("/gauges/").text
    assert "Springfield Utility Board" in office.get("/districts/").text
    assert "Harbor View Apartments" in office.get("/schedule/").text  # booked today
    # A real office's week: a card that declined its autopay charge, an invoice gone past its due date, and every
    # sent invoice with its PDF.
    listed = office.get("/invoices/").text
    assert "Maple Street Dental" in listed and "Payment failed" in listed
    aging = office.get("/invoices/aging").text
    assert "Oakwood Elementary School" in aging and "1-30" in aging
    with app.extensions["flowtrack.db"].service() as s:
        sent = list(s.scalars(sa.select(Invoice).where(Invoice.company_id == tenant.id, Invoice.status == "sent")))
    assert len(sent) == 2 and all(invoice.pdf_sha256 for invoice in sent)
    assert all(office.get(f"/invoices/{invoice.id}/pdf").status_code == 200 for invoice in sent)
    technician = login(tenant, "technician")
    assert "Harbor View Apartments" in technician.get("/my-day/").text
    # Springfield's own list of assemblies is imported; the golf club's AVB is not on it.
    with app.extensions["flowtrack.db"].service() as s:
        springfield = s.scalar(sa.select(District.id).where(District.company_id == tenant.id,
                                                            District.name == "Springfield Utility Board"))
    reports = " ".join(office.get(f"/submissions/districts/{springfield}").text.split())
    assert "2 of our 3 active devices in this district are on it" in reports and "AVB DE-3002</a>" in reports


def test_demo_tests_come_with_reports_certificates_and_the_districts_mail(app, factory, login):
    tenant = factory.tenant("Demo")
    db = app.extensions["flowtrack.db"]
    with app.app_context():
        seed_records(db, tenant.company, file_store(app))
    seed_tests(db, tenant.company, file_store(app))
    link_portal_user(db, tenant.company, tenant.members["customer"].email)

    with db.service() as s:
        every = s.execute(sa.select(TestRecord, Device.serial).join(Device, Device.id == TestRecord.device_id)
                          .where(TestRecord.company_id == tenant.id).order_by(TestRecord.tested_at)).all()
        tests = {serial: record for record, serial in every}  # each device's latest
        mail = list(s.scalars(sa.select(NotificationEmail).where(NotificationEmail.company_id == tenant.id,
                                                                 NotificationEmail.attachment_key.is_not(None))))
    assert {serial: (t.initial_result, t.repairs, t.result, t.report_status) for serial, t in tests.items()} == {
        "DE-1001": ("pass", [], "pass", "done"),
        "DE-1002": ("fail", [], "fail", "done"),
        "DE-4001": ("fail", ["replaced disc", "cleaned seat"], "pass", "done"),
    }
    assert all(t.technician_signature_key for t in tests.values())
    # The RP passed after failing twice in the year before: the office's hints suggest replacing it.
    assert [record.result for record, serial in every if serial == "DE-1001"] == ["fail", "fail", "pass"]
    office = login(tenant, "manager")
    assert office.get(f"/tests/{tests['DE-4001'].id}/report.pdf").mimetype == "application/pdf"
    # The passing test came with a voice note the speech model wrote out: its remarks wait for the office.
    assert "Proposed from the voice note:</strong> “check valve one" in office.get(f"/tests/{tests['DE-1001'].id}").text
    # The portal's demo customer sees the certificates of its two tested devices, and not another customer's.
    portal = login(tenant, "customer")
    home = portal.get("/portal/").text
    assert "DE-1001" in home and "DE-1002" in home and "DE-4001" not in home
    assert portal.get(f"/portal/certificates/{tests['DE-1001'].id}.pdf").status_code == 200
    # The first district asks for its reports by email: each waits in the outbox with its PDF.
    assert sorted(m.to_address for m in mail) == ["backflow@eweb.example"] * 5
    # The failed DC waits for repair where the office plans work, and the portal says so.
    assert "DE-1002" in office.get("/due/needs-repair").text
    assert "needs repair" in home
