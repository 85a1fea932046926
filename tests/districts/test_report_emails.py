"""A district that asks for test reports by email gets each one, the PDF attached, through the outbox."""
import io

from pypdf import PdfReader

from flowtrack.models.customers import District
from flowtrack.submissions import district_mail
from tests.customers.test_customers import audit_entries
from tests.districts.test_districts import DISTRICT
from tests.field_tests.factories import SIGNED, file_storage_of, printed_test, submitted_test_id
from tests.notifications.conftest import smtp_server  # noqa: F401  (the fixture)
from tests.notifications.outbox import emails_to
from tests.scheduling.factories import Planner


def smtp_env(monkeypatch, host, port):
    # The worker process reads its settings from the environment only.
    monkeypatch.setenv("SMTP_HOST", host)
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_SECURITY", "none")
    monkeypatch.setenv("MAIL_FROM", "FlowTrack <no-reply@flowtrack.test>")


def district_device(app, records, acme, **district_fields):
    district = records.district(acme, **district_fields)
    device = records.device(acme, records.location(acme, district_id=district.id), device_type="DC")
    Planner(app).assign(acme, device)
    return district, device


def test_the_office_turns_it_on_and_each_report_goes_to_the_district_with_the_pdf(
        app, acme, office, technician, records, smtp_server, monkeypatch, run_worker):  # noqa: F811
    host, port, inbox = smtp_server
    smtp_env(monkeypatch, host, port)
    district, device = district_device(app, records, acme, name="Lane Water", report_email="reports@lane.example")
    assert office.submit(f"/districts/{district.id}/edit", {**DISTRICT, "name": "Lane Water",
                                                            "report_email": "reports@lane.example",
                                                            "submission_method": "email"}).status_code == 303
    assert "Reports by email" in office.get("/districts/").text

    submitted = technician.submit(f"/devices/{device.id}/tests/new", {
        "test_type": "annual", "gauge_id": str(records.gauge(acme).id), "r_check1_psid": "2.4",
        "r_check2_psid": "1.8", **SIGNED})
    test_id = submitted_test_id(submitted)
    run_worker()  # prints the report, then delivers the mail it queued

    [(recipients, message)] = inbox.messages
    assert recipients == ["reports@lane.example"]
    assert device.serial in message["Subject"] and "PASSED" in message["Subject"]
    text = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    body = text.get_payload(decode=True).decode()
    assert "sends Lane Water the report" in body and "Result: PASSED" in body
    [attachment] = [part for part in message.walk() if part.get_filename()]
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename().startswith(f"test-report-{device.serial}-")
    pdf = attachment.get_payload(decode=True)
    assert device.serial in " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert pdf == technician.get(f"/tests/{test_id}/report.pdf").data  # the very report the company keeps

    [email] = emails_to(app, "reports@lane.example")
    assert email.status == "sent" and email.attachment_key == f"{acme.id}/reports/{test_id}.pdf"
    [entry] = audit_entries(app, acme, "test_report.emailed")
    assert str(entry.entity_id) == test_id
    assert entry.changes == {"to": "reports@lane.example", "email_id": str(email.id), "status": "queued",
                             "district": "Lane Water"}


def test_districts_that_did_not_ask_get_no_mail(app, factory, acme, records):
    _, device = district_device(app, records, acme, report_email="quiet@district.example")
    printed_test(app, factory, acme, device)
    assert emails_to(app, "quiet@district.example") == []
    assert audit_entries(app, acme, "test_report.emailed") == []


def test_without_a_mail_server_the_report_waits_in_the_outbox_with_its_file(app, factory, acme, records, login):
    _, device = district_device(app, records, acme, report_email="later@district.example", submission_method="email")
    record = printed_test(app, factory, acme, device)
    [email] = emails_to(app, "later@district.example")
    assert email.status == "outbox" and email.attachment_name.endswith(".pdf")
    assert email.attachment_type == "application/pdf"
    assert file_storage_of(app).get(email.attachment_key)[:5] == b"%PDF-"
    assert email.attachment_key == district_mail.report_key(record)
    outbox = login(acme, "manager").get("/reminders/").text
    assert "later@district.example" in outbox and f"Attached: {email.attachment_name}" in outbox


def test_a_district_without_an_address_cannot_ask_for_mail(app, acme, office, records):
    district = records.district(acme, name="No Address")
    refused = office.submit(f"/districts/{district.id}/edit", {**DISTRICT, "name": "No Address", "report_email": "",
                                                                "submission_method": "email"})
    assert refused.status_code == 422 and "Give the address the test reports are emailed to." in refused.text
    with app.extensions["flowtrack.db"].service() as s:
        assert s.get(District, district.id).submission_method == "paper"


def test_a_report_whose_file_is_gone_is_not_sent_without_it(app, factory, acme, records, smtp_server,  # noqa: F811
                                                            monkeypatch, run_worker):
    _, device = district_device(app, records, acme, report_email="gone@district.example", submission_method="email")
    host, port, inbox = smtp_server
    smtp_env(monkeypatch, host, port)
    printed_test(app, factory, acme, device)  # queues delivery after its commit
    [email] = emails_to(app, "gone@district.example")
    assert email.status == "queued"
    file_storage_of(app).delete(email.attachment_key)
    run_worker()
    [failed] = emails_to(app, "gone@district.example")
    assert failed.status == "failed" and failed.error == "StoredFileMissing" and inbox.messages == []




def test_the_office_emails_a_report_to_the_district_again_and_only_the_office_can(app, factory, acme, records, login):
    _, device = district_device(app, records, acme, name="Lane Water", report_email="again@lane.example",
                                submission_method="email")
    record = printed_test(app, factory, acme, device)
    office, technician = login(acme, "manager"), login(acme, "technician")
    page = office.get(f"/tests/{record.id}").text
    assert "Email the report to Lane Water again" in page
    assert "Email the report to" not in technician.get(f"/tests/{record.id}").text
    assert technician.submit(f"/tests/{record.id}/district-email", {}).status_code == 403

    sent = office.submit(f"/tests/{record.id}/district-email", {})
    assert sent.status_code == 303
    assert "The report is on its way to again@lane.example." in office.get(sent.headers["Location"]).text
    first, second = emails_to(app, "again@lane.example")
    assert first.attachment_key == second.attachment_key == district_mail.report_key(record)
    again = audit_entries(app, acme, "test_report.emailed")[-1]
    assert again.changes["again"] is True and again.changes["email_id"] == str(second.id)


def test_a_report_is_not_emailed_again_to_a_district_that_does_not_take_them(app, factory, acme, records, office):
    _, device = district_device(app, records, acme, report_email="quiet@district.example")
    record = printed_test(app, factory, acme, device)
    assert "Email the report to" not in office.get(f"/tests/{record.id}").text
    refused = office.submit(f"/tests/{record.id}/district-email", {})
    assert "does not take reports by email" in office.get(refused.headers["Location"]).text
    assert emails_to(app, "quiet@district.example") == []
