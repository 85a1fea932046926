"""The email outbox: kept without SMTP, delivered by a real worker to a real SMTP server with it."""
import datetime as dt
import secrets

import pytest
import sqlalchemy as sa

from flowtrack.companies.jobs import company_session
from flowtrack.models.notifications import NotificationEmail
from flowtrack.notifications import mail, services
from tests.notifications.outbox import last_email, link_in


def _smtp_env(monkeypatch, host, port):
    # The worker process reads its settings from the environment only.
    monkeypatch.setenv("SMTP_HOST", host)
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_SECURITY", "none")
    monkeypatch.setenv("MAIL_FROM", "FlowTrack <no-reply@flowtrack.test>")


def _email(app, email_id):
    with app.extensions["flowtrack.db"].service() as s:
        return s.get(NotificationEmail, email_id)


def test_without_smtp_mail_stays_in_the_outbox(app, acme):
    with app.app_context(), company_session(acme.id, db=app.extensions["flowtrack.db"]) as session:
        email = services.send_email(session, "someone@example.com", "Hello", "Body text")
        session.commit()
    stored = _email(app, email.id)
    assert stored.status == "outbox" and stored.body == "Body text" and stored.sent_at is None


def test_an_invitation_travels_through_the_worker_to_a_real_smtp_server(app, login, acme, smtp_server, monkeypatch,
                                                                         run_worker):
    host, port, inbox = smtp_server
    _smtp_env(monkeypatch, host, port)
    admin = login(acme, "company_admin")
    newcomer = f"mailed-{secrets.token_hex(4)}@example.com"
    assert admin.submit("/team/invite", {"full_name": "Mo Mailed", "email": newcomer,
                                         "role": "manager"}).status_code == 303
    queued = last_email(app, newcomer)
    assert queued.status == "queued" and inbox.messages == []

    run_worker()

    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == [newcomer]
    assert message["From"] == "FlowTrack <no-reply@flowtrack.test>"
    assert acme.company.name in message["Subject"]
    body = message.get_payload(decode=True).decode()
    sent = _email(app, queued.id)
    assert sent.status == "sent" and sent.sent_at is not None and sent.attempts == 1
    # The single-use link left with the email; the database keeps no readable copy of it.
    assert sent.body == services.ERASED_BODY and link_in(body) not in sent.body

    client = app.test_client()
    assert client.get(link_in(body)).status_code == 303
    assert client.submit("/invitation", {"password": "a long and new passphrase",
                                         "confirm": "a long and new passphrase"}).status_code == 303


def test_a_mail_server_that_is_down_is_retried_then_marked_failed(app, acme, closed_port, monkeypatch):
    _smtp_env(monkeypatch, "127.0.0.1", closed_port)
    db = app.extensions["flowtrack.db"]
    with app.test_request_context(), company_session(acme.id, db=db) as session:
        email = services.send_email(session, "someone@example.com", "Hello", "Body")
        session.commit()
        settings = mail.smtp_settings()
        statuses = [services.deliver(session, email.id, settings) for _ in range(services.MAX_ATTEMPTS)]
    assert statuses == ["queued"] * (services.MAX_ATTEMPTS - 1) + ["failed"]
    failed = _email(app, email.id)
    assert failed.attempts == services.MAX_ATTEMPTS and failed.error.startswith("ConnectionRefusedError")
    assert failed.body == "Body"  # not sent, so nothing to erase


def test_delivery_twice_sends_once(app, acme, smtp_server, monkeypatch):
    host, port, inbox = smtp_server
    _smtp_env(monkeypatch, host, port)
    with app.test_request_context(), company_session(acme.id, db=app.extensions["flowtrack.db"]) as session:
        email = services.send_email(session, "twice@example.com", "Hello", "Body")
        session.commit()
        assert [services.deliver(session, email.id, mail.smtp_settings()) for _ in range(2)] == ["sent", "sent"]
    assert len(inbox.messages) == 1


def test_a_lost_delivery_job_is_queued_again_by_the_cron_sweep(app, acme, smtp_server, monkeypatch, run_worker):
    from flowtrack.notifications.tasks import requeue_stale_emails

    host, port, inbox = smtp_server
    _smtp_env(monkeypatch, host, port)
    db = app.extensions["flowtrack.db"]
    with db.service() as s:
        # As if Redis had been down when the transaction committed: queued, but no job.
        email = NotificationEmail(company_id=acme.id, to_address="lost@example.com", subject="Lost", body="Body",
                                  sensitive=False, status="queued", attempts=0,
                                  created_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=30))
        s.add(email)
        s.commit()
    with app.app_context():
        assert requeue_stale_emails() >= 1
    run_worker()
    assert [m["Subject"] for _, m in inbox.messages if "lost@example.com" in m["To"]] == ["Lost"]
    assert _email(app, email.id).status == "sent"


