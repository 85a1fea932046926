"""A district's batch file (flowtrack/submissions/batches.py) at two sizes, to show that it streams with flat
memory: a district of the large company with 5,000 and then 20,000 reports waiting to be submitted, made into one
batch and its CSV read to the end as the download's response reads it, in a process of its own (peak RSS, and the
peak of Python's own allocations under tracemalloc in a second run). Beside it, the same rows by bare `COPY` (the
floor) and the district view's CSV export of as many tests (the reference this file is held to).

    python bench/district_batch.py [--sizes 5000 20000] [--mark 5000]

`--mark` also times marking a batch of that size submitted (each report through `services.mark_submitted`, with
its audit entry).
"""
from __future__ import annotations

import argparse
import time
import tracemalloc
import uuid

from _common import bench_app, emit, measure_in_child, seed_large_company, start_rss_sampling

SCRIPT = __file__
DISTRICT = "Batch bench water district"


def prepare(app, company_id: uuid.UUID, size: int) -> tuple[uuid.UUID, uuid.UUID]:
    """The bench district with `size` reports waiting (the company's latest tests), made into one batch, as the
    office's button makes it; (district id, batch id)."""
    import sqlalchemy as sa

    from flowtrack.companies.jobs import company_session
    from flowtrack.companies.services import company_today
    from flowtrack.districts import services as districts
    from flowtrack.models.customers import District
    from flowtrack.models.submissions import ReportSubmission, SubmissionBatch
    from flowtrack.submissions import batches
    from flowtrack.submissions.batch_fields import TCEQ_20700

    db = app.extensions["flowtrack.db"]
    with app.app_context(), company_session(company_id, writes=True) as session:
        district = session.scalar(sa.select(District).where(District.name == DISTRICT))
        if district is None:
            district = districts.create_district(session, name=DISTRICT, submission_method="district_portal",
                                                 portal_url="https://backflow.bench.example/")
        district.csv_columns = [column._asdict() for column in TCEQ_20700]
        session.commit()
        district_id = district.id
    with db.service() as service:  # a clean slate: the district's earlier submissions and batches go
        service.execute(sa.delete(ReportSubmission).where(ReportSubmission.district_id == district_id))
        service.execute(sa.delete(SubmissionBatch).where(SubmissionBatch.district_id == district_id))
        service.execute(sa.text("""
            INSERT INTO report_submissions (id, company_id, test_record_id, district_id, status, method, held_reasons,
                                            fee_cents, auto_accepted, created_at)
            SELECT gen_random_uuid(), t.company_id, t.id, :district, 'to_submit', 'district_portal', '[]', 0, false,
                   now()
            FROM test_records t
            WHERE t.company_id = :company
              AND NOT EXISTS (SELECT 1 FROM report_submissions s WHERE s.test_record_id = t.id)
            ORDER BY t.tested_at DESC LIMIT :size"""), {"district": district_id, "company": company_id, "size": size})
        service.commit()
    with app.app_context(), company_session(company_id, writes=True) as session:
        started = time.perf_counter()
        batch, taken = batches.make_batch(session, session.get(District, district_id), scope="all", by=None,
                                          today=company_today(session))
        session.commit()
        print(f"  made a batch of {taken:,} reports in {time.perf_counter() - started:.2f} s")
        return district_id, batch.id


def _copied(session, sql: str):
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor.copy(sql) as copy:
        for block in copy:
            yield bytes(block).decode()


