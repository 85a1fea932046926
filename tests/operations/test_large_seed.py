"""The benchmark generator writes records, their history and a valid audit chain with COPY, consistent with the
schema's rules, and is idempotent."""
import sqlalchemy as sa

from flowtrack.audit.services import verify_chain
from flowtrack.models.companies import Company
from flowtrack.ops import seed_many
from flowtrack.ops.cli import cli
from flowtrack.ops.seed_large import LARGE_COMPANY


def _one(s, sql: str, company_id, **params):
    return s.execute(sa.text(sql), {"c": company_id, **params}).one()


def test_seed_scale_large_builds_records_and_a_verifiable_chain(app):
    runner = app.test_cli_runner()
    command = ["seed", "--scale", "large", "--audit-entries", "3000", "--customers", "400"]
    result = runner.invoke(cli, command)
    assert result.exit_code == 0, result.output
    assert "test records with COPY in" in result.output and "invoices with their payments with COPY in" in result.output
    # Benchmarks run straight after the seed: the planner and the visibility map know of the new rows at once.
    assert "ran VACUUM ANALYZE in" in result.output
    again = runner.invoke(cli, command)
    assert again.exit_code == 0 and "wrote" not in again.output and "VACUUM" not in again.output, again.output
    with app.extensions["flowtrack.db"].service() as s:
        vacuumed = s.execute(sa.text("SELECT last_vacuum IS NOT NULL AND last_analyze IS NOT NULL "
                                     "FROM pg_stat_user_tables WHERE relname = 'devices'")).scalar()
        company_id = s.scalar(sa.select(Company.id).where(Company.name == LARGE_COMPANY))
        verification = verify_chain(s, company_id)
        records = {table: s.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE company_id = :c"), {"c": company_id})
                   for table in ("customers", "customer_locations", "devices", "districts", "gauges", "audit_log",
                                 "test_records", "work_orders", "invoices")}
        overdue = s.scalar(sa.text("SELECT count(*) FROM devices WHERE company_id = :c AND next_test_due < now()"),
                           {"c": company_id})
        # Every test is of one of the company's own devices, by one of its own technicians.
        foreign_tests = _one(s, "SELECT count(*) FROM test_records t JOIN devices d ON d.id = t.device_id "
                                "JOIN users u ON u.id = t.technician_id WHERE t.company_id = :c "
                                "AND (d.company_id <> t.company_id OR u.company_id <> t.company_id)", company_id)[0]
        results = dict(s.execute(sa.text("SELECT result, count(*) FROM test_records WHERE company_id = :c "
                                         "GROUP BY result"), {"c": company_id}).all())
        # A device's last test date is the local day of its latest passing test.
        stale_devices = _one(s, "SELECT count(*) FROM devices d WHERE d.company_id = :c AND d.last_test_on IS DISTINCT "
                                "FROM (SELECT max((t.tested_at AT TIME ZONE co.timezone)::date) FROM test_records t "
                                "JOIN companies co ON co.id = t.company_id WHERE t.device_id = d.id "
                                "AND t.result = 'pass')", company_id)[0]
        # A judged test carries the checks of its final readings, each as record_test writes it.
        shapeless = _one(s, "SELECT count(*) FROM test_records WHERE company_id = :c AND ("
                            "jsonb_array_length(checks) = 0 "
                            "OR NOT checks -> 0 ?& array['key', 'label', 'passed', 'reason'] "
                            "OR NOT facts ?& array['tester', 'certification_number', 'gauge', 'device', 'location'] "
                            "OR (result = 'pass') <> NOT (checks @> '[{\"passed\": false}]') "
                            "OR (initial_result = 'fail' AND result = 'pass') <> (retest_readings IS NOT NULL))",
                        company_id)[0]
        numbers = _one(s, "SELECT min(number), max(number), count(DISTINCT number), "
                          "(SELECT last_number FROM invoice_counters WHERE company_id = :c) "
                          "FROM invoices WHERE company_id = :c", company_id)
        wrong_totals = _one(s, "SELECT count(*) FROM invoices i WHERE company_id = :c AND (subtotal_cents <> "
                               "(SELECT sum((l ->> 'amount_cents')::bigint) FROM jsonb_array_elements(i.lines) l) "
                               "OR total_cents <> subtotal_cents + tax_cents OR paid_cents <> coalesce("
                               "(SELECT sum(amount_cents) FROM payments p WHERE p.invoice_id = i.id), 0))",
                           company_id)[0]
        statuses = dict(s.execute(sa.text("SELECT status, count(*) FROM invoices WHERE company_id = :c "
                                          "GROUP BY status"), {"c": company_id}).all())
        unsettled = _one(s, "SELECT count(*) FROM work_orders wo WHERE company_id = :c AND status = 'completed' AND "
                            "EXISTS (SELECT 1 FROM work_order_devices i WHERE i.work_order_id = wo.id AND "
                            "(i.outcome <> 'tested' OR i.test_record_id IS NULL))", company_id)[0]
        orders = dict(s.execute(sa.text("SELECT status, count(*) FROM work_orders WHERE company_id = :c "
                                        "GROUP BY status"), {"c": company_id}).all())
        bench_today = _one(s, "SELECT count(*) FROM scheduled_jobs j JOIN users u ON u.id = j.technician_id "
                              "JOIN companies co ON co.id = j.company_id WHERE j.company_id = :c "
                              "AND u.email = 'technician0@large.bench' "
                              "AND (j.starts_at AT TIME ZONE co.timezone)::date "
                              "= (now() AT TIME ZONE co.timezone)::date",
                           company_id)[0]
        week_jobs = _one(s, "SELECT count(*) FROM scheduled_jobs j JOIN companies co ON co.id = j.company_id "
                            "WHERE j.company_id = :c AND date_trunc('week', j.starts_at AT TIME ZONE co.timezone) "
                            "= date_trunc('week', now() AT TIME ZONE co.timezone)", company_id)[0]
    assert records == {"customers": 400, "customer_locations": 500, "devices": 1000, "districts": 12, "gauges": 30,
                       "audit_log": 3000, "test_records": 4000, "work_orders": 600, "invoices": 800}
    assert 0 < overdue < 1000
    assert verification.ok and verification.entries == 3000
    assert vacuumed
    assert foreign_tests == 0 and stale_devices == 0 and shapeless == 0
    assert results["pass"] > results["fail"] > 0
    assert numbers == (1, 800, 800, 800)
    assert wrong_totals == 0
    assert {"draft", "sent", "paid", "partially_paid"} <= set(statuses)
    assert unsettled == 0
    assert set(orders) == {"completed", "scheduled", "open", "canceled"} | ({"in_progress"} & set(orders))
    # A tenth of the orders are booked: the benchmark technician's six today, the rest on the coming weekdays.
    assert orders["scheduled"] + orders.get("in_progress", 0) == 60
    assert bench_today == 6 and week_jobs >= bench_today
    assert runner.invoke(cli, ["seed"]).exit_code == 2


