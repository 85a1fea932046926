"""Customers hear about devices coming due, once per notice, by email or by a printed letter, and can say stop."""
import datetime as dt
import io
import secrets
import threading
import time
import zoneinfo
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from flowtrack.companies.jobs import company_session
from flowtrack.core.queue import enqueue_for_company
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer
from flowtrack.models.notifications import NotificationLog
from flowtrack.notifications import services as outbox
from flowtrack.reminders import services
from flowtrack.reminders.links import opt_out_token, opt_out_url
from flowtrack.reminders.tasks import remind_company
from tests.customers.test_customers import audit_entries
from tests.notifications.bounces import bounced
from tests.notifications.outbox import emails_to, link_in

TODAY = dt.datetime.now(zoneinfo.ZoneInfo("America/Los_Angeles")).date()


def customer_due(records, tenant, *days: int, email: bool = True, **fields):
    """A customer whose new devices fall due `days` from today (negative: overdue)."""
    address = f"owner-{secrets.token_hex(4)}@example.com" if email else None
    customer = records.customer(tenant, email=address, billing_address="12 Harbor St\nSpringfield, OR 97477",
                                **fields)
    location = records.location(tenant, customer)
    devices = [records.device(tenant, location, install_date=TODAY + dt.timedelta(days=d)) for d in days]
    return customer, devices


def log_rows(app, tenant) -> list[NotificationLog]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(NotificationLog).where(NotificationLog.company_id == tenant.id)
                                    .order_by(NotificationLog.created_at)))


def run(app, tenant) -> services.RunResult:
    with app.app_context(), company_session(tenant.id, db=app.extensions["flowtrack.db"]) as session:
        result = services.run_reminders(session, TODAY, opt_out_link=lambda c: opt_out_url(app.secret_key, c))
        session.commit()
    return result


@pytest.mark.parametrize("days_until_due, lead_days, when_overdue, expected", [
    (61, [60, 30], True, None),
    (60, [60, 30], True, "60d"),
    (45, [60, 30], True, "60d"),
    (30, [60, 30], True, "30d"),
    (25, [60, 30], True, "30d"),      # a missed 60-day notice is not sent on top of the 30-day one
    (0, [60, 30], True, "30d"),
    (-1, [60, 30], True, "overdue"),
    (-1, [60, 30], False, None),
    (10, [], True, None),
    (7, [14, 7, 1], True, "7d"),
])
def test_the_notice_a_device_is_due_for(days_until_due, lead_days, when_overdue, expected):
    assert services.stage_for(days_until_due, lead_days, when_overdue) == expected


def test_one_email_per_customer_lists_their_devices_and_a_second_run_sends_nothing(app, acme, records):
    customer, devices = customer_due(records, acme, 20, -5)
    _, not_yet = customer_due(records, acme, 90)

    first = run(app, acme)
    assert (first.emails, first.devices) == (1, 2)
    [email] = emails_to(app, customer.email)
    assert email.status == "outbox" and email.subject == "Backflow test overdue: 2 assemblies"
    for device in devices:
        assert device.serial in email.body
    assert "To stop these reminders: http" in email.body
    assert {(r.device_id, r.stage) for r in log_rows(app, acme)} == {(devices[0].id, "30d"), (devices[1].id, "overdue")}
    assert not_yet[0].id not in {r.device_id for r in log_rows(app, acme)}
    assert audit_entries(app, acme, "reminders.sent")[-1].changes["devices"] == 2

    second = run(app, acme)
    assert second.devices == 0 and len(emails_to(app, customer.email)) == 1


def test_the_reminder_job_run_twice_delivers_one_mail_through_a_real_smtp_server(
        app, acme, records, smtp_server, monkeypatch, run_worker):
    host, port, inbox = smtp_server
    for name, value in {"SMTP_HOST": host, "SMTP_PORT": str(port), "SMTP_SECURITY": "none",
                        "MAIL_FROM": "Acme Backflow <office@acme.test>"}.items():
        monkeypatch.setenv(name, value)
    customer, devices = customer_due(records, acme, 30, 28)
    with app.test_request_context():
        enqueue_for_company(remind_company, acme.id)
        enqueue_for_company(remind_company, acme.id)
    run_worker()

    mails = [message for recipients, message in inbox.messages if recipients == [customer.email]]
    assert len(mails) == 1
    text = mails[0].get_payload(decode=True).decode()
    assert devices[0].serial in text and devices[1].serial in text
    assert [e.status for e in emails_to(app, customer.email)] == ["sent"]


def test_two_workers_at_the_same_moment_send_one_reminder(app, acme, records):
    customer, _ = customer_due(records, acme, 10)
    results = {}
    db = app.extensions["flowtrack.db"]

    def second_worker():
        results["second"] = run(app, acme)

    with app.app_context(), company_session(acme.id, db=db) as session:
        results["first"] = services.run_reminders(session, TODAY, opt_out_link=lambda c: "https://x.test/stop")
        racer = threading.Thread(target=second_worker)
        racer.start()
        time.sleep(0.5)  # the second run now waits on the first's claim
        session.commit()
    racer.join(timeout=30)
    assert results["first"].emails == 1 and results["second"].emails == 0
    assert len(emails_to(app, customer.email)) == 1


