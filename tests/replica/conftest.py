"""A FlowTrack whose region has a streaming replica: a PostgreSQL primary and a hot standby on two loopback
addresses, the app's DATABASE_REPLICA_URL pointing at the standby."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowtrack.ops import migrate
from tests import run_log
from tests.conftest import make_app
from tests.customers.factories import records  # noqa: F401  (the fixtures, for every test here)
from tests.district_portal.factories import district_admin_of, districts, eweb  # noqa: F401
from tests.servers import ReplicatedPostgres

DATABASE = "flowtrack"


@pytest.fixture(scope="package")
def replicated():
    cluster = ReplicatedPostgres("127.0.0.2", "127.0.0.3", log_statements=True)
    try:
        cluster.start(DATABASE)
        migrate.upgrade(cluster.primary.url(DATABASE))
        cluster.caught_up()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="package")
def app(services, replicated):
    """The app of these tests (and their factories): its primary and replica are the replicated pair."""
    app = make_app(services, DATABASE_URL=replicated.primary.url(DATABASE),
                   DATABASE_REPLICA_URL=replicated.replica.url(DATABASE),
                   QUEUE_NAME=services["QUEUE_NAME"] + "-replicated")
    yield app
    app.extensions["flowtrack.db"].dispose()


@pytest.fixture
def run_worker(app, services, replicated):
    """A real RQ worker process with the replica in its settings, until the queue is empty."""

    def run() -> subprocess.CompletedProcess:
        env = dict(os.environ, DATABASE_URL=replicated.primary.url(DATABASE),
                   DATABASE_REPLICA_URL=replicated.replica.url(DATABASE), REDIS_URL=services["REDIS_URL"],
                   SECRET_KEY=app.config["SECRET_KEY"], FLOWTRACK_ENV="testing",
                   FLOWTRACK_QUEUE_NAME=app.config["QUEUE_NAME"])
        result = subprocess.run([sys.executable, "-m", "flowtrack.ops.cli", "worker", "--burst"], env=env,
                                cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=120)
        run_log.append("worker", result.stdout + result.stderr)
        assert result.returncode == 0, result.stderr
        return result

    return run
