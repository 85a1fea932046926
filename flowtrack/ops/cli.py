"""The `flowtrack` command: dev, db upgrade, seed demo, worker, cron, audit verify, sweep, backup and restore."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext
from werkzeug.serving import run_simple

from flowtrack import create_app
from flowtrack.core import directory
from flowtrack.core.config import PROJECT_ROOT
from flowtrack.core.directory import region_of_company
from flowtrack.core.regions import home_region, in_region, region_names
from flowtrack.core.storage import file_storage, storage_at


def _settings():
    return current_app.extensions["flowtrack.settings"]


def _instance_path() -> Path:
    """The instance folder an app started here would use (for commands that run without one)."""
    return Path(os.environ.get("FLOWTRACK_INSTANCE_PATH", PROJECT_ROOT / "instance"))


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=True, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
def cli() -> None:
    """FlowTrack administration."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


@cli.command(with_appcontext=False)  # it must start the embedded services before any app exists
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-demo", is_flag=True, help="Do not load the demo companies.")
@click.option("--regions", "region_list", metavar="us,ca",
              help="Run these regions (the first is the home region): each other region gets an embedded PostgreSQL "
                   "and Redis of its own (unless CA_DATABASE_URL, CA_REDIS_URL are set), and the demo a Canadian "
                   "company.")
def dev(host: str, port: int, no_demo: bool, region_list: str | None) -> None:
    """Run everything on this machine: database, Redis, migrations, demo data, web, worker and cron (a worker and
    a cron per region)."""
    from flowtrack.core import embedded
    from flowtrack.ops import migrate, seed

    instance = _instance_path()
    if region_list:
        os.environ["FLOWTRACK_REGIONS"] = region_list
        for name in [name.strip() for name in region_list.split(",")][1:]:
            # A region's own servers, in a folder of its own: instance/region-ca/pgdata, instance/region-ca/redis.db.
            prefix, folder = name.upper() + "_", instance / f"region-{name}"
            if not os.environ.get(prefix + "DATABASE_URL"):
                os.environ[prefix + "DATABASE_URL"] = embedded.postgres_url(folder, on_exit="stop")
                click.echo(f"Embedded PostgreSQL of region {name}: data in {folder / 'pgdata'}")
            if not os.environ.get(prefix + "REDIS_URL"):
                os.environ[prefix + "REDIS_URL"] = embedded.redis_url(folder)
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = embedded.postgres_url(instance, on_exit="stop")
        click.echo(f"Embedded PostgreSQL: data in {instance / 'pgdata'}")
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = embedded.redis_url(instance)
        click.echo(f"Embedded Redis: data in {instance / 'redis.db'}")
    app = create_app()
    settings = app.extensions["flowtrack.settings"]
    for region in settings.regions:
        migrate.upgrade(region.database_url)
    if not no_demo:
        with app.app_context():
            seed.seed_demo(app.extensions["flowtrack.db"], production=settings.production, storage=file_storage())
            logins = seed.demo_logins()
            if "ca" in region_names():
                with in_region("ca") as canada:
                    seed.seed_demo(canada.db, production=settings.production, storage=file_storage(),
                                   companies=seed.CANADIAN_DEMO, plan="enterprise")
                logins += seed.demo_logins(seed.CANADIAN_DEMO)
        click.echo("Demo logins (password 'flowtrack-demo'):")
        for login in logins:
            click.echo(f"  {login}")
    # Ctrl-C and SIGTERM both stop everything, even when started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    children = [subprocess.Popen([sys.executable, "-m", "flowtrack.ops.cli", role, "--region", region.name])
                for region in settings.regions for role in ("worker", "cron")]
    click.echo(f"FlowTrack on http://{host}:{port}/ (Ctrl-C stops everything)")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        embedded.stop_redis()


