"""Thousands of companies in one database: what they cost the pages of each, the daily jobs, Redis and the indexes.

Two databases on the bench's PostgreSQL: `flowtrack` holds the large company alone (as bench/pages.py measures
it), `flowtrack_many` the same large company beside 2,000 small and middle-sized ones (`flowtrack seed --scale
many`, flowtrack/ops/seed_many.py). In one run, with the bare endpoint measured first:

1. pages: each key page of the large company alone, of the large company among the 2,000, and of a small company
   among them, under wrk (20 connections): requests a second, p95, and the SQL statements the page runs; the large
   company among many is compared with itself alone (target: within 10%);
2. the daily jobs that go over every company, as the cron starts them and a real RQ worker runs what they queue:
   total time, time a company, and the gap to the next daily job in the schedule;
3. Redis: the memory that kept pages and rate limits take for each company at work (signed in through the form,
   the dashboard, the week board and the due list opened);
4. the indexes that lead with `company_id`: their size, in all and a company.

    python bench/many_companies.py [--seconds 15] [--companies 2000] [--active 100] [--skip pages,jobs,redis,indexes]
                                   [--database flowtrack_many]
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

from _common import ROOT, bench_app, seed_large_company
from pages import _cookie, _serve, _wrk

MANY_DATABASE = "flowtrack_many"
KEY_PAGES = [  # (path, role)
    ("/dashboard/", "company_admin"),
    ("/customers/", "manager"),
    ("/devices/", "manager"),
    ("/due/", "manager"),
    ("/schedule/", "manager"),
    ("/my-day/", "technician"),
    ("/invoices/", "manager"),
    ("/audit/", "company_admin"),
]
SMALL_COMPANY_DEVICES = 300  # about the median of the spread
DAILY_JOBS = [  # (module:function, when the cron starts it, America/Los_Angeles)
    ("flowtrack.audit_log.tasks:log_chain_heads", "00:15"),
    ("flowtrack.audit_log.tasks:prune_audit_logs", "03:30"),
    ("flowtrack.exports.tasks:delete_expired_exports", "03:45"),
    ("flowtrack.imports.tasks:forget_stale_imports", "03:50"),
    ("flowtrack.lifecycle.tasks:anonymization_sweep", "04:00"),
    ("flowtrack.reminders.tasks:send_due_reminders", "06:00"),
    ("flowtrack.invoices.tasks:retry_declined_autopay", "09:00"),
]
PASSWORD = "benchmark-passphrase-1"


def _database_url(database: str) -> str:
    from flowtrack.core import embedded

    if os.environ.get("DATABASE_URL"):
        from sqlalchemy.engine import make_url

        return make_url(os.environ["DATABASE_URL"]).set(database=database).render_as_string(hide_password=False)
    return embedded.postgres_url(Path(os.environ["FLOWTRACK_INSTANCE_PATH"]), database=database)


def _app_on(database: str, **config):
    """The app on one of the two databases (migrated), with this process's environment pointing at it."""
    from flowtrack.core import embedded

    os.environ["DATABASE_URL"] = _database_url(database)
    os.environ.setdefault("REDIS_URL", embedded.redis_url(Path(os.environ["FLOWTRACK_INSTANCE_PATH"])))
    app = bench_app()
    app.config.update(config)
    return app


def _server_env(app) -> dict:
    settings = app.extensions["flowtrack.settings"]
    return dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
                SECRET_KEY=settings.secret_key, BARE_DATABASE_URL=settings.app_database_url.replace(
                    "flowtrack_app", "flowtrack_service"))


def _company_by_name(app, name: str) -> uuid.UUID:
    import sqlalchemy as sa

    from flowtrack.models.companies import Company

    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(Company.id).where(Company.name == name))


def _statements(app, company_id, path: str, role: str) -> int:
    """The statements a page runs (the session's check, sent with the BEGIN, is not one of them)."""
    import sqlalchemy as sa

    name, value = _cookie(app, company_id, role).split("=", 1)
    client = app.test_client()
    client.set_cookie(name, value)
    assert client.get(path).status_code == 200, path
    count = 0

    def counted(*_):
        nonlocal count
        count += 1

    engine = app.extensions["flowtrack.db"].app_engine
    sa.event.listen(engine, "before_cursor_execute", counted)
    try:
        assert client.get(path).status_code == 200, path
    finally:
        sa.event.remove(engine, "before_cursor_execute", counted)
    return count


