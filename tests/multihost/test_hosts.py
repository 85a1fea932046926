"""FlowTrack on several hosts (tests/multihost/harness.py): two web hosts behind a proxy, two workers, two cron
processes, a PostgreSQL primary with its streaming replica, and Redis, each on its own address. Any request may go
to any web host, a job runs once on one of the workers, a worker that dies mid-job has its job finished by the
other, each scheduled job fires once a minute-window, and an export reads the replica."""
from __future__ import annotations

import csv
import hashlib
import io
import re
import time
import uuid
import zipfile
from collections import Counter

import pytest
import sqlalchemy as sa
from rq import Queue, Worker
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

from flowtrack.models.audit import AuditEntry
from flowtrack.models.exports import Export
from flowtrack.ops.seed_large import fill_records
from jobs.cron import SCHEDULE
from tests.factories import file_store
from tests.multihost.harness import QUEUE

pytestmark = pytest.mark.multihost

MINUTE_WINDOWS = 2
# Seconds for both cron processes to be up after the hosts start (more on a loaded machine), and for a second
# firing of a due job to show, if one were made.
CRON_STARTING, CRON_SETTLING = 20, 10


def _redis(app):
    return app.extensions["flowtrack.redis"]


def _export_row(app, export_id: uuid.UUID) -> Export:
    with app.extensions["flowtrack.db"].service() as session:
        return session.get(Export, export_id)


def _wait_for(app, export_id: uuid.UUID, status: str, timeout: float) -> Export:
    deadline = time.monotonic() + timeout
    while (export := _export_row(app, export_id)).status != status:
        assert time.monotonic() < deadline, f"export {export_id} is {export.status}, not {status}"
        time.sleep(0.05)
    return export


def _request_export(visitor, base: str) -> uuid.UUID:
    started = visitor.htmx_post(base + "/account/export/")
    assert started.status_code == 202, started.text
    return uuid.UUID(re.search(r"/exports?/([0-9a-f-]{36})", started.text).group(1))


def _audit_actions(app, company_id: uuid.UUID, export_id: uuid.UUID) -> list[str]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.company_id == company_id, AuditEntry.entity_id == str(export_id)).order_by(AuditEntry.seq)))


def _job_of(app, export_id: uuid.UUID, *registries, timeout: float = 0) -> Job:
    # The export is marked done inside the job; RQ files the job as finished a moment after it returns.
    queue = Queue(QUEUE, connection=_redis(app))
    deadline = time.monotonic() + timeout
    while True:
        for registry in registries:
            for job_id in registry(queue=queue).get_job_ids():
                job = Job.fetch(job_id, connection=_redis(app))
                if job.args and job.args[-1] == str(export_id):
                    return job
        assert time.monotonic() < deadline, f"no job of export {export_id}"
        time.sleep(0.05)


def _workers_that_ran(hosts, job_id: str, timeout: float = 30) -> list[str]:
    """The workers whose log says they finished the job, once one of them does (the log line follows the
    job's own last write)."""
    deadline = time.monotonic() + timeout
    while True:
        ran = [name for name in ("worker1", "worker2") if re.search(rf"Job OK.*\({job_id}\)", hosts.log(name))]
        if ran or time.monotonic() > deadline:
            return ran
        time.sleep(0.05)


def test_a_session_started_on_one_web_host_works_on_the_other_and_through_the_proxy(hosts, acme, visitor):
    first, second = hosts.web
    visitor.sign_in(first, acme.members["manager"])
    page = visitor.get(second + "/customers/")
    assert page.status_code == 200 and acme.company.name in page.text
    # Through the proxy, turn by turn on both hosts, the same person throughout.
    for _ in range(4):
        page = visitor.get(hosts.proxy + "/customers/")
        assert page.status_code == 200 and acme.company.name in page.text
    visitor.session_cookie = None
    assert visitor.get(second + "/customers/").status_code == 302  # and a stranger is sent to sign in


def test_a_job_enqueued_on_one_host_runs_once_on_one_worker(app, hosts, acme, visitor):
    visitor.sign_in(hosts.web[1], acme.members["company_admin"])
    export_id = _request_export(visitor, hosts.web[1])
    export = _wait_for(app, export_id, "done", timeout=60)
    assert _audit_actions(app, acme.id, export_id) == ["export.requested", "export.completed"]
    job = _job_of(app, export_id, FinishedJobRegistry, timeout=30)
    assert len(_workers_that_ran(hosts, job.id)) == 1
    stored = file_store(app).get(f"{acme.id}/exports/{export_id}.zip")
    assert hashlib.sha256(stored).hexdigest() == export.sha256
    # Downloaded through the other host (the file store is shared, not a host's disk).
    download = visitor.get(f"{hosts.web[0]}/account/export/{export_id}/download")
    assert download.status_code == 200 and hashlib.sha256(download.content).hexdigest() == export.sha256


