"""One page, in process, without the network: the SQL statements it runs and where its Python time goes.

    python bench/profile_page.py /audit/ --role auditor [--requests 200] [--sql]

Signs in as the large company's member of that role (as bench/pages.py does), warms up, prints the wall
time and this process's CPU time per request (best of five batches: other processes share the CPU), then
runs the page `--requests` times under cProfile and prints the `--top` functions by cumulative time (0:
none); `--sql` prints each statement of one request and its time.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from _common import bench_app, seed_large_company
from pages import _cookie


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--role", default="company_admin")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--sql", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative", help="a pstats key: cumulative, tottime, ...")
    args = parser.parse_args()

    import sqlalchemy as sa

    app = bench_app()
    db = app.extensions["flowtrack.db"]
    company = seed_large_company(app)
    name, value = _cookie(app, company, args.role).split("=", 1)
    client = app.test_client()
    client.set_cookie(name, value)
    for _ in range(20):
        assert client.get(args.path).status_code == 200

    if args.sql:
        statements = []

        def before(conn, cursor, statement, parameters, context, executemany):
            conn.info["started"] = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany):
            statements.append((time.perf_counter() - conn.info["started"], " ".join(statement.split())))

        sa.event.listen(db.app_engine, "before_cursor_execute", before)
        sa.event.listen(db.app_engine, "after_cursor_execute", after)
        started = time.perf_counter()
        client.get(args.path)
        total = time.perf_counter() - started
        sa.event.remove(db.app_engine, "before_cursor_execute", before)
        sa.event.remove(db.app_engine, "after_cursor_execute", after)
        for seconds, statement in statements:
            print(f"{seconds * 1000:7.2f} ms  {statement[:160]}")
        print(f"{len(statements)} statements, {sum(s for s, _ in statements) * 1000:.1f} ms of {total * 1000:.1f} ms")

    wall, cpu, size = [], [], args.requests // 5
    for _ in range(5):
        started, started_cpu = time.perf_counter(), time.process_time()
        for _ in range(size):
            client.get(args.path)
        wall.append((time.perf_counter() - started) / size)
        cpu.append((time.process_time() - started_cpu) / size)
    print(f"{args.path}: {min(wall) * 1000:.2f} ms a request, {min(cpu) * 1000:.2f} ms of it this process's CPU "
          f"(best of 5 batches of {size})")
    if args.top:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            client.get(args.path)
        profile.disable()
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
