"""Pages under load: gunicorn serving FlowTrack, wrk on loopback with 20 connections (and then with one), each
page signed in as the large company's staff; beside it, a bare Flask endpoint doing one query (the ceiling on
this machine) and FlowTrack's floor (bench/floor_app.py: a signed-in request that does nothing more, and one that
renders the empty layout). Prints requests/s, p50/p95/p99, each page's ratio to the ceiling and to the empty
layout, against the targets: the signed-in floor at 0.6 of the ceiling or more, the empty layout at 0.5 or more,
each page at 0.5 of the empty layout or more; p95 under 150 ms at 20 connections and under 15 ms at one.

    python bench/pages.py [--seconds 60] [--workers 4] [--connections 20 1] [--only PATH ...]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

from _common import ROOT, bench_app, seed_large_company

PAGES = [  # (path, role)
    ("/dashboard/", "company_admin"),
    ("/audit/", "auditor"),
    ("/audit/?action=customer", "auditor"),
    ("/customers/", "manager"),
    ("/customers/?q=harbor", "manager"),
    ("/devices/", "manager"),
    ("/due/", "manager"),
    ("/schedule/", "manager"),       # this week's board: 20 technicians' jobs and the open work orders
    ("/my-day/", "technician"),     # the benchmark technician's route today
    ("/invoices/", "manager"),
]
FLOOR = [  # (path, what it is): routes of bench/floor_app.py, signed in as the office
    ("/floor/signed-in", "signed in, nothing more"),
    ("/floor/layout", "signed in, empty layout"),
]
TARGET_P95_MS = {20: 150, 1: 15}  # by connections
FLOOR_SHARE, LAYOUT_SHARE, PAGE_SHARE = 0.6, 0.5, 0.5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(target: str, env: dict, workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    in_bench = target.startswith(("bare_app:", "floor_app:"))
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                                "--log-level", "warning", target], cwd=ROOT / ("bench" if in_bench else ""), env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + ("/" if target.startswith("bare_app:") else "/healthz"), timeout=1)
            return process, base
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{target} did not start")


def _wrk(url: str, seconds: int, cookie: str | None = None, connections: int = 20) -> dict:
    # Warm every worker first (templates compiled, statements prepared): a one-connection run is short of
    # requests enough to hide the first ones.
    for _ in range(20):
        urllib.request.urlopen(urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})).read()
    args = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "-s",
            str(ROOT / "bench" / "latency.lua"), url]
    if cookie:
        args[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    fields = dict(pair.split("=") for pair in re.search(r"RESULT (.*)", output).group(1).split())
    return {"rps": int(fields["requests"]) / (int(fields["duration_us"]) / 1e6), "errors": int(fields["errors"]),
            **{k: int(fields[k]) / 1000 for k in ("p50", "p95", "p99")}}


def _cookie(app, company_id, role: str) -> str:
    import sqlalchemy as sa

    from flowtrack.auth.services import SessionPolicy, new_session
    from flowtrack.models.accounts import Profile, User

    db = app.extensions["flowtrack.db"]
    with db.service() as session:
        # The first by e-mail: for technicians, technician0@large.bench, whose day the seed fills.
        user = session.execute(sa.select(User).join(Profile, Profile.user_id == User.id)
                               .where(User.company_id == company_id, Profile.role == role)
                               .order_by(User.email)).scalars().first()
        row, token = new_session(company_id, user.id, SessionPolicy(dt.timedelta(hours=2), dt.timedelta(hours=2)),
                                 ip="127.0.0.1", user_agent="wrk")
        session.add(row)
        session.commit()
    value = app.session_interface.get_signing_serializer(app).dumps({"sid": token})
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--connections", type=int, nargs="+", default=[20, 1])
    parser.add_argument("--only", nargs="*", help="measure just these paths (as listed in PAGES)")
    args = parser.parse_args()
    pages = [page for page in PAGES if not args.only or page[0] in args.only]

    app = bench_app()
    settings = app.extensions["flowtrack.settings"]
    company = seed_large_company(app)
    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
               SECRET_KEY=settings.secret_key, BARE_DATABASE_URL=settings.app_database_url.replace(
                   "flowtrack_app", "flowtrack_service"))
    for connections in args.connections:
        _measure(app, company, env, pages, args, connections)


def _measure(app, company, env: dict, pages: list, args, connections: int) -> None:
    def wrk(url: str, cookie: str | None = None) -> dict:
        return _wrk(url, args.seconds, cookie, connections)

    bare, bare_url = _serve("bare_app:app", env, args.workers)
    try:
        ceiling = wrk(bare_url + "/")
    finally:
        bare.terminate()
    floor, floor_url = _serve("floor_app:app", env, args.workers)
    try:
        floors = [(label, wrk(floor_url + path, _cookie(app, company, "manager"))) for path, label in FLOOR]
    finally:
        floor.terminate()
    layout_rps = floors[-1][1]["rps"]
    target_ms = TARGET_P95_MS.get(connections)

    print(f"\n{connections} connection{'s' if connections > 1 else ''}, {args.seconds} s a page, "
          f"{args.workers} gunicorn workers")
    print(f"{'page':<28}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'of ceiling':>12}{'of layout':>11}")

    def row(label: str, result: dict, met: bool | None = None) -> None:
        fast = target_ms is None or result["p95"] < target_ms
        verdict = "" if met is None else "ok" if met and fast else "MISSED"
        print(f"{label:<28}{result['rps']:9.0f}{result['p50']:9.1f}{result['p95']:9.1f}{result['p99']:9.1f}"
              f"{result['rps'] / ceiling['rps']:12.2f}{result['rps'] / layout_rps:11.2f}  {verdict}"
              f"{'  errors=' + str(result['errors']) if result['errors'] else ''}")

    row("bare endpoint (ceiling)", ceiling)
    for (label, result), share in zip(floors, (FLOOR_SHARE, LAYOUT_SHARE), strict=True):
        row(label, result, result["rps"] / ceiling["rps"] >= share)
    web, base = _serve("wsgi:app", env, args.workers)
    try:
        for path, role in pages:
            result = wrk(base + path, _cookie(app, company, role))
            row(path, result, result["rps"] / layout_rps >= PAGE_SHARE)
    finally:
        web.terminate()
    print(f"targets: the floor at {FLOOR_SHARE} of the ceiling, the layout at {LAYOUT_SHARE}, each page at "
          f"{PAGE_SHARE} of the layout" + (f"; p95 under {target_ms} ms" if target_ms else ""))


if __name__ == "__main__":
    main()