def test_a_worker_killed_mid_job_has_the_job_run_again_on_the_other_and_done_once(app, hosts, factory, visitor):
    big = factory.tenant("Large Backflow")
    fill_records(app.extensions["flowtrack.db"], big.id, customers=3000, echo=lambda *_: None)
    visitor.sign_in(hosts.proxy, big.members["company_admin"])
    export_id = _request_export(visitor, hosts.proxy)
    _wait_for(app, export_id, "running", timeout=60)
    job = _job_of(app, export_id, StartedJobRegistry)
    pid = Worker.find_by_key(Worker.redis_worker_namespace_prefix + job.worker_name, connection=_redis(app)).pid
    killed = next(name for name in ("worker1", "worker2") if hosts.pid_of(name) == pid)
    hosts.kill(killed)
    try:
        export = _wait_for(app, export_id, "done", timeout=240)
    finally:
        hosts.start_process(killed, "worker")
    survivor = "worker2" if killed == "worker1" else "worker1"
    assert _workers_that_ran(hosts, job.id) == [survivor]
    assert _audit_actions(app, big.id, export_id) == ["export.requested", "export.completed"]
    stored = file_store(app).get(f"{big.id}/exports/{export_id}.zip")
    assert hashlib.sha256(stored).hexdigest() == export.sha256
    assert export.row_count > 3000


def test_an_export_reads_the_replica_and_matches_the_primary(app, hosts, acme, visitor):
    replica_log = len(hosts.database.replica.log())
    visitor.sign_in(hosts.proxy, acme.members["company_admin"])
    export_id = _request_export(visitor, hosts.proxy)
    _wait_for(app, export_id, "done", timeout=60)
    copies = [line for line in hosts.database.replica.log()[replica_log:].splitlines()
              if line.startswith("flowtrack_app@flowtrack") and "COPY (" in line]
    assert copies
    archive = zipfile.ZipFile(io.BytesIO(visitor.get(f"{hosts.proxy}/account/export/{export_id}/download").content))
    exported = [row["entry_hash"].removeprefix("\\x")
                for row in csv.DictReader(io.StringIO(archive.read("csv/audit_log.csv").decode()))]
    with app.extensions["flowtrack.db"].service() as primary:
        chain = list(primary.scalars(sa.select(sa.func.encode(AuditEntry.entry_hash, "hex"))
                                     .where(AuditEntry.company_id == acme.id).order_by(AuditEntry.seq)))
    # The primary's chain up to the export's request, which the replica had replayed before the worker read it.
    assert exported == chain[:len(exported)]
    assert _audit_actions(app, acme.id, export_id)[0] == "export.requested"
    assert chain.index(exported[-1]) == len(exported) - 1


def _cron_firings(app) -> Counter:
    """(job, minute-window) -> how many times it was enqueued, over every job of the scheduled functions."""
    scheduled = {f"{func.__module__}.{func.__name__}" for func, *_ in SCHEDULE}
    queue = Queue(QUEUE, connection=_redis(app))
    firings: Counter = Counter()
    for registry in (FinishedJobRegistry, FailedJobRegistry, StartedJobRegistry):
        for job in Job.fetch_many(registry(queue=queue).get_job_ids(), connection=_redis(app)):
            if job is not None and job.func_name in scheduled:
                firings[(job.func_name, job.enqueued_at.replace(second=0, microsecond=0))] += 1
    for job in queue.get_jobs():
        if job.func_name in scheduled:
            firings[(job.func_name, job.enqueued_at.replace(second=0, microsecond=0))] += 1
    return firings


def test_two_cron_processes_fire_each_scheduled_job_once_a_minute_window(app, hosts):
    # Both cron processes started with the hosts. Watch until a firing of resend_queued_jobs (every second minute)
    # due well after both were up (STARTING) has had SETTLING seconds to be fired twice, which one process must not
    # do: the first such firing is due at most two minute-windows after that.
    assert hosts.processes["cron1"].poll() is None and hosts.processes["cron2"].poll() is None
    started = time.time() - (time.monotonic() - hosts.jobs_hosts_started)
    deadline = started + CRON_STARTING + 60 * MINUTE_WINDOWS + CRON_SETTLING + 15
    while True:
        firings = _cron_firings(app)
        watched = [minute for name, minute in firings if name.endswith("resend_queued_jobs")
                   and minute.timestamp() >= started + CRON_STARTING
                   and time.time() >= minute.timestamp() + CRON_SETTLING]
        if watched or time.time() > deadline:
            break
        time.sleep(1)
    assert watched, firings
    assert hosts.processes["cron1"].poll() is None and hosts.processes["cron2"].poll() is None
    assert set(firings.values()) == {1}, firings
    claims = _redis(app).keys("flowtrack:cron:*")
    assert len(claims) == len(firings)