def step(kind: str, company: str, target: str, trace: bool) -> None:
    """One measurement in this process: read a CSV to the end, counting its rows and bytes."""
    import sqlalchemy as sa

    from flowtrack.companies.jobs import company_session
    from flowtrack.companies.services import company_timezone
    from flowtrack.district_portal import services as district_view
    from flowtrack.models.customers import CustomerLocation, Device
    from flowtrack.models.field_tests import TestRecord
    from flowtrack.models.submissions import ReportSubmission
    from flowtrack.submissions import batches

    app = bench_app()
    rows = size = 0
    with app.app_context(), company_session(uuid.UUID(company)) as session:
        if trace:  # what the stream itself holds, not the app's code and caches
            tracemalloc.start()
        started = time.perf_counter()
        if kind == "batch":
            chunks = batches.csv_of_batch(session, batches.get_batch(session, uuid.UUID(target)))
        elif kind == "district_view":
            chunks = district_view.csv_of_tests(session, uuid.UUID(target), district_view.TestQuery(),
                                                company_timezone(session))
        else:  # the floor: the same rows as PostgreSQL's COPY writes them
            statement = (sa.select(TestRecord.__table__, Device.__table__, CustomerLocation.__table__)
                         .select_from(ReportSubmission)
                         .join(TestRecord, TestRecord.id == ReportSubmission.test_record_id)
                         .join(Device, Device.id == TestRecord.device_id)
                         .join(CustomerLocation, CustomerLocation.id == Device.location_id)
                         .where(ReportSubmission.batch_id == uuid.UUID(target)))
            sql = str(statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
            chunks = _copied(session, f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)")
        for chunk in chunks:
            rows += chunk.count("\n")
            size += len(chunk)
        seconds = time.perf_counter() - started
    report = {"kind": kind, "rows": rows - 1, "seconds": round(seconds, 3), "bytes": size}
    if trace:
        report["traced_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 1e6, 2)
    emit(report)


def mark(app, company_id: uuid.UUID, batch_id: uuid.UUID) -> float:
    from flowtrack.companies.jobs import company_session
    from flowtrack.submissions import batches

    with app.app_context(), company_session(company_id, writes=True) as session:
        started = time.perf_counter()
        marked = batches.mark_batch_submitted(session, batches.get_batch(session, batch_id, for_change=True),
                                              by=None, confirmation_number="BENCH-1")
        session.commit()
        seconds = time.perf_counter() - started
    print(f"  marked {marked:,} reports submitted in {seconds:.2f} s ({marked / seconds:,.0f} a second)")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--mark", type=int, default=0, help="time marking the batch of this size submitted")
    parser.add_argument("--step")
    parser.add_argument("--company")
    parser.add_argument("--target")
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    if args.step:
        start_rss_sampling()
        return step(args.step, args.company, args.target, args.trace)

    import sqlalchemy as sa

    from flowtrack.models.customers import District
    from flowtrack.submissions.batch_fields import TCEQ_20700

    app = bench_app()
    company = seed_large_company(app, audit_entries=0)
    with app.extensions["flowtrack.db"].service() as service:  # the district view's reference: a seeded district
        seeded = service.scalar(sa.select(District.id).where(District.company_id == company, District.name != DISTRICT)
                                .order_by(District.name).limit(1))
    for size in args.sizes:
        print(f"a district with {size:,} reports waiting (TCEQ-20700 layout, {len(TCEQ_20700)} columns)")
        _, batch = prepare(app, company, size)
        measured = {kind: measure_in_child(SCRIPT, "--step", kind, "--company", str(company), "--target", target)
                    for kind, target in (("copy", str(batch)), ("batch", str(batch)),
                                         ("district_view", str(seeded)))}
        traced = measure_in_child(SCRIPT, "--step", "batch", "--company", str(company), "--target", str(batch),
                                  "--trace")
        for kind, label in (("copy", "COPY of the same rows (floor)"), ("batch", "batch file (CSV, streamed)"),
                            ("district_view", "district view's CSV export")):
            result = measured[kind]
            print(f"  {label:32} {result['rows']:7,} rows  {result['seconds']:7.2f} s  "
                  f"{result['rows'] / result['seconds']:9,.0f} rows/s  peak RSS {result['peak_rss_mb']:6.1f} MB")
        print(f"  batch file under tracemalloc: peak of Python's allocations {traced['traced_peak_mb']:.2f} MB "
              f"({traced['rows']:,} rows)")
        if size == args.mark:
            mark(app, company, batch)


if __name__ == "__main__":
    main()
