"""The backup drill of docs/backup-policy.md, run for real on the test server and the run's file store."""
import os
import secrets
import tarfile
from contextlib import contextmanager
from urllib.parse import urlparse

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from flowtrack.core.config import sqlalchemy_url
from flowtrack.core.storage import storage_at
from flowtrack.field_tests.report import report_key
from flowtrack.models.field_tests import TestRecord
from flowtrack.ops import migrate
from flowtrack.ops.cli import cli
from flowtrack.ops.seed import seed_demo
from tests.factories import file_store


@contextmanager
def _new_database(app):
    """An empty database on the test server, dropped afterwards."""
    admin = sa.create_engine(app.extensions["flowtrack.settings"].database_url, isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)
    name = f"flowtrack_drill_{secrets.token_hex(4)}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(app.extensions["flowtrack.settings"].database_url).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _a_new_file_store(monkeypatch, tmp_path):
    """Where `restore --with-files` puts the files: an empty store of the kind the run uses (a new folder, or a new
    prefix in the run's bucket), chosen through the environment as on a new server."""
    monkeypatch.setenv("FLOWTRACK_INSTANCE_PATH", str(tmp_path / "new-instance"))
    if os.environ.get("FILE_STORAGE_URL"):
        bucket = urlparse(os.environ["FILE_STORAGE_URL"]).netloc
        monkeypatch.setenv("FILE_STORAGE_URL", f"s3://{bucket}/restored-{secrets.token_hex(4)}")
    return storage_at(tmp_path / "new-instance")


def test_backup_restore_and_smoke_into_a_new_database(app, app_factory, tmp_path, monkeypatch):
    with _new_database(app) as source, _new_database(app) as target:
        migrate.upgrade(source)
        deployment = app_factory(DATABASE_URL=source)
        with deployment.app_context():  # as `flowtrack seed demo` runs it
            seed_demo(deployment.extensions["flowtrack.db"], production=False, storage=file_store(deployment))
        runner = deployment.test_cli_runner()
        dump = tmp_path / "flowtrack.dump"
        result = runner.invoke(cli, ["backup", str(dump), "--with-files"])
        assert result.exit_code == 0, result.output
        assert dump.stat().st_size > 10_000
        source_store = file_store(deployment)
        backed_up = list(source_store.keys())
        with tarfile.open(tmp_path / "flowtrack.dump.files.tar") as archive:
            assert archive.getnames() == backed_up
        assert f"{len(backed_up):,} stored files written to" in result.output

        new_store = _a_new_file_store(monkeypatch, tmp_path)
        restored = runner.invoke(cli, ["restore", str(dump), "--into", target, "--with-files"])
        assert restored.exit_code == 0, restored.output
        assert f"{len(backed_up):,} stored files restored" in restored.output
        smoke = runner.invoke(cli, ["smoke", "--database-url", target])
        assert smoke.exit_code == 0, smoke.output
        assert "migrations at head" in smoke.output and "2 companies" in smoke.output
        assert smoke.output.count("ok      audit chain of") == 2 and "sees its company" in smoke.output
        again = runner.invoke(cli, ["restore", str(dump), "--into", target])
        assert again.exit_code != 0 and "not empty" in again.output
        engine = sa.create_engine(sqlalchemy_url(target), poolclass=sa.pool.NullPool)
        with engine.connect() as c:
            forced = c.execute(sa.text("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'profiles'")).scalar()
            emails = c.execute(sa.text("SELECT count(*) FROM users WHERE email LIKE '%.test'")).scalar()
            printed = c.execute(sa.select(TestRecord.company_id, TestRecord.id, TestRecord.technician_signature_key)
                                .where(TestRecord.report_status == "done")).all()
        engine.dispose()
        deployment.extensions["flowtrack.db"].dispose()
        assert forced, "row-level security must survive the restore"
        assert emails == 12
        # The restored rows find their files in the new store, byte for byte: reports and signatures of the demo.
        assert list(new_store.keys()) == backed_up and len(printed) == 6
        for record in printed:
            for key in (report_key(record), record.technician_signature_key):
                assert new_store.get(key) == source_store.get(key)


def test_files_are_restored_only_into_an_empty_store_and_never_half(app, acme, tmp_path, monkeypatch):
    from tests.invoices.factories import printed_invoice

    printed_invoice(app, acme)  # the store holds a file at least
    runner = app.test_cli_runner()
    dump = tmp_path / "flowtrack.dump"
    assert runner.invoke(cli, ["backup", str(dump)]).exit_code == 0
    without = runner.invoke(cli, ["restore", str(dump), "--into", "postgresql://unused/x", "--with-files"])
    assert without.exit_code != 0 and "taken without its files" in without.output
    assert runner.invoke(cli, ["backup", str(dump), "--with-files"]).exit_code == 0
    with _new_database(app) as target:
        monkeypatch.setenv("FLOWTRACK_INSTANCE_PATH", str(app.extensions["flowtrack.settings"].instance_path))
        full = runner.invoke(cli, ["restore", str(dump), "--into", target, "--with-files"])
        assert full.exit_code != 0 and "already holds files" in full.output
        engine = sa.create_engine(sqlalchemy_url(target), poolclass=sa.pool.NullPool)
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar() == 0
        engine.dispose()


def test_smoke_fails_on_a_broken_chain(app, acme):
    engine = sa.create_engine(app.extensions["flowtrack.settings"].database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE audit_log SET action = 'x' WHERE company_id = :c AND seq = 1"), {"c": acme.id})
    engine.dispose()
    result = app.test_cli_runner().invoke(cli, ["smoke", "--database-url",
                                                app.extensions["flowtrack.settings"].database_url])
    assert result.exit_code == 1 and f"FAILED  audit chain of {acme.id}: 0 entries — entry 1" in result.output