def measure_pages(seconds: int, configurations: list[tuple[str, object, uuid.UUID]], pages: list) -> None:
    """`configurations`: the large company alone, among many, and the small company among many: (label, app on
    its database, company id)."""
    bare, bare_url = _serve("bare_app:app", _server_env(configurations[0][1]), 4)
    try:
        ceiling = _wrk(bare_url + "/", seconds)
    finally:
        bare.terminate()
    print(f"\n1. Pages, wrk with 20 connections, {seconds} s a page; bare endpoint {ceiling['rps']:.0f} req/s, "
          f"p95 {ceiling['p95']:.1f} ms")
    results: dict[tuple[str, str], dict] = {}
    for label, app, company_id in configurations:
        web, base = _serve("wsgi:app", _server_env(app), 4)
        try:
            for path, role in pages:
                result = _wrk(base + path, seconds, _cookie(app, company_id, role))
                result["statements"] = _statements(app, company_id, path, role)
                results[label, path] = result
        finally:
            web.terminate()
    print(f"{'page':<16}{'large alone':>26}{'large among 2,000':>26}{'ratio':>8}{'small among 2,000':>26}")
    for path, _ in pages:
        alone, among, small = (results[label, path] for label, _, _ in configurations)

        def cell(r: dict) -> str:
            return f"{r['rps']:6.0f}/s p95 {r['p95']:6.1f} ms {r['statements']:2d} st"

        verdict = "ok" if among["p95"] <= alone["p95"] * 1.10 and among["statements"] == alone["statements"] \
            else "MISSED"
        print(f"{path:<16}{cell(alone):>26}{cell(among):>26}{among['p95'] / alone['p95']:8.2f}{cell(small):>26}  "
              f"{verdict}")
    print("target: the large company among many within 10% of its p95 alone, with the same statements")


def measure_daily_jobs(app, companies: int) -> None:
    """Each daily job twice: its first run on the seeded companies (which, for the audit log's retention, prunes
    what built up since the seed's oldest entries), then again, as a second cron process's firing would if it were
    let through (what the work left for a day costs)."""
    import importlib

    from rq import Queue

    redis = app.extensions["flowtrack.redis"]
    queue = Queue(app.config["QUEUE_NAME"], connection=redis)
    queue.empty()
    everyone = companies + 4  # the large company and the three small ones beside it
    print(f"\n2. Daily jobs over every company ({everyone:,}), a real RQ worker running what each queues")
    print(f"{'job':<28}{'run':>7}{'cron':>9}{'queued':>8}{'worker':>9}{'total':>9}{'a company':>11}{'window':>10}")
    times = [when for _, when in DAILY_JOBS]
    for n, (target, when) in enumerate(DAILY_JOBS):
        module, function = target.split(":")
        following = times[(n + 1) % len(times)]
        window = (_minutes(following) - _minutes(when)) % (24 * 60)
        for run in ("first", "again"):
            started = time.perf_counter()
            with app.app_context():
                getattr(importlib.import_module(module), function)()
            cron = time.perf_counter() - started
            queued = queue.count
            started = time.perf_counter()
            if queued:
                worker = subprocess.run([sys.executable, "-m", "flowtrack.ops.cli", "worker", "--burst"], cwd=ROOT,
                                        env=dict(_server_env(app), FLOWTRACK_QUEUE_NAME=app.config["QUEUE_NAME"]),
                                        capture_output=True, text=True)
                assert worker.returncode == 0, worker.stderr[-2000:]
            ran = time.perf_counter() - started
            total = cron + ran
            print(f"{function:<28}{run:>7}{cron:8.1f}s{queued:8d}{ran:8.1f}s{total:8.1f}s"
                  f"{total / everyone * 1000:9.1f}ms{window:6d} min")


def _minutes(hh_mm: str) -> int:
    hours, minutes = hh_mm.split(":")
    return int(hours) * 60 + int(minutes)


