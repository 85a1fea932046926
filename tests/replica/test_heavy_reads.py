"""Heavy reads on the region's streaming replica: the office's due-list CSV, an admin's data export and an
auditor's report are read on the standby, as the app role with the person's (or the job's) own login token, once
the standby has replayed what the primary had committed; row-level security holds there; a standby that lags or
is down is not read, and the primary answers instead."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
import zoneinfo
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import event

from flowtrack.models.audit import AuditEntry

TODAY = dt.datetime.now(zoneinfo.ZoneInfo("America/Los_Angeles")).date()


@contextmanager
def statements_on(engine):
    """The SQL statements run on `engine` (one server) inside the block, by this process."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def overdue_devices(records, tenant, count: int):
    return [records.device(tenant, install_date=TODAY - dt.timedelta(days=10 + n)) for n in range(count)]


def csv_serials(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["serial"] for row in csv.DictReader(io.StringIO(response.text))]


def test_the_due_list_csv_is_read_on_the_replica_with_the_devices_added_a_moment_before(app, office, acme, bravo,
                                                                                         records):
    ours = overdue_devices(records, acme, 3)
    theirs = overdue_devices(records, bravo, 1)
    db = app.extensions["flowtrack.db"]
    # The devices were committed on the primary just now: the read waits for the standby to replay them.
    with statements_on(db.replica_engine) as on_replica:
        serials = csv_serials(office.get("/due/devices.csv?window=overdue"))
    assert {d.serial for d in ours} <= set(serials)
    assert theirs[0].serial not in serials
    assert any("FROM devices" in statement for statement in on_replica)


def test_a_district_admin_reads_the_district_csv_on_the_replica(app, district_admin_of, districts, acme, eweb):
    districts.tested(acme, districts.device(eweb, serial="DC-R001"))
    districts.tested(acme, districts.device(districts.area(acme), serial="DC-R002"))  # another district's
    db = app.extensions["flowtrack.db"]
    with statements_on(db.replica_engine) as on_replica:
        response = district_admin_of(eweb).get("/district/tests.csv")
    assert csv_serials(response) == ["DC-R001"]
    assert any("FROM test_records" in statement for statement in on_replica)


def test_a_replica_that_lags_is_not_read_and_the_csv_comes_from_the_primary(app, office, acme, records, replicated):
    db = app.extensions["flowtrack.db"]
    waits = db.replica_wait
    replicated.replica.scalar("SELECT pg_wal_replay_pause()")
    try:
        db.replica_wait = 0.5
        added = overdue_devices(records, acme, 1)[0]  # the paused standby never sees it
        with statements_on(db.replica_engine) as on_replica:
            serials = csv_serials(office.get("/due/devices.csv?window=overdue"))
    finally:
        db.replica_wait = waits
        replicated.replica.scalar("SELECT pg_wal_replay_resume()")
    assert added.serial in serials
    assert not any("FROM devices" in statement for statement in on_replica)


def test_a_replica_that_is_down_is_not_read_and_the_csv_is_the_same(app, office, acme, records, replicated):
    overdue_devices(records, acme, 4)
    from_replica = office.get("/due/devices.csv?window=overdue").text
    replicated.replica.stop()
    try:
        from_primary = office.get("/due/devices.csv?window=overdue").text
    finally:
        replicated.replica.start()
        replicated.wait_until_streaming()
    assert from_primary == from_replica and len(from_primary.splitlines()) == 1 + 4


def _new_lines(node, before: int) -> str:
    return node.log()[before:]


def _export_statements(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("flowtrack_app@flowtrack") and "COPY (" in line]


def test_the_data_export_is_read_on_the_replica_by_a_worker_and_matches_the_primary(app, admin, acme, bravo,
                                                                                     replicated, run_worker):
    primary_log, replica_log = len(replicated.primary.log()), len(replicated.replica.log())
    started = admin.htmx("post", "/account/export/")
    status_url = re.search(r'hx-get="([^"]+)"', started.text).group(1)
    run_worker()
    with app.extensions["flowtrack.db"].service() as primary:
        chain = primary.execute(sa.select(sa.func.encode(AuditEntry.entry_hash, "hex"))
                                .where(AuditEntry.company_id == acme.id).order_by(AuditEntry.seq)).scalars().all()
    done = admin.htmx("get", status_url)
    archive = zipfile.ZipFile(io.BytesIO(admin.get(re.search(r'href="([^"]+/download)"', done.text).group(1)).data))

    assert _export_statements(_new_lines(replicated.replica, replica_log))
    assert not _export_statements(_new_lines(replicated.primary, primary_log))
    exported = list(csv.DictReader(io.StringIO(archive.read("csv/audit_log.csv").decode())))
    # The export's own request was written on the primary a moment before the worker read the standby.
    assert exported[-1]["action"] == "export.requested"
    # Everything the primary holds, up to the entry that says the file was made (written after it was read).
    assert [row["entry_hash"].removeprefix("\\x") for row in exported] == chain[:-1]
    assert str(bravo.id) not in b"".join(archive.read(name) for name in archive.namelist()).decode()


def test_an_audit_report_is_read_on_the_replica_and_states_the_primarys_chain_head(app, auditor, acme,
                                                                                     replicated, run_worker):
    replica_log = len(replicated.replica.log())
    started = auditor.htmx("post", "/audit/reports", data={"format": "csv"})
    assert started.status_code == 202, started.text
    run_worker()
    done = auditor.htmx("get", re.search(r'hx-get="([^"]+)"', started.text).group(1))
    head = re.search(r'<code class="hash">([0-9a-f]{64})</code>', done.text).group(1)
    report = auditor.get(re.search(r'href="([^"]+/download)"', done.text).group(1)).data.decode()

    assert any("audit_log" in line for line in _export_statements(_new_lines(replicated.replica, replica_log)))
    with app.extensions["flowtrack.db"].service() as primary:
        requested = primary.scalar(sa.select(sa.func.encode(AuditEntry.entry_hash, "hex"))
                                   .where(AuditEntry.company_id == acme.id, AuditEntry.action == "export.requested")
                                   .order_by(AuditEntry.seq.desc()).limit(1))
    assert head == requested and "Chain head: #" in report and head in report


def test_row_level_security_holds_on_the_replica(app, factory, acme, bravo, records, replicated):
    records.device(acme)
    records.device(bravo)
    db = app.extensions["flowtrack.db"]
    token = factory.session_token(acme.members["manager"])
    with db.heavy_reads(db.app_session(token)) as reads:
        assert reads.scalar(sa.text("SELECT pg_is_in_recovery()")) is True
        assert set(reads.scalars(sa.text("SELECT DISTINCT company_id FROM devices"))) == {acme.id}
        assert reads.scalar(sa.text("SELECT count(*) FROM devices WHERE company_id = :b"), {"b": bravo.id}) == 0
    replicated.caught_up()
    with db.replica_engine.connect() as no_token:
        assert no_token.scalar(sa.text("SELECT pg_is_in_recovery()")) is True
        assert no_token.scalar(sa.text("SELECT current_user")) == "flowtrack_app"
        assert no_token.scalar(sa.text("SELECT count(*) FROM devices")) == 0
        assert no_token.scalar(sa.text("SELECT count(*) FROM audit_log")) == 0
