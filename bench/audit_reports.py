"""Audit reports at scale: CSV of the whole chain against PostgreSQL COPY (the limit),
PDF of 10,000 and 100,000 entries against one naive WeasyPrint render of the same rows.

    python bench/audit_reports.py [--entries 1000000] [--pdf 10000 100000] [--naive-up-to 10000]

Each step runs in its own process so its peak RSS is its own. Uses DATABASE_URL or
the embedded PostgreSQL under instance-bench/.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import tempfile
import time
import uuid
from pathlib import Path

from _common import bench_app, emit, measure_in_child, seed_large_company, start_rss_sampling

SCRIPT = __file__
PER_DAY = None  # entries per day of the seeded chain, computed in main


def _company_filters(session, company_id, entries: int | None):
    from flowtrack.audit.filters import AuditFilters

    if entries is None:
        return AuditFilters()
    import sqlalchemy as sa

    from flowtrack.models.audit import AuditEntry

    newest = session.scalar(sa.select(sa.func.max(AuditEntry.occurred_at)).where(AuditEntry.company_id == company_id))
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                           .where(AuditEntry.company_id == company_id))
    days = max(1, math.ceil(entries / (total / 730)))
    return AuditFilters(date_from=(newest - dt.timedelta(days=days - 1)).date())


def step(kind: str, company: str, entries: int | None) -> None:
    import sqlalchemy as sa

    from flowtrack.audit import reports
    from flowtrack.companies.jobs import company_session
    from flowtrack.core.collector import collections_paused
    from flowtrack.models.audit import AuditEntry
    from flowtrack.models.companies import Company

    app = bench_app()
    out = Path(tempfile.mkdtemp()) / f"report.{kind}"
    with app.app_context(), company_session(uuid.UUID(company)) as session:
        company_row = session.get(Company, uuid.UUID(company))
        filters = _company_filters(session, company_row.id, entries)
        started = time.perf_counter()
        if kind == "csv":
            with collections_paused():  # as the job worker runs it
                header = reports.write_csv(session, company_row, filters, out, lambda p: None)
            rows = header.entries
        elif kind == "copy":
            query = filters.apply(sa.select(*reports.CSV_COLUMNS).where(AuditEntry.company_id == company_row.id),
                                  company_row.timezone).order_by(AuditEntry.seq)
            compiled = query.compile(dialect=session.get_bind().dialect)
            cursor = session.connection().connection.driver_connection.cursor()
            rows = 0
            with out.open("wb") as f, cursor.copy(f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv, HEADER true)",
                                                  compiled.params) as copy:
                for block in copy:
                    f.write(block)
                    rows += bytes(block).count(b"\n")
        elif kind == "pdf":
            with app.test_request_context(), collections_paused():  # as the job worker runs it
                rows = reports.write_pdf(session, company_row, filters, out, lambda p: None).entries
        elif kind == "naive_pdf":
            from flask import render_template_string
            from weasyprint import HTML

            entries_rows = session.execute(filters.apply(sa.select(AuditEntry).where(
                AuditEntry.company_id == company_row.id), company_row.timezone).order_by(AuditEntry.seq)
            ).scalars().all()
            with app.test_request_context():
                html = render_template_string(
                    "<table>{% for e in rows %}<tr><td>{{ e.seq }}</td><td>{{ e.occurred_at }}</td>"
                    "<td>{{ e.actor_label }}"
                    "</td><td>{{ e.ip }}</td><td>{{ e.action }} {{ e.entity_type }} {{ e.entity_id }}</td></tr>"
                    "{% endfor %}</table>", rows=entries_rows)
            HTML(string=html).write_pdf(str(out))
            rows = len(entries_rows)
        seconds = time.perf_counter() - started
    emit({"kind": kind, "rows": rows, "seconds": round(seconds, 2), "bytes": out.stat().st_size})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--pdf", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--naive-up-to", type=int, default=10_000)
    parser.add_argument("--step")
    parser.add_argument("--company")
    parser.add_argument("--rows", type=int)
    args = parser.parse_args()
    if args.step:
        start_rss_sampling()
        return step(args.step, args.company, args.rows)

    app = bench_app()
    started = time.perf_counter()
    company = seed_large_company(app, audit_entries=args.entries)
    print(f"large company ready ({args.entries:,} audit entries) in {time.perf_counter() - started:.1f} s")

    copy = measure_in_child(SCRIPT, "--step", "copy", "--company", str(company))
    csv = measure_in_child(SCRIPT, "--step", "csv", "--company", str(company))
    print(f"\naudit CSV, {csv['rows']:,} entries")
    print(f"  COPY limit   {copy['seconds']:8.2f} s   peak RSS {copy['peak_rss_mb']:7.1f} MB")
    print(f"  report       {csv['seconds']:8.2f} s   peak RSS {csv['peak_rss_mb']:7.1f} MB   "
          f"ratio to COPY {csv['seconds'] / copy['seconds']:.2f}x (target <= 2x)")
    for size in args.pdf:
        pdf = measure_in_child(SCRIPT, "--step", "pdf", "--company", str(company), "--rows", str(size))
        line = (f"\naudit PDF, {pdf['rows']:,} entries\n  chunked      {pdf['seconds']:8.2f} s   "
                f"peak RSS {pdf['peak_rss_mb']:7.1f} MB   (target < 120 s and < 1 GB at 100,000)")
        if size <= args.naive_up_to:
            naive = measure_in_child(SCRIPT, "--step", "naive_pdf", "--company", str(company), "--rows", str(size))
            line += (f"\n  naive        {naive['seconds']:8.2f} s   peak RSS {naive['peak_rss_mb']:7.1f} MB   "
                     f"chunked/naive time {pdf['seconds'] / naive['seconds']:.2f}x")
        else:
            line += "\n  naive        skipped (one render of this many table rows takes far longer; --naive-up-to)"
        print(line)


if __name__ == "__main__":
    main()