def measure_redis(app, company_ids: list[uuid.UUID], active: int) -> None:
    import sqlalchemy as sa

    from flowtrack.auth import passwords
    from flowtrack.models.accounts import User

    redis = app.extensions["flowtrack.redis"]
    chosen = company_ids[:active]
    with app.extensions["flowtrack.db"].service() as session:
        admins = session.execute(sa.select(User.id, User.email).where(
            User.company_id.in_(chosen), User.email.like("company_admin0@%"))).all()
        session.execute(sa.update(User).where(User.id.in_([a.id for a in admins]))
                        .values(password_hash=passwords.hash_password(PASSWORD)))
        session.commit()
    redis.flushdb()
    before = redis.info("memory")["used_memory"]
    for n, (_, email) in enumerate(admins):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.{n // 250}.{n % 250}.1"  # each company's office its own address
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        signed_in = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        assert signed_in.status_code in (302, 303), signed_in.status_code
        for path in ("/dashboard/", "/schedule/", "/due/"):
            assert client.get(path).status_code == 200, path
    after = redis.info("memory")["used_memory"]
    groups: dict[str, list[int]] = {}
    for key in redis.scan_iter(count=1000):
        name = key.decode()
        group = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}.*|[0-9a-f]{32,}.*|\d+\.\d+\.\d+\.\d+.*|[^/:]+@[^/:]+.*", "…", name)
        groups.setdefault(group, []).append(redis.memory_usage(key) or 0)
    print(f"\n3. Redis, {len(admins)} companies at work (each: a sign-in through the form, the dashboard, the week "
          f"board and the due list)")
    print(f"used_memory {before / 1e6:.2f} → {after / 1e6:.2f} MB: {(after - before) / len(admins) / 1e3:.1f} KB a "
          f"company at work")
    print(f"{'keys like':<60}{'keys':>6}{'bytes each':>12}{'a company':>12}")
    for group, sizes in sorted(groups.items(), key=lambda item: -sum(item[1])):
        print(f"{group[:58]:<60}{len(sizes):6d}{sum(sizes) / len(sizes):12.0f}{sum(sizes) / len(admins):12.0f}")


INDEX_SIZES = """
SELECT i.indexrelid::regclass::text AS index, t.relname AS table_name, pg_relation_size(i.indexrelid) AS bytes,
       pg_relation_size(i.indrelid) AS table_bytes,
       -- company_id alone, where another index of the table leads with it too: its prefix serves the same look-ups
       i.indnatts = 1 AND EXISTS (SELECT 1 FROM pg_index other WHERE other.indrelid = i.indrelid
                                  AND other.indexrelid <> i.indexrelid AND other.indkey[0] = i.indkey[0]
                                  AND other.indnatts > 1 AND other.indpred IS NULL) AS covered
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE n.nspname = 'public' AND a.attname = 'company_id'
ORDER BY bytes DESC
"""


def measure_indexes(app, companies: int) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(app.extensions["flowtrack.settings"].database_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text(INDEX_SIZES)).all()
        database = connection.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
    engine.dispose()
    total = sum(row.bytes for row in rows)
    print(f"\n4. Indexes that lead with company_id: {len(rows)}, {total / 1e6:.1f} MB in all, "
          f"{total / (companies + 4) / 1e3:.1f} KB a company; the database {database / 1e9:.2f} GB")
    covered = [row for row in rows if row.covered]
    print(f"of which {len(covered)} on company_id alone where another index of the table leads with it: "
          f"{sum(row.bytes for row in covered) / 1e6:.1f} MB")
    print(f"{'index':<58}{'MB':>9}{'of its table':>14}")
    for row in rows:
        print(f"{row.index[:56]:<58}{row.bytes / 1e6:9.1f}{row.bytes / max(row.table_bytes, 1):14.2f}"
              f"{'  (covered)' if row.covered else ''}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--companies", type=int, default=2_000)
    parser.add_argument("--active", type=int, default=100)
    parser.add_argument("--skip", default="", help="comma-separated: pages, jobs, redis, indexes")
    parser.add_argument("--database", default=MANY_DATABASE, help="the database of the many companies")
    parser.add_argument("--only", nargs="*", help="measure just these pages (as listed in KEY_PAGES)")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    from flowtrack.ops.seed_many import NAME, devices_of, seed_many

    large_alone = _app_on("flowtrack")
    large_alone_id = seed_large_company(large_alone)
    many = _app_on(args.database, QUEUE_NAME=f"bench-many-{uuid.uuid4().hex[:8]}")
    large_id = seed_large_company(many)
    ids = seed_many(many.extensions["flowtrack.db"], count=args.companies,
                    owner_url=many.extensions["flowtrack.settings"].database_url)
    small_number = min(range(args.companies), key=lambda n: abs(devices_of(n) - SMALL_COMPANY_DEVICES))
    small_id = _company_by_name(many, NAME.format(small_number))
    if "pages" not in skip:
        measure_pages(args.seconds, [("large alone", large_alone, large_alone_id), ("large among many", many, large_id),
                                     ("small among many", many, small_id)],
                      [page for page in KEY_PAGES if not args.only or page[0] in args.only])
    if "jobs" not in skip:
        measure_daily_jobs(many, args.companies)
    if "redis" not in skip:
        measure_redis(many, ids, args.active)
    if "indexes" not in skip:
        measure_indexes(many, args.companies)


if __name__ == "__main__":
    main()
