"""The backup drill of docs/backup-policy.md, run for real on the test server."""
import secrets
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from flowtrack.core.config import sqlalchemy_url
from flowtrack.ops import migrate
from flowtrack.ops.cli import cli
from flowtrack.ops.seed import seed_demo


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


def test_backup_restore_and_smoke_into_a_new_database(app, app_factory, tmp_path):
    with _new_database(app) as source, _new_database(app) as target:
        migrate.upgrade(source)
        deployment = app_factory(DATABASE_URL=source)
        seed_demo(deployment.extensions["flowtrack.db"], production=False,
                  instance_path=deployment.extensions["flowtrack.settings"].instance_path)
        runner = deployment.test_cli_runner()
        dump = tmp_path / "flowtrack.dump"
        result = runner.invoke(cli, ["backup", str(dump)])
        assert result.exit_code == 0, result.output
        assert dump.stat().st_size > 10_000

        restored = runner.invoke(cli, ["restore", str(dump), "--into", target])
        assert restored.exit_code == 0, restored.output
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
        engine.dispose()
        deployment.extensions["flowtrack.db"].dispose()
        assert forced, "row-level security must survive the restore"
        assert emails == 12


def test_smoke_fails_on_a_broken_chain(app, acme):
    engine = sa.create_engine(app.extensions["flowtrack.settings"].database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE audit_log SET action = 'x' WHERE company_id = :c AND seq = 1"), {"c": acme.id})
    engine.dispose()
    result = app.test_cli_runner().invoke(cli, ["smoke", "--database-url",
                                                app.extensions["flowtrack.settings"].database_url])
    assert result.exit_code == 1 and f"FAILED  audit chain of {acme.id}: 0 entries — entry 1" in result.output