def test_a_customer_stops_reminders_from_the_link_and_the_next_run_leaves_them_alone(app, client, acme, records):
    customer, _ = customer_due(records, acme, 5)
    run(app, acme)
    link = link_in(emails_to(app, customer.email)[0].body)

    page = client.get(link)
    assert page.status_code == 200 and "Stop these reminders" in page.text
    with app.extensions["flowtrack.db"].service() as session:
        assert session.get(Customer, customer.id).reminders_opted_out_at is None  # looking changes nothing

    done = client.submit(link)
    assert done.status_code == 200 and "will send no more test-due reminders" in done.text
    with app.extensions["flowtrack.db"].service() as session:
        assert session.get(Customer, customer.id).reminders_opted_out_at is not None
    [entry] = audit_entries(app, acme, "customer.reminders_opted_out")
    assert entry.entity_id == str(customer.id) and entry.actor_label == "customer (opt-out link)"

    records.device(acme, records.location(acme, customer), install_date=TODAY - dt.timedelta(days=3))
    assert run(app, acme).devices == 0

    assert client.get(link[:-3] + "xyz").status_code == 404


def test_an_opt_out_link_names_a_customer_of_its_own_company_only(app, client, acme, bravo, records):
    theirs = records.customer(bravo)
    forged = opt_out_token(app.secret_key, SimpleNamespace(company_id=acme.id, id=theirs.id))
    assert client.get(f"/reminders/opt-out/{forged}").status_code == 404


def test_customers_without_email_get_a_printed_letter(app, office, acme, records):
    customer, devices = customer_due(records, acme, -40, email=False, name="Lane Dairy")
    result = run(app, acme)
    assert (result.letters, result.emails) == (1, 0)
    page = office.get("/reminders/")
    assert "1 customer without a working email address is waiting for a letter." in page.text

    pdf = office.submit("/reminders/letters.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Lane Dairy" in text and devices[0].serial in text and "past their due date" in text
    assert {r.status for r in log_rows(app, acme)} == {"printed"}
    assert audit_entries(app, acme, "reminders.letters_printed")[-1].changes == {"letters": 1, "devices": 1}
    again = office.submit("/reminders/letters.pdf", follow_redirects=True)
    assert "No letters are waiting to be printed." in again.text


def test_a_customer_whose_email_bounced_gets_a_letter_until_the_address_is_fixed(app, office, acme, records):
    customer, devices = customer_due(records, acme, -10, name="Quay Bakery")
    suppression = bounced(app, acme, customer.email)
    result = run(app, acme)
    assert (result.letters, result.emails) == (1, 0)
    assert [r.channel for r in log_rows(app, acme)] == ["letter"]
    page = office.get("/reminders/")
    assert "1 customer without a working email address is waiting for a letter." in page.text

    office.submit(f"/email/undeliverable/{suppression.id}/clear")
    records.device(acme, records.location(acme, customer), install_date=TODAY - dt.timedelta(days=5))
    again = run(app, acme)
    assert (again.emails, again.letters) == (1, 0)


def test_the_admin_sets_lead_times_or_turns_reminders_off_and_the_office_reads_them(
        app, admin, office, acme, records):
    saved = admin.submit("/settings/reminders", {"enabled": "y", "lead_days": "45, 15", "when_overdue": "y"},
                         follow_redirects=True)
    assert "Reminder settings saved." in saved.text and 'value="45, 15"' in saved.text
    assert audit_entries(app, acme, "reminders.settings_changed")
    bad = admin.submit("/settings/reminders", {"enabled": "y", "lead_days": "soon"})
    assert bad.status_code == 422 and "Whole numbers of days" in bad.text and 'value="soon"' in bad.text
    assert "On: 45, 15 days before a test is due, and once more when it is overdue." in office.get("/reminders/").text
    assert office.submit("/settings/reminders", {"lead_days": "7"}).status_code == 403

    customer_due(records, acme, 50)
    _, [inside] = customer_due(records, acme, 40)
    assert run(app, acme).devices == 1
    assert [(r.device_id, r.stage) for r in log_rows(app, acme)] == [(inside.id, "45d")]

    admin.submit("/settings/reminders", {"lead_days": "45"})  # unticked: reminders off
    assert "Off: no test-due reminders go out." in office.get("/reminders/").text
    customer_due(records, acme, 3)
    assert run(app, acme).devices == 0


def test_a_run_stays_within_the_hourly_email_limit_and_leaves_the_rest_for_later(app, acme, records, monkeypatch):
    monkeypatch.setattr(outbox, "HOURLY_EMAIL_LIMIT", 1)
    first, _ = customer_due(records, acme, 5)
    second, _ = customer_due(records, acme, 6)
    result = run(app, acme)
    assert (result.emails, result.waiting_for_limit) == (1, 1)
    claimed = {r.customer_id for r in log_rows(app, acme)}
    assert claimed == {first.id}
    assert emails_to(app, second.email) == []


def test_a_company_in_its_read_only_grace_sends_no_reminders(app, acme, records):
    customer, _ = customer_due(records, acme, 5)
    with app.extensions["flowtrack.db"].service() as session:
        company = session.get(Company, acme.id)
        company.deletion_clock_starts_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
        session.commit()
    with app.app_context():
        assert remind_company(str(acme.id)) == {"skipped": "read-only"}
    assert emails_to(app, customer.email) == []


def test_only_the_office_and_admins_see_reminders(login, acme):
    for role in ("technician", "auditor", "customer", "district_admin"):
        assert login(acme, role).get("/reminders/").status_code == 403
    assert login(acme, "manager").get("/reminders/").status_code == 200