db_group = AppGroup("db", help="Database schema.")
cli.add_command(db_group)


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Create the roles and apply the migrations in every region's database, the home region's first (the
    administrative DATABASE_URL, CA_DATABASE_URL, ...)."""
    from flowtrack.ops import migrate

    for region in _settings().regions:
        migrate.upgrade(region.database_url, revision)
        click.echo(f"region {region.name}: database at {revision}")
    if revision == "head":
        _rebuild_directory()


def _rebuild_directory() -> None:
    for problem in directory.rebuild():
        click.echo(f"directory: {problem}", err=True)
    click.echo("directory: every region's companies and sign-in addresses entered")


directory_group = AppGroup("directory", help="The directory of regions (docs/regions.md).")
cli.add_command(directory_group)


@directory_group.command("rebuild")
def directory_rebuild() -> None:
    """Enter every region's companies and sign-in addresses (by their keyed hash) in the directory."""
    _rebuild_directory()


@cli.group("seed", cls=AppGroup, invoke_without_command=True)
@click.option("--scale", type=click.Choice(["large", "many"]),
              help="Build the large benchmark company with COPY; `many` adds the 2,000 small and middle-sized ones.")
@click.option("--audit-entries", default=1_000_000, show_default=True, help="With --scale large.")
@click.option("--customers", default=20_000, show_default=True,
              help="With --scale large: customers (with 1.25 locations and 2.5 devices each).")
@click.option("--companies", default=2_000, show_default=True, help="With --scale many.")
@click.pass_context
@with_appcontext
def seed_group(ctx: click.Context, scale: str | None, audit_entries: int, customers: int, companies: int) -> None:
    """Sample data: `seed demo`, or `seed --scale large` (then `--scale many`) for benchmarks."""
    if ctx.invoked_subcommand is not None:
        return
    if scale not in ("large", "many"):
        raise click.UsageError("say `flowtrack seed demo` or `flowtrack seed --scale large`")
    if _settings().production:
        raise click.ClickException("benchmark data is refused in production")
    from flowtrack.ops.seed_large import seed_large

    company_id = seed_large(current_app.extensions["flowtrack.db"], audit_entries=audit_entries, customers=customers,
                            owner_url=_settings().database_url, echo=click.echo)
    click.echo(f"large company {company_id} ready")
    if scale == "many":
        from flowtrack.ops.seed_many import seed_many

        ids = seed_many(current_app.extensions["flowtrack.db"], count=companies, owner_url=_settings().database_url,
                        echo=click.echo)
        click.echo(f"{len(ids):,} more companies ready")


@seed_group.command("demo")
def seed_demo_command() -> None:
    """Load the two demo companies (refused in production)."""
    from flowtrack.ops import seed

    settings = _settings()
    if settings.production:
        raise click.ClickException("demo data is refused in production")
    created = seed.seed_demo(current_app.extensions["flowtrack.db"], production=settings.production,
                             storage=file_storage())
    click.echo(f"created {len(created)} demo companies; logins: {', '.join(seed.demo_logins())}")


REGION_OPTION = click.option("--region", help="The region (FLOWTRACK_REGIONS) whose jobs it runs; default: the home "
                                             "region.")


@cli.command()
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@REGION_OPTION
@with_appcontext
def worker(burst: bool, region: str | None) -> None:
    """Run an RQ worker for one region's queue."""
    from jobs import worker as rq_worker

    rq_worker.run(current_app._get_current_object(), burst=burst, region=_checked_region(region))


@cli.command()
@REGION_OPTION
@with_appcontext
def cron(region: str | None) -> None:
    """Run the RQ cron scheduler of one region (schedule in America/Los_Angeles time)."""
    from jobs import cron as rq_cron

    rq_cron.run(current_app._get_current_object(), region=_checked_region(region))


def _checked_region(name: str | None) -> str | None:
    if name is not None and name not in region_names():
        raise click.BadParameter(f"no region {name!r}; configured: {', '.join(region_names())}", param_hint="--region")
    return name


def _chosen_regions(name: str | None) -> list[str]:
    """The region named, or every region (home first)."""
    return [name] if _checked_region(name) else region_names()


audit_group = AppGroup("audit", help="The tamper-evident audit log.")
cli.add_command(audit_group)


