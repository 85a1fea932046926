"""The backup drill of docs/backup-policy.md, run for real on the test server and the run's file store."""
import datetime as dt
import os
import secrets
import tarfile
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from flowtrack.companies.jobs import company_session
from flowtrack.core.config import sqlalchemy_url
from flowtrack.core.storage import storage_at
from flowtrack.field_tests.report import report_key
from flowtrack.models.accounts import Profile
from flowtrack.models.companies import Company
from flowtrack.models.customers import Device
from flowtrack.models.field_tests import DevicePhoto, TestRecord
from flowtrack.ops import migrate
from flowtrack.ops.backup import BackupError
from flowtrack.ops.cli import cli
from flowtrack.ops.seed import demo_logins, seed_demo
from flowtrack.photos import services as photos
from tests.factories import file_store
from tests.field_tests.factories import camera_photo


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


def _a_photo_taken(deployment) -> DevicePhoto:
    """A technician's photo of a device of the first demo company, stored as the phone's upload is."""
    db = deployment.extensions["flowtrack.db"]
    with db.service() as s:
        company_id = s.scalars(sa.select(Company.id).order_by(Company.created_at)).first()
        technician = s.scalars(sa.select(Profile.user_id).where(Profile.company_id == company_id,
                                                                Profile.role == "technician")).first()
    with deployment.app_context(), company_session(company_id, db=db) as session:
        device = session.scalars(sa.select(Device).order_by(Device.id)).first()
        photo = photos.add_photo(session, file_store(deployment), device, technician, camera_photo(),
                                 caption="Before the repair")
        session.commit()
    return photo


def _today() -> str:
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%d}"


def test_backup_restore_and_smoke_into_a_new_database(app, app_factory, tmp_path, monkeypatch):
    """The daily backup, as production takes it, restored: rows, reports, signatures and a photo."""
    with _new_database(app) as source, _new_database(app) as target:
        migrate.upgrade(source)
        deployment = app_factory(DATABASE_URL=source)
        with deployment.app_context():  # as `flowtrack seed demo` runs it
            seed_demo(deployment.extensions["flowtrack.db"], production=False, storage=file_store(deployment))
        photo = _a_photo_taken(deployment)
        runner = deployment.test_cli_runner()
        result = runner.invoke(cli, ["backup-daily", "--dir", str(tmp_path / "backups")])
        assert result.exit_code == 0, result.output
        dump = tmp_path / "backups" / f"flowtrack-{_today()}.dump"
        assert dump.stat().st_size > 10_000
        source_store = file_store(deployment)
        backed_up = list(source_store.keys())
        with tarfile.open(tmp_path / "backups" / f"flowtrack-{_today()}.dump.files.tar") as archive:
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
            photographed = c.execute(sa.select(DevicePhoto.device_id, DevicePhoto.caption)
                                     .where(DevicePhoto.id == photo.id)).one()
        engine.dispose()
        deployment.extensions["flowtrack.db"].dispose()
        assert forced, "row-level security must survive the restore"
        assert emails == len(demo_logins())
        # The restored rows find their files in the new store, byte for byte: reports and signatures of the demo,
        # and the technician's photo with its thumbnail.
        assert list(new_store.keys()) == backed_up and len(printed) == 14  # 7 printed tests in each demo company
        for record in printed:
            for key in (report_key(record), record.technician_signature_key):
                assert new_store.get(key) == source_store.get(key)
        assert photographed == (photo.device_id, "Before the repair")
        for key in (photo.key, photo.thumbnail_key):
            assert new_store.get(key) == source_store.get(key) and new_store.get(key).startswith(b"\xff\xd8")


def _earlier_backup(folder, days_ago: int, *, with_dump: bool = True) -> list[str]:
    """A daily backup of `days_ago` days before today, as an earlier run left it (its files' content is no matter)."""
    day = f"{dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=days_ago):%Y%m%d}"
    names = [f"flowtrack-{day}.dump.files.tar"] + ([f"flowtrack-{day}.dump"] if with_dump else [])
    for name in names:
        (folder / name).write_bytes(b"an earlier backup")
    return names


def test_the_daily_backup_keeps_the_newest_seven(app, acme, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    # Eight earlier backups, one day missed among them (the job did not run), and what else is in the folder.
    earlier = {days_ago: _earlier_backup(folder, days_ago) for days_ago in (1, 2, 3, 4, 6, 7, 8, 9)}
    half_written = _earlier_backup(folder, 5, with_dump=False)  # it failed before its dump got its name
    (folder / "notes.txt").write_text("the operator's own file")

    result = app.test_cli_runner().invoke(cli, ["backup-daily", "--dir", str(folder)])

    assert result.exit_code == 0, result.output
    kept = sorted(p.name for p in folder.glob("flowtrack-*.dump"))
    assert len(kept) == 7 and kept[-1] == f"flowtrack-{_today()}.dump"
    # Today's and the six newest before it stay, each with its files; the two oldest go, whatever the gap.
    for days in (1, 2, 3, 4, 6, 7):
        assert all((folder / name).exists() for name in earlier[days])
    for days in (8, 9):
        assert not any((folder / name).exists() for name in earlier[days])
        assert all(f"removed {folder / name}" in result.output for name in earlier[days])
    assert (folder / half_written[0]).exists()  # newer than the oldest kept backup: left alone
    assert (folder / "notes.txt").read_text() == "the operator's own file"
    assert (folder / f"flowtrack-{_today()}.dump.files.tar").exists()

    # A second run the same day replaces today's backup, and still keeps seven.
    again = app.test_cli_runner().invoke(cli, ["backup-daily", "--dir", str(folder), "--keep", "7"])
    assert again.exit_code == 0, again.output
    assert sorted(p.name for p in folder.glob("flowtrack-*.dump")) == kept
    assert not list(folder.glob("*.partial"))


def test_the_cron_takes_the_daily_backup_into_the_configured_folder(app, app_factory, acme, tmp_path, monkeypatch):
    from flowtrack.ops.tasks import take_daily_backup
    from jobs import cron

    [(_, expression, options)] = [entry for entry in cron.SCHEDULE if entry[0] is take_daily_backup]
    assert expression == "0 2 * * *" and options["job_timeout"] >= 3600
    scheduler = cron.build_scheduler(app.extensions["flowtrack.redis"], "unused-queue")
    [job] = [j for j in scheduler.get_jobs() if j.func is take_daily_backup]
    assert job.job_options["job_timeout"] == cron.BACKUP_TIMEOUT

    monkeypatch.setenv("FLOWTRACK_BACKUP_DIR", str(tmp_path / "nightly"))
    with app.app_context():
        done = take_daily_backup()
    assert done["dump"] == str(tmp_path / "nightly" / f"flowtrack-{_today()}.dump") and done["files"] > 0
    with tarfile.open(tmp_path / "nightly" / f"flowtrack-{_today()}.dump.files.tar") as archive:
        assert archive.getnames() == list(file_store(app).keys())

    # Without a folder production fails the job, so that it shows as failed; elsewhere it is skipped.
    monkeypatch.delenv("FLOWTRACK_BACKUP_DIR")
    with app.app_context():
        assert take_daily_backup() == {"skipped": "FLOWTRACK_BACKUP_DIR is not set"}
    production = app_factory(ENV="production", SECRET_KEY="p" * 48)
    with production.app_context(), pytest.raises(BackupError, match="FLOWTRACK_BACKUP_DIR is not set"):
        take_daily_backup()


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