def test_seed_scale_many_adds_companies_of_a_realistic_spread_each_whole_and_verifiable(app):
    runner = app.test_cli_runner()
    command = ["seed", "--scale", "many", "--companies", "3", "--audit-entries", "3000", "--customers", "400"]
    result = runner.invoke(cli, command)
    assert result.exit_code == 0, result.output
    assert "wrote 3 companies" in result.output and "3 more companies ready" in result.output
    again = runner.invoke(cli, command)
    assert again.exit_code == 0 and "wrote 3 companies" not in again.output, again.output
    with app.extensions["flowtrack.db"].service() as s:
        for number in range(3):
            company = s.scalar(sa.select(Company).where(Company.name == seed_many.NAME.format(number)))
            devices = s.scalar(sa.text("SELECT count(*) FROM devices WHERE company_id = :c"), {"c": company.id})
            # As many as its size says, give or take the rounding to whole customers of 2.5 devices each.
            assert abs(devices - seed_many.devices_of(number)) <= 2, (number, devices)
            assert seed_many.SMALLEST <= devices <= seed_many.LARGEST
            tests = s.scalar(sa.text("SELECT count(*) FROM test_records WHERE company_id = :c"), {"c": company.id})
            assert tests == devices * 4
            technicians = s.scalar(sa.text("SELECT count(*) FROM profiles WHERE company_id = :c "
                                           "AND role = 'technician'"), {"c": company.id})
            assert technicians >= 2 and company.timezone in seed_many.ZONES
            assert verify_chain(s, company.id).ok
    # One company in a hundred is as large as the largest; the rest spread from 50 to 2,000 devices.
    sizes = [seed_many.devices_of(number) for number in range(2_000)]
    assert sizes.count(seed_many.LARGEST) == 20
    assert all(seed_many.SMALLEST <= size <= seed_many.TYPICAL_MOST for size in sizes if size != seed_many.LARGEST)
    assert 300 <= sorted(sizes)[1_000] <= 400  # the median company tests about 300 assemblies a year
