"""The anonymization sweep on the large company: its wall time, and another company's pages while it runs.

gunicorn serves the app; wrk (20 connections) loads a small company's page first on a quiet server, then
again while the sweep anonymizes the large company (in its own process, one transaction, as the 04:00 cron
job does). Prints the sweep's time and the small company's p95 before and during, with the ratio.
The large company is gone afterwards: the next run of any benchmark builds it again (`seed --scale large`).

    python bench/sweep.py [--workers 2] [--page /customers/] [--seconds 15]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import threading
import time

import pages
from _common import ROOT, bench_app, seed_large_company

TARGET_SECONDS, TARGET_SLOWDOWN = 60, 2.0
SWEEP = """
import datetime as dt, json, sys, time
sys.path.insert(0, {root!r})
from flowtrack import create_app
from flowtrack.core.storage import file_storage
from flowtrack.lifecycle import anonymize
app = create_app()
print("ready", flush=True)
started = time.perf_counter()
with app.app_context():
    summary = anonymize.sweep(app.extensions["flowtrack.db"], dt.datetime.now(dt.timezone.utc),
                              storage=file_storage())
print(json.dumps({{"seconds": time.perf_counter() - started,
                  "anonymized": [str(r.company_id) for r in summary.results if r.status == "anonymized"]}}))
"""


def _end_subscription(app, company_id) -> None:
    """Canceled 31 days ago: past the 30 days of grace, so the next sweep anonymizes it."""
    import sqlalchemy as sa

    from flowtrack.models.companies import Company

    ended = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=31)
    with app.extensions["flowtrack.db"].service() as session:
        session.execute(sa.update(Company).where(Company.id == company_id).values(
            subscription_status="canceled", cancel_at_period_end=True, current_period_end=ended,
            deletion_clock_starts_at=ended))
        session.commit()


def _small_company(app):
    import sqlalchemy as sa

    from flowtrack.models.companies import Company

    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(Company.id).where(Company.name == "Small Co 0 (benchmark)"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--page", default="/customers/")
    parser.add_argument("--seconds", type=int, default=15, help="length of each measurement; keep it shorter "
                                                                 "than the sweep, so all of it falls within it")
    args = parser.parse_args()

    app = bench_app()
    settings = app.extensions["flowtrack.settings"]
    large = seed_large_company(app)
    small = _small_company(app)
    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
               SECRET_KEY=settings.secret_key)
    web, base = pages._serve("wsgi:app", env, args.workers)
    try:
        cookie = pages._cookie(app, small, "company_admin")
        quiet = pages._wrk(base + args.page, args.seconds, cookie)
        _end_subscription(app, large)
        sweep = subprocess.Popen([sys.executable, "-c", SWEEP.format(root=str(ROOT))], env=env,
                                 stdout=subprocess.PIPE, text=True)
        # The cron job runs in a worker that is up already: the load starts once the app is built, not while
        # the process imports it.
        assert sweep.stdout.readline().strip() == "ready"
        during: dict = {}
        started = time.perf_counter()
        load = threading.Thread(target=lambda: during.update(pages._wrk(base + args.page, args.seconds, cookie)))
        load.start()
        output, _ = sweep.communicate()
        sweep_seconds = time.perf_counter() - started
        load.join()
        within = time.perf_counter() - started <= sweep_seconds + 1
    finally:
        web.terminate()
    result = __import__("json").loads(output.strip().splitlines()[-1])
    if str(large) not in result["anonymized"]:
        raise SystemExit(f"the sweep did not anonymize the large company: {result}")
    slowdown = during["p95"] / quiet["p95"]
    print(f"sweep of the large company: {result['seconds']:.1f} s in its process ({sweep_seconds:.1f} s wall); "
          f"target < {TARGET_SECONDS} s: {'ok' if result['seconds'] < TARGET_SECONDS else 'MISSED'}")
    print(f"{args.page} of another company, 20 connections: p95 {quiet['p95']:.1f} ms quiet, "
          f"{during['p95']:.1f} ms during the sweep (x{slowdown:.2f}); target at most x{TARGET_SLOWDOWN}: "
          f"{'ok' if slowdown <= TARGET_SLOWDOWN else 'MISSED'}; errors {during['errors']}"
          + ("" if within else f" (the sweep ended before the {args.seconds} s of load did: run with less --seconds)"))


if __name__ == "__main__":
    main()
