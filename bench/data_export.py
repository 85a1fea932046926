"""The full data export of the large company against the limit: bare COPY of the same
tables and columns, CSV and JSON, straight into a ZIP with the same compression.

    python bench/data_export.py [--entries 1000000]
"""
from __future__ import annotations

import argparse
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

from _common import bench_app, emit, measure_in_child, seed_large_company, start_rss_sampling

SCRIPT = __file__


def step(kind: str, company: str) -> None:
    from flowtrack.companies.jobs import company_session
    from flowtrack.core.collector import collections_paused
    from flowtrack.exports import data_export
    from flowtrack.models.companies import Company

    app = bench_app()
    out = Path(tempfile.mkdtemp()) / "export.zip"
    with app.app_context(), company_session(uuid.UUID(company)) as session:
        company_row = session.get(Company, uuid.UUID(company))
        started = time.perf_counter()
        if kind == "export":
            with collections_paused():  # as the job worker runs it
                manifest = data_export.write_zip(session, company_row, out, lambda p: None)
            rows = sum(t["rows"] for t in manifest["tables"].values())
        else:
            rows = 0
            cursor = session.connection().connection.driver_connection.cursor()
            with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
                for table in data_export.exported_tables(session):
                    sql = data_export._select_sql(table, data_export.exportable_columns(session, table))
                    for name, copy_sql in ((f"csv/{table}.csv",
                                            f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)"),
                                           (f"json/{table}.json",
                                            f"COPY (SELECT row_to_json(t) FROM ({sql}) t) TO STDOUT")):
                        with archive.open(name, "w", force_zip64=True) as target, \
                                cursor.copy(copy_sql, {"company": company_row.id}) as copy:
                            for block in copy:
                                target.write(block)
                                if name.startswith("csv/"):
                                    rows += bytes(block).count(b"\n")
        seconds = time.perf_counter() - started
    emit({"kind": kind, "rows": rows, "seconds": round(seconds, 2), "bytes": out.stat().st_size})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--step")
    parser.add_argument("--company")
    args = parser.parse_args()
    if args.step:
        start_rss_sampling()
        return step(args.step, args.company)

    app = bench_app()
    company = seed_large_company(app, audit_entries=args.entries)
    limit = measure_in_child(SCRIPT, "--step", "copy", "--company", str(company))
    export = measure_in_child(SCRIPT, "--step", "export", "--company", str(company))
    print(f"full data export of the large company ({export['rows']:,} rows, {export['bytes'] / 1e6:.1f} MB zipped)")
    print(f"  COPY into ZIP  {limit['seconds']:8.2f} s   peak RSS {limit['peak_rss_mb']:7.1f} MB")
    print(f"  export         {export['seconds']:8.2f} s   peak RSS {export['peak_rss_mb']:7.1f} MB   "
          f"ratio to COPY {export['seconds'] / limit['seconds']:.2f}x (target <= 2x, RSS < 300 MB)")


if __name__ == "__main__":
    main()