@audit_group.command("verify")
@click.option("--company", "company_id", type=click.UUID, help="Only this company (default: all).")
@click.option("--head", "expected_head", help="A chain head recorded earlier (export or log) that must still match.")
@click.option("--region", help="Only this region's companies (default: every region's).")
def audit_verify(company_id: uuid.UUID | None, expected_head: str | None, region: str | None) -> None:
    """Exit 0 when every chain verifies; otherwise name the first bad entry and exit 1."""
    failed = False
    names = _chosen_regions(region)
    if company_id is not None and region is None:
        names = [region_of_company(company_id) or home_region().name]
    for name in names:
        with in_region(name) as where:
            failed = _verify_region(where.db, company_id, expected_head) or failed
    sys.exit(1 if failed else 0)


def _verify_region(db, company_id: uuid.UUID | None, expected_head: str | None) -> bool:
    """Verify the chains of one region's companies (or the one company); True when one is broken."""
    from flowtrack.audit.services import verify_chain
    from flowtrack.models.companies import Company

    failed = False
    with db.service() as session:
        ids = [company_id] if company_id else session.scalars(sa.select(Company.id).order_by(Company.created_at)).all()
        if company_id and session.get(Company, company_id) is None:
            raise click.ClickException(f"no company {company_id}")
        for cid in ids:
            result = verify_chain(session, cid, expected_head=expected_head)
            if result.ok:
                click.echo(f"ok      {cid} entries={result.entries} head_seq={result.head_seq} head={result.head_hex}")
            else:
                failed = True
                click.echo(f"BROKEN  {cid} first bad entry seq={result.bad_seq}: {result.problem}", err=True)
    return failed


@cli.command("sweep")
@click.option("--dry-run", is_flag=True, help="Report what would be anonymized; change nothing.")
@click.option("--now", "now_text", metavar="ISO-TIME",
              help="Decide as if it were this time (default: now; UTC unless it names an offset). "
                   "A future time is allowed only with --dry-run.")
@click.option("--region", help="Only this region (default: every region, one after the other).")
def sweep_command(dry_run: bool, now_text: str | None, region: str | None) -> None:
    """Anonymize every company whose grace has expired (the daily 04:00 job); exit 1 if one failed."""
    import datetime as dt

    from flowtrack.lifecycle import anonymize

    try:
        now = dt.datetime.fromisoformat(now_text) if now_text else dt.datetime.now(dt.timezone.utc)
    except ValueError:
        raise click.BadParameter(f"not an ISO time: {now_text!r}", param_hint="--now") from None
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    failed = False
    for name in _chosen_regions(region):
        with in_region(name) as where:
            try:
                summary = anonymize.sweep(where.db, now, dry_run=dry_run, storage=file_storage())
            except ValueError as error:
                raise click.ClickException(str(error)) from error
        for result in summary.results:
            detail = result.reason or " ".join(f"{table}={count}" for table, count in result.counts.items())
            click.echo(f"{result.status:<16}{result.company_id} {detail}")
        click.echo(f"region {name}: {'dry run' if dry_run else 'sweep'} at {now.isoformat()}: "
                   f"{len(summary.by_status('anonymized'))} anonymized, {len(summary.by_status('would_anonymize'))} "
                   f"would be, {len(summary.by_status('skipped'))} skipped, {len(summary.by_status('failed'))} failed")
        failed = failed or bool(summary.by_status("failed"))
    sys.exit(1 if failed else 0)


company_group = AppGroup("company", help="One company, across regions.")
cli.add_command(company_group)


@company_group.command("move")
@click.argument("company_id", type=click.UUID)
@click.option("--to", "to", help="The region to move it to.")
@click.option("--cancel", is_flag=True, help="Give a company whose move stopped before the switch back to its "
                                             "region, open again.")