def test_one_company_cannot_send_more_than_the_hourly_cap(app, factory, acme):
    chatty = factory.company("Chatty")
    limit = services.HOURLY_EMAIL_LIMIT
    with app.app_context(), company_session(chatty.id, db=app.extensions["flowtrack.db"]) as session:
        statuses = [services.send_email(session, f"p{i}@example.com", "Hi", "Body").status for i in range(limit + 2)]
        session.commit()
    assert statuses == ["outbox"] * limit + ["throttled"] * 2
    # Another company's mail is not held back by it.
    with app.app_context(), company_session(acme.id, db=app.extensions["flowtrack.db"]) as session:
        assert services.send_email(session, "calm@example.com", "Hi", "Body").status == "outbox"
        session.commit()


def _mail_already_sent(app, company_id, count: int, minutes_ago: int) -> None:
    """The company's earlier mail, delivered `minutes_ago` (an hour's worth fills its allowance)."""
    when = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes_ago)
    with app.extensions["flowtrack.db"].service() as s:
        s.add_all(NotificationEmail(company_id=company_id, to_address=f"earlier{i}@example.com", subject="Invoice",
                                    body="Body", sensitive=False, status="sent", attempts=1, created_at=when,
                                    queued_at=when, sent_at=when) for i in range(count))
        s.commit()


def _time_passes(app, company_id, minutes: int) -> None:
    """Move the company's outbox `minutes` into the past, as if that much time had gone by."""
    with app.extensions["flowtrack.db"].service() as s:
        s.execute(sa.update(NotificationEmail).where(NotificationEmail.company_id == company_id).values(
            created_at=NotificationEmail.created_at - dt.timedelta(minutes=minutes),
            queued_at=NotificationEmail.queued_at - dt.timedelta(minutes=minutes),
            sent_at=NotificationEmail.sent_at - dt.timedelta(minutes=minutes)))
        s.commit()


def _statuses(app, emails) -> list[str]:
    return [_email(app, email.id).status for email in emails]


def test_mail_over_the_hourly_cap_goes_out_in_a_later_hour_within_the_cap(app, factory, smtp_server, monkeypatch,
                                                                           run_worker):
    from flowtrack.notifications.tasks import release_throttled_emails

    host, port, inbox = smtp_server
    _smtp_env(monkeypatch, host, port)
    busy = factory.company("Busy Season")
    limit = services.HOURLY_EMAIL_LIMIT
    # In the last hour the office sent a whole hour's worth of invoices; five more are written now.
    _mail_already_sent(app, busy.id, 2, minutes_ago=50)
    _mail_already_sent(app, busy.id, limit - 2, minutes_ago=20)
    with app.app_context(), company_session(busy.id, db=app.extensions["flowtrack.db"]) as session:
        held = [services.send_email(session, f"late{i}@example.com", f"Invoice {i}", "Body") for i in range(5)]
        session.commit()
    assert _statuses(app, held) == ["throttled"] * 5

    # Within the hour the cron job lets nothing out: the cap still holds.
    with app.app_context():
        assert release_throttled_emails() == 0
    run_worker()
    assert inbox.messages == [] and _statuses(app, held) == ["throttled"] * 5

    # Ten minutes later the first two of those sends are over an hour old: two held invoices go, the oldest first.
    _time_passes(app, busy.id, minutes=11)
    with app.app_context():
        assert release_throttled_emails() == 2
    run_worker()
    assert [m["Subject"] for _, m in inbox.messages] == ["Invoice 0", "Invoice 1"]
    assert _statuses(app, held) == ["sent"] * 2 + ["throttled"] * 3

    # In the next hour the rest go out.
    _time_passes(app, busy.id, minutes=60)
    with app.app_context():
        assert release_throttled_emails() == 3
    run_worker()
    assert [m["Subject"] for _, m in inbox.messages] == [f"Invoice {i}" for i in range(5)]
    assert _statuses(app, held) == ["sent"] * 5


def test_held_mail_goes_to_the_outbox_when_no_mail_server_is_set(app, factory, login):
    from flowtrack.notifications.tasks import release_throttled_emails

    quiet = factory.tenant("No SMTP")
    _mail_already_sent(app, quiet.id, services.HOURLY_EMAIL_LIMIT, minutes_ago=30)
    with app.app_context(), company_session(quiet.id, db=app.extensions["flowtrack.db"]) as session:
        held = services.send_email(session, "late@example.com", "Hi", "Body")
        session.commit()
    # The office sees why it waits.
    assert "over 200 an hour: it goes out in a later hour" in login(quiet, "manager").get("/reminders/").text
    _time_passes(app, quiet.id, minutes=31)
    with app.app_context():
        assert release_throttled_emails() == 0  # nothing to deliver
    assert _email(app, held.id).status == "outbox"


def test_the_cron_lets_held_mail_out_every_ten_minutes():
    from flowtrack.notifications.tasks import release_throttled_emails
    from jobs.cron import SCHEDULE

    assert (release_throttled_emails, "*/10 * * * *") in SCHEDULE


def test_smtp_settings_never_show_the_password(monkeypatch):
    monkeypatch.setenv("SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2-very-secret")
    settings = mail.smtp_settings()
    assert settings.port == 587 and settings.security == "starttls"
    assert "hunter2" not in repr(settings)
    monkeypatch.setenv("SMTP_SECURITY", "carrier-pigeon")
    with pytest.raises(RuntimeError):
        mail.smtp_settings()
