"""FlowTrack on several hosts of this machine (tests/multihost/harness.py): the dashboard of a company seeded with
`fill_records` under wrk, on one web host directly, through the proxy to that one host, and through the proxy to
two hosts; then jobs per minute with one worker and with two. Prints requests/s, latency, the web processes' CPU,
requests per second per web core (requests / CPU-seconds the web hosts used), jobs per minute per worker, and the
ratios: two hosts to one, and the proxy's cost against hitting a host directly.

The machine has 2 cores, which the web hosts, the proxy, PostgreSQL and wrk all share: two hosts on it measure the
harness's overhead, not scaling. What carries over to separate machines is the per-core figure.

    python bench/multihost.py [--seconds 20] [--customers 2000] [--web-workers 2] [--jobs 100]
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The hosts' shared file store: a folder of this run's own, gone with it.
FILES = tempfile.mkdtemp(prefix="flowtrack-bench-hosts-")
os.environ["FLOWTRACK_INSTANCE_PATH"] = FILES
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import psutil  # noqa: E402  (after the path and the instance folder are set)
from pages import _cookie, _wrk  # noqa: E402

QUIET = Path("/tmp/bench-quiet")
PAGE = "/dashboard/"


def _wait_for_quiet() -> None:
    """Another benchmark holds the machine while /tmp/bench-quiet exists (it is theirs: never made or removed here)."""
    while QUIET.exists():
        print("waiting: /tmp/bench-quiet exists", flush=True)
        time.sleep(20)


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for process in (root, *root.children(recursive=True)):
                times = process.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _load(url: str, cookie: str, seconds: int, web_pids: list[int]) -> dict:
    _wrk(url, 5, cookie)  # every gunicorn worker past its first, slow, requests (templates, connections)
    before = _cpu_seconds(web_pids)
    result = _wrk(url, seconds, cookie)
    result["web_cpu"] = _cpu_seconds(web_pids) - before
    result["per_core"] = result["rps"] * seconds / max(result["web_cpu"], 1e-9)
    return result


def _jobs_per_minute(app, hosts, company_id, requested_by, count: int) -> float:
    """Queue `count` audit CSV reports (each: a job session, a COPY, a stored file, an audit entry) and time them."""
    import datetime as dt

    import sqlalchemy as sa

    from flowtrack.core.db import bind_company, utcnow
    from flowtrack.core.queue import enqueue_after_commit
    from flowtrack.exports.tasks import build_export
    from flowtrack.models.exports import Export

    db = app.extensions["flowtrack.db"]
    ids = []
    with app.app_context(), db.service() as session:
        bind_company(session, company_id)
        for _ in range(count):
            export = Export(kind="audit_csv", params={}, requested_by=requested_by, status="queued",
                            expires_at=utcnow() + dt.timedelta(days=1))
            session.add(export)
            session.flush()
            ids.append(export.id)
            enqueue_after_commit(session, build_export, company_id, str(export.id))
        started = time.perf_counter()
        session.commit()
    with db.service() as session:
        while session.scalar(sa.select(sa.func.count()).select_from(Export)
                             .where(Export.id.in_(ids), Export.status == "done")) < count:
            session.rollback()
            time.sleep(0.1)
    return count / (time.perf_counter() - started) * 60


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers on each web host")
    parser.add_argument("--jobs", type=int, default=100)
    args = parser.parse_args()

    from flowtrack import create_app
    from flowtrack.ops.seed_large import fill_records
    from tests.factories import Factory
    from tests.multihost.harness import QUEUE, Hosts

    _wait_for_quiet()
    hosts = Hosts(secrets.token_urlsafe(40), web_workers=args.web_workers)
    try:
        hosts.start()
        app = create_app({"ENV": "testing", **hosts.settings(), "QUEUE_NAME": QUEUE})
        company = Factory(app).tenant("Bench Backflow")
        fill_records(app.extensions["flowtrack.db"], company.id, customers=args.customers, echo=print)
        hosts.database.primary.scalar("VACUUM ANALYZE", database="flowtrack")  # the planner's statistics, as seeded
        devices = args.customers * 5 // 2
        cookie = _cookie(app, company.id, "company_admin")
        web = [hosts.pid_of("web1"), hosts.pid_of("web2")]
        _wait_for_quiet()
        runs = {
            "one host, direct": _load(hosts.web[0] + PAGE, cookie, args.seconds, web[:1]),
            "two hosts, proxy": _load(hosts.proxy + PAGE, cookie, args.seconds, web),
        }
        hosts.stop_host("proxy")
        hosts.start_proxy([hosts.web[0]])
        runs["one host, proxy"] = _load(hosts.proxy + PAGE, cookie, args.seconds, web[:1])

        print(f"\n{PAGE} of a company of {args.customers:,} customers and {devices:,} devices, signed in; "
              f"{args.web_workers} gunicorn workers a host; wrk 20 connections, {args.seconds} s a run")
        print(f"{'':<20}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'web CPU s':>11}{'req/s per web core':>20}")
        for label, result in runs.items():
            print(f"{label:<20}{result['rps']:8.0f}{result['p50']:8.1f}{result['p95']:8.1f}{result['web_cpu']:11.1f}"
                  f"{result['per_core']:20.0f}{'  errors=' + str(result['errors']) if result['errors'] else ''}")
        one, two, proxied = runs["one host, direct"], runs["two hosts, proxy"], runs["one host, proxy"]
        print(f"two hosts / one host (both through the proxy): {two['rps'] / proxied['rps']:.2f} req/s, "
              f"{two['per_core'] / proxied['per_core']:.2f} per web core")
        print(f"proxy / direct (one host): {proxied['rps'] / one['rps']:.2f} req/s, "
              f"p50 {proxied['p50'] - one['p50']:+.1f} ms")

        admin = company.members["company_admin"].profile_id
        _wait_for_quiet()
        hosts.stop_host("worker2")
        single = _jobs_per_minute(app, hosts, company.id, admin, args.jobs)
        hosts.start_process("worker2", "worker")
        time.sleep(3)  # the second worker up and listening
        double = _jobs_per_minute(app, hosts, company.id, admin, args.jobs)
        print(f"\njobs (audit CSV reports, {args.jobs} a run): one worker {single:.0f}/min, "
              f"two workers {double:.0f}/min ({double / 2:.0f}/min per worker); two / one: {double / single:.2f}")
        print("2 cores shared by every host, PostgreSQL and wrk: two hosts here measure the harness's overhead, "
              "not scaling; the per-core figures are what carry over to separate machines.")
        app.extensions["flowtrack.db"].dispose()
    finally:
        hosts.stop()
        shutil.rmtree(FILES, ignore_errors=True)


if __name__ == "__main__":
    main()
