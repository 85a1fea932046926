"""A CSV import of 5,000 rows (each a new customer, location and device: the most work a row can make),
timed step by step as the office's request runs it: read the file, check every row (the preview), import
(check again, insert, one audit entry a record). Beside it, the floor: PostgreSQL's COPY of the same
records' rows and audit entries, which no import can beat.

    python bench/imports.py [--rows 5000] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from _common import bench_app


def _file(rows: int) -> bytes:
    lines = ["customer_name,customer_email,address_line1,city,state,postal_code,device_type,manufacturer,serial,"
             "size,install_date,last_test_on"]
    lines += [f"Bench Customer {n},c{n}@example.com,{n} Import Road,Eugene,OR,97401,RP,Watts,IMP-{n},3/4,"
              f"2019-05-01,2025-0{1 + n % 9}-15" for n in range(rows)]
    return "\n".join(lines).encode()


def _copy_floor(session, company_id, table_rows: dict[str, int]) -> float:
    """COPY as many rows into scratch copies of the tables as the import writes into them; seconds."""
    cursor = session.connection().connection.driver_connection.cursor()
    started = time.perf_counter()
    for table, count in table_rows.items():
        cursor.execute(f"CREATE TEMP TABLE scratch_{table} (LIKE public.{table} INCLUDING DEFAULTS)")
        cursor.execute(f"INSERT INTO scratch_{table} SELECT * FROM public.{table} WHERE company_id = %s LIMIT 1",
                       (company_id,))
        with cursor.copy(f"COPY (SELECT * FROM scratch_{table}) TO STDOUT") as out:
            line = b"".join(bytes(chunk) for chunk in out)
        with cursor.copy(f"COPY scratch_{table} FROM STDIN") as into:
            for _ in range(count):
                into.write(line)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--profile", action="store_true", help="print where the import's time goes")
    args = parser.parse_args()

    from flowtrack.companies.jobs import company_session
    from flowtrack.companies.services import company_today, create_company
    from flowtrack.imports import services

    app = bench_app()
    data = _file(args.rows)
    with app.app_context():
        with app.extensions["flowtrack.db"].service() as service:
            company = create_company(service, f"Import bench {time.time():.0f}")
            service.commit()
            company_id = company.id
        with company_session(company_id, writes=True) as session:
            today = company_today(session)
            started = time.perf_counter()
            upload = services.store_upload(session, "bench.csv", data, None)
            session.commit()
            read = time.perf_counter() - started

            started = time.perf_counter()
            plan = services.plan_rows(session, upload.rows, today)
            check = time.perf_counter() - started
            assert not plan.problem_rows, plan.problem_rows[:3]

            profiler = cProfile.Profile() if args.profile else None
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            services.import_upload(session, upload, today)
            session.commit()
            if profiler:
                profiler.disable()
            imported = time.perf_counter() - started
            floor = _copy_floor(session, company_id, {"customers": args.rows, "customer_locations": args.rows,
                                                      "devices": args.rows, "audit_log": 3 * args.rows + 1})
            session.rollback()

    print(f"{args.rows} rows, {len(data) / 1e6:.1f} MB")
    print(f"read and keep the file     {read:6.2f} s")
    print(f"check every row (preview)  {check:6.2f} s")
    print(f"import (check, write, audit) {imported:4.2f} s   {args.rows / imported:,.0f} rows/s")
    print(f"COPY of the same rows       {floor:6.2f} s   import / COPY = {imported / floor:.1f}x")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