def company_move(company_id: uuid.UUID, to: str | None, cancel: bool) -> None:
    """Move a company to another region: its people are signed out and kept out, its rows and files are copied
    and verified, the directory switched, the source removed, and it opens in the new region. Stopped at any
    step, it leaves the company whole in one region; run it again to finish, or with --cancel to stay."""
    from flowtrack.ops import move

    if cancel == bool(to):
        raise click.UsageError("Give either --to REGION or --cancel.")
    try:
        if cancel:
            click.echo(f"company {company_id} stays in {move.cancel_move(company_id)}, open again")
            return
        moved = move.move_company(company_id, _checked_region(to) or to,
                                  after_step=lambda step: click.echo(f"done: {step}"))
    except move.MoveFailed as error:
        raise click.ClickException(str(error)) from error
    rows = sum(moved.tables.values())
    click.echo(f"company {company_id} is in {moved.target} (from {moved.source}): {rows:,} rows in "
               f"{len(moved.tables)} tables, {moved.files:,} files")


@cli.command("backup")
@click.argument("out_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--with-files", is_flag=True,
              help="Also every file of the file store, into OUT_FILE.files.tar beside the dump.")
@click.option("--region", help="The region whose database and files it dumps (default: the home region).")
def backup_command(out_file: Path, with_files: bool, region: str | None) -> None:
    """Dump one region's whole database (pg_dump, custom format) to OUT_FILE."""
    from flowtrack.ops import backup

    with in_region(_checked_region(region) or home_region().name) as where:
        backup.backup(where.settings.database_url, out_file)
        click.echo(f"backup written to {out_file} ({out_file.stat().st_size:,} bytes)")
        if not with_files:
            return
        archive = backup.files_archive(out_file)
        count = backup.backup_files(file_storage(), archive)
        click.echo(f"{count:,} stored files written to {archive} ({archive.stat().st_size:,} bytes)")


@cli.command("backup-daily")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), envvar="FLOWTRACK_BACKUP_DIR",
              required=True, help="The backup folder (FLOWTRACK_BACKUP_DIR unless given).")
@click.option("--keep", default=7, show_default=True, type=click.IntRange(min=1),
              help="How many daily backups to keep, the newest.")
@click.option("--region", help="The region whose database and files it backs up (default: the home region).")
def backup_daily_command(folder: Path, keep: int, region: str | None) -> None:
    """Today's backup of one region with the stored files (also each region's 02:00 cron job):
    FOLDER/flowtrack-YYYYMMDD.dump and its .files.tar, then only the newest KEEP backups are kept."""
    from flowtrack.ops import backup
    from flowtrack.ops.tasks import backup_database_url

    try:
        with in_region(_checked_region(region) or home_region().name):
            result = backup.daily_backup(backup_database_url(), file_storage(), folder, keep=keep)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"backup written to {result.dump} ({result.dump.stat().st_size:,} bytes)")
    archive = backup.files_archive(result.dump)
    click.echo(f"{result.files:,} stored files written to {archive} ({archive.stat().st_size:,} bytes)")
    for path in result.removed:
        click.echo(f"removed {path}")


@cli.command("restore", with_appcontext=False)
@click.argument("dump_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--into", "target_url", required=True, help="Admin URL of a new, empty database.")
@click.option("--with-files", is_flag=True,
              help="Also put DUMP_FILE.files.tar back into the file store (FILE_STORAGE_URL, else instance/files/), "
                   "which must be empty.")
def restore_command(dump_file: Path, target_url: str, with_files: bool) -> None:
    """Restore a backup into a new, empty database."""
    from flowtrack.ops import backup

    try:
        files = backup.restore(dump_file, target_url, files_into=storage_at(_instance_path()) if with_files else None)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    if with_files:
        click.echo(f"{files:,} stored files restored")
    click.echo("restored; now run: flowtrack smoke --database-url <that URL>")


@cli.command("smoke", with_appcontext=False)
@click.option("--database-url", envvar="DATABASE_URL", required=True, help="Admin URL of the deployment to check.")
def smoke_command(database_url: str) -> None:
    """Check a (restored) deployment: migrations, rows, a working session, audit chains."""
    from flowtrack.ops import backup

    report = backup.smoke(database_url)
    for line in report.lines:
        click.echo(line)
    sys.exit(0 if report.ok else 1)


def main() -> None:
    cli(prog_name="flowtrack")


if __name__ == "__main__":
    main()
