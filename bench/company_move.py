"""Moving a company from the United States to Canada (`flowtrack company move`, flowtrack/ops/move.py) on two
PostgreSQL servers of this machine (tests/regions/harness.py): a company seeded with `fill_records` (2,000
customers: 5,000 devices, 20,000 tests, 3,000 work orders, 4,000 invoices by default) and 200 stored files. Prints
each step's time, the rows and files moved, how long the source's tenant tables were locked against writes (the
switch: the checksums taken again, the target's commit, the directory, the source's rows removed), and the ratio
of the whole move to its reference: `COPY` of the same rows out of the source alone, the least a move can cost.

    python bench/company_move.py [--customers 2000] [--files 200]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["FLOWTRACK_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="flowtrack-bench-move-")

QUIET = Path("/tmp/bench-quiet")


def _copy_out_seconds(region, company_id: uuid.UUID) -> tuple[float, int]:
    """COPY every row of the company out of the region's database, thrown away: (seconds, bytes)."""
    from psycopg import sql

    from flowtrack.ops.move import _rows_of, admin_connection, tenant_tables

    started, size = time.perf_counter(), 0
    with admin_connection(region) as connection:
        for table, columns in tenant_tables(connection):
            with connection.cursor().copy(sql.SQL("COPY ({}) TO STDOUT").format(_rows_of(table, columns)),
                                          (company_id,)) as rows:
                for block in rows:
                    size += len(block)
    return time.perf_counter() - started, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--files", type=int, default=200)
    options = parser.parse_args()
    while QUIET.exists():
        print("waiting: /tmp/bench-quiet exists", flush=True)
        time.sleep(20)

    from flowtrack.core.regions import in_region
    from flowtrack.core.storage import file_storage
    from flowtrack.ops import move
    from flowtrack.ops.seed_large import fill_records
    from tests.factories import Factory
    from tests.regions.harness import two_regions

    with two_regions(Path(tempfile.mkdtemp(prefix="flowtrack-bench-regions-"))) as made:
        app = made["app"]
        us = app.extensions["flowtrack.regions"]["us"]
        tenant = Factory(app).tenant("Moving Backflow")
        fill_records(us.db, tenant.id, customers=options.customers)
        photo = os.urandom(150_000)  # a phone's photo, after its resize
        with app.app_context():
            for number in range(options.files):
                file_storage().put(f"{tenant.id}/photos/{number:04d}.jpg", photo, "image/jpeg")
            with in_region("us"):
                reference, size = _copy_out_seconds(us, tenant.id)

        marks: dict[str, float] = {}
        started = time.perf_counter()
        with app.app_context():
            moved = move.move_company(tenant.id, "ca",
                                      after_step=lambda step: marks.setdefault(step, time.perf_counter()))
        total = time.perf_counter() - started

    previous = started
    print(f"\nmoving a company of {options.customers:,} customers: {sum(moved.tables.values()):,} rows in "
          f"{len(moved.tables)} tables ({size / 1e6:.1f} MB as COPY text), {moved.files:,} files "
          f"({options.files * len(photo) / 1e6:.0f} MB), {moved.attempts} copy attempt(s)")
    for step in move.STEPS:
        print(f"  {step:<8} {marks[step] - previous:7.2f} s")
        previous = marks[step]
    # The lock is taken just after "rows" and released when the source's rows are gone, before its files go.
    print(f"source's tables locked against writes: about {marks['source'] - marks['rows']:.2f} s "
          "(checksums again, the target's commit, the directory, the source's rows removed, its files removed)")
    print(f"whole move {total:.2f} s; COPY of its rows out of the source alone {reference:.2f} s: "
          f"{total / reference:.1f}x the reference")


if __name__ == "__main__":
    main()
