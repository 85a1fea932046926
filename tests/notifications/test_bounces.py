"""The mail provider tells FlowTrack when mail bounced or was marked as spam; the outbox stops mailing that address
and the office sees it, until the office clears it. Only reports with the provider's fresh signature count."""
import secrets
import time

import pytest
import sqlalchemy as sa

from flowtrack.models.audit import AuditEntry
from flowtrack.models.notifications import EmailSuppression, NotificationEmail
from flowtrack.notifications import services as outbox
from flowtrack.notifications.delivery_reports import sign
from tests.notifications.bounces import WEBHOOK_SECRET, bounce, mail, report
from tests.notifications.outbox import emails_to
from tests.notifications.test_outbox import _smtp_env


@pytest.fixture
def webhook(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_WEBHOOK_SECRET", WEBHOOK_SECRET)


def _address() -> str:
    return f"pat-{secrets.token_hex(4)}@example.com"


def _suppressions(app, tenant=None) -> list[EmailSuppression]:
    query = sa.select(EmailSuppression).order_by(EmailSuppression.created_at)
    if tenant is not None:
        query = query.where(EmailSuppression.company_id == tenant.id)
    with app.extensions["flowtrack.db"].service() as s:
        return list(s.scalars(query))


def _email(app, email_id) -> NotificationEmail:
    with app.extensions["flowtrack.db"].service() as s:
        return s.get(NotificationEmail, email_id)


def _actions(app, tenant) -> list[str]:
    with app.extensions["flowtrack.db"].service() as s:
        return list(s.scalars(sa.select(AuditEntry.action).where(AuditEntry.company_id == tenant.id)
                              .order_by(AuditEntry.seq)))


def test_a_bad_signature_is_refused_and_changes_nothing(app, client, acme, webhook):
    address = _address()
    mail(app, acme, address)
    entries = _actions(app, acme)
    now = time.time()
    for attempt in (
        report(client, bounce(address), secret="a guess at the secret " + "x" * 20),  # forged
        report(client, bounce(address), header=""),  # unsigned
        report(client, bounce(address), header="t=abc,v1=00"),  # malformed
        report(client, bounce(address), header="whatever"),  # nonsense
    ):
        assert attempt.status_code == 401
    # A signature of another body (the report altered on the way) does not carry over.
    other = sign(WEBHOOK_SECRET, b'{"type": "bounce", "email": "someone-else@example.com"}', int(now))
    assert report(client, bounce(address), header=other).status_code == 401
    assert all(s.address != address for s in _suppressions(app))
    assert _actions(app, acme) == entries
    assert mail(app, acme, address).status == "outbox"  # still mailed


def test_a_report_older_or_newer_than_five_minutes_is_refused(app, client, acme, webhook):
    address = _address()
    mail(app, acme, address)
    # A minute past the five either way: a slow machine may take seconds between stamping and checking.
    now = time.time()
    assert report(client, bounce(address), at=now - 360).status_code == 401  # a captured report, replayed
    assert report(client, bounce(address), at=now + 360).status_code == 401  # dated ahead to outlive the check
    assert _suppressions(app, acme) == []
    assert report(client, bounce(address), at=now - 240).status_code == 200  # late, but within the five minutes
    assert [s.address for s in _suppressions(app, acme)] == [address]


def test_without_a_configured_secret_every_report_is_refused(app, client, acme):
    address = _address()
    mail(app, acme, address)
    assert report(client, bounce(address)).status_code == 503
    assert _suppressions(app, acme) == []


def test_a_bounce_stops_the_next_email_and_the_office_sees_it(app, login, acme, records, webhook, smtp_server,
                                                              monkeypatch, run_worker):
    host, port, inbox = smtp_server
    _smtp_env(monkeypatch, host, port)
    address = _address()
    customer = records.customer(acme, name="Harbor Laundry", email=address.upper())
    first = mail(app, acme, customer.email)
    run_worker()
    assert _email(app, first.id).status == "sent" and len(inbox.messages) == 1

    # The mailbox does not exist: the provider says so.
    answer = report(app.test_client(), bounce(address))
    assert answer.status_code == 200 and answer.json == {"received": 1, "stopped": 1}
    [stopped] = _suppressions(app, acme)
    assert (stopped.address, stopped.reason, stopped.detail) == (address, "bounce", "550 5.1.1 mailbox does not exist")
    assert _actions(app, acme)[-1] == "email.bounced"

    following = mail(app, acme, customer.email, subject="Invoice 1042")
    run_worker()
    assert _email(app, following.id).status == "suppressed" and len(inbox.messages) == 1

    office = login(acme, "manager")
    page = office.get(f"/customers/{customer.id}")
    assert "No email goes to this address" in page.text and "bounced on" in page.text
    listed = office.get("/email/undeliverable")
    assert listed.status_code == 200 and address in listed.text and "mailbox does not exist" in listed.text
    reminders = office.get("/reminders/")
    assert "1 address no longer gets email" in reminders.text and "the address bounced on" in reminders.text


def test_mail_already_queued_when_the_bounce_arrives_is_not_sent(app, acme, webhook, smtp_server, monkeypatch,
                                                                 run_worker):
    host, port, inbox = smtp_server
    _smtp_env(monkeypatch, host, port)
    address = _address()
    queued = mail(app, acme, address)
    assert queued.status == "queued"
    assert report(app.test_client(), bounce(address)).status_code == 200
    run_worker()
    assert _email(app, queued.id).status == "suppressed" and inbox.messages == []


def test_a_single_use_link_to_a_stopped_address_is_not_kept_readable(app, client, acme, webhook):
    member = acme.members["manager"]
    mail(app, acme, member.email)
    report(client, bounce(member.email))
    assert client.submit("/password/forgot", {"email": member.email}).status_code in (200, 303)
    [reset] = [e for e in emails_to(app, member.email) if e.sensitive]
    assert reset.status == "suppressed" and reset.body == outbox.UNSENT_BODY


def test_a_complaint_stops_mail_in_every_company_that_mailed_the_address_and_in_no_other(
        app, client, factory, acme, bravo, webhook):
    address = _address()
    mail(app, acme, address)
    mail(app, bravo, address.upper())
    elsewhere = factory.tenant("Cascade Backflow")
    answer = report(client, {"type": "complaint", "email": address})
    assert answer.json == {"received": 1, "stopped": 2}
    assert [(s.reason, s.address) for s in _suppressions(app, acme)] == [("complaint", address)]
    assert [(s.reason, s.address) for s in _suppressions(app, bravo)] == [("complaint", address)]
    assert _suppressions(app, elsewhere) == []
    assert _actions(app, acme)[-1] == _actions(app, bravo)[-1] == "email.complained"
    assert mail(app, elsewhere, address).status == "outbox"


def test_a_transient_bounce_or_another_kind_of_report_stops_nothing(app, client, acme, webhook):
    address = _address()
    mail(app, acme, address)
    answer = report(client, bounce(address, bounce_class="transient", description="452 mailbox full"),
                    {"type": "delivered", "email": address})
    assert answer.status_code == 200 and answer.json == {"received": 1, "stopped": 0}
    assert _suppressions(app, acme) == []
    assert report(client, {"type": "bounce"}).status_code == 400  # signed, but names no address


def test_a_report_delivered_twice_stops_the_address_once(app, client, acme, webhook):
    address = _address()
    mail(app, acme, address)
    assert report(client, bounce(address)).json["stopped"] == 1
    assert report(client, bounce(address)).json["stopped"] == 0
    assert len(_suppressions(app, acme)) == 1
    assert _actions(app, acme).count("email.bounced") == 1


def test_the_office_clears_a_fixed_address_and_mail_goes_to_it_again(app, login, acme, records, webhook):
    address = _address()
    customer = records.customer(acme, email=address)
    mail(app, acme, address)
    report(app.test_client(), bounce(address))
    assert mail(app, acme, address).status == "suppressed"
    [stopped] = _suppressions(app, acme)

    technician = login(acme, "technician")
    assert technician.submit(f"/email/undeliverable/{stopped.id}/clear").status_code == 403

    office = login(acme, "manager")
    cleared = office.submit(f"/email/undeliverable/{stopped.id}/clear", {"customer_id": str(customer.id)})
    assert cleared.status_code == 303 and cleared.headers["Location"] == f"/customers/{customer.id}"
    page = office.get(f"/customers/{customer.id}")
    assert f"Email to {address} will be sent again." in page.text and "No email goes to this address" not in page.text
    [row] = _suppressions(app, acme)
    assert row.cleared_at is not None and row.cleared_by == acme.members["manager"].user_id
    assert _actions(app, acme)[-1] == "email.suppression_cleared"
    assert mail(app, acme, address).status == "outbox"
    assert "cleared" in office.get("/email/undeliverable").text
    # Clearing twice finds nothing to clear.
    assert office.submit(f"/email/undeliverable/{stopped.id}/clear").status_code == 404
