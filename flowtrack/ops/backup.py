"""Backups: pg_dump (custom format), restore into a new empty database, and a smoke check; with files, the
file store's files in a tar archive beside the dump, put back into a new, empty store.

The drill (docs/backup-policy.md) is: `flowtrack backup FILE --with-files`, create an empty
database (and an empty file store), `flowtrack restore FILE --into URL --with-files`, then
`flowtrack smoke --database-url URL`.

The daily backup (`flowtrack backup-daily`, and the cron job of the same name) writes both into one folder as
`flowtrack-YYYYMMDD.dump` and `flowtrack-YYYYMMDD.dump.files.tar`, then keeps the newest seven of them.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import mimetypes
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from flowtrack.audit.services import verify_chain
from flowtrack.auth.services import SessionPolicy, new_session
from flowtrack.core.config import ROLE_APP, ROLE_SERVICE, sqlalchemy_url
from flowtrack.core.db import Database
from flowtrack.core.storage import FileStorage, StoredFileMissing, is_key
from flowtrack.models.accounts import AuthSession, User
from flowtrack.models.companies import Company
from flowtrack.ops.migrate import alembic_config
from flowtrack.ops.schema import ensure_roles


class BackupError(RuntimeError):
    pass


def pg_tool(name: str) -> str:
    """The PostgreSQL client program: the embedded server's own, else the one on PATH."""
    try:
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / name
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed")
    return found


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(args: list[str]) -> None:
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        # pg tools print connection details but never passwords; still, keep only the last lines.
        raise BackupError(result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed")


def backup(database_url: str, out_file: Path) -> Path:
    """A full dump: schema, data, grants and row-level security policies."""
    out_file.parent.mkdir(parents=True, exist_ok=True)
    _run([pg_tool("pg_dump"), "--format=custom", "--file", str(out_file), "--dbname", libpq_url(database_url)])
    return out_file


FILES_SUFFIX = ".files.tar"
# Files up to this size are read into memory on the way in and out; larger ones (exports) go through a temporary file.
IN_MEMORY = 16 * 1024 * 1024


def files_archive(dump_file: Path) -> Path:
    """Where the store's files of a backup are: beside the dump, `<dump>.files.tar`."""
    return dump_file.with_name(dump_file.name + FILES_SUFFIX)


def backup_files(storage: FileStorage, out_file: Path) -> int:
    """Every file of the store into a tar archive, one member per key; returns how many. Take it after the
    database dump: files are written before their rows and removed after them, so every row of the dump has
    its file (except one removed while the backup ran, whose row is going too)."""
    out_file.parent.mkdir(parents=True, exist_ok=True)
    partial = out_file.with_name(out_file.name + ".partial")
    count = 0
    with tarfile.open(partial, "w") as archive:
        for key in storage.keys():
            try:
                source = storage.open(key)
            except StoredFileMissing:
                continue  # removed since it was listed
            with source, tempfile.SpooledTemporaryFile(max_size=IN_MEMORY) as copy:
                shutil.copyfileobj(source, copy, 1 << 20)
                member = tarfile.TarInfo(key)
                member.size, member.mtime, member.mode = copy.tell(), int(time.time()), 0o644
                copy.seek(0)
                archive.addfile(member, copy)
            count += 1
    partial.replace(out_file)
    return count


def _stored_keys(archive_file: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(archive_file, "r") as archive:
        members = archive.getmembers()
    strange = [m.name for m in members if not m.isfile() or not is_key(m.name)]
    if strange:
        raise BackupError(f"{archive_file} is not a backup of stored files (it holds {strange[0]!r})")
    return members


def restore_files(archive_file: Path, storage: FileStorage) -> int:
    """Put a backup's files into the store; returns how many."""
    members = _stored_keys(archive_file)
    with tarfile.open(archive_file, "r") as archive:
        for member in members:
            content_type = mimetypes.guess_type(member.name)[0] or "application/octet-stream"
            with archive.extractfile(member) as source:
                if member.size <= IN_MEMORY:
                    storage.put(member.name, source.read(), content_type)
                    continue
                with tempfile.NamedTemporaryFile(prefix="flowtrack-restore-") as copy:
                    shutil.copyfileobj(source, copy, 1 << 20)
                    copy.flush()
                    storage.put_file(member.name, Path(copy.name), content_type)
    return len(members)


def restore(dump_file: Path, target_url: str, *, files_into: FileStorage | None = None) -> int:
    """Restore into a new, empty database (refuses one that has tables); with `files_into`, the backup's files
    too, into a store that holds none yet (refused before anything is written). Returns the files restored."""
    if files_into is not None:
        if not files_archive(dump_file).is_file():
            raise BackupError(f"{files_archive(dump_file)} is missing: this backup was taken without its files")
        _stored_keys(files_archive(dump_file))
    engine = sa.create_engine(sqlalchemy_url(target_url), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        tables = connection.execute(sa.text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar()
        if tables:
            raise BackupError("the target database is not empty")
        if files_into is not None and next(iter(files_into.keys()), None) is not None:
            raise BackupError("the file store already holds files; restore into an empty one")
        ensure_roles(connection)  # roles live outside databases: a new server needs them first
        connection.commit()
    engine.dispose()
    _run([pg_tool("pg_restore"), "--exit-on-error", "--dbname", libpq_url(target_url), str(dump_file)])
    return restore_files(files_archive(dump_file), files_into) if files_into is not None else 0


# The policy's promise (docs/backup-policy.md): seven daily backups are kept.
DAILY_KEEP = 7
DAILY_NAME = re.compile(r"^flowtrack-(\d{8})\.dump(?:\.files\.tar)?(?:\.partial)?$")


@dataclass(frozen=True)
class DailyBackup:
    dump: Path
    files: int  # stored files in the archive beside the dump
    removed: list[Path]  # older backups' files, pruned


def daily_name(folder: Path, day: dt.date) -> Path:
    return folder / f"flowtrack-{day:%Y%m%d}.dump"


def daily_backup(database_url: str, storage: FileStorage, folder: Path, *, keep: int = DAILY_KEEP,
                 today: dt.date | None = None) -> DailyBackup:
    """Today's backup, database and stored files, into `folder` (a second run the same day replaces it), then
    only the newest `keep` backups are kept. The dump gets its name last, so a backup that failed half-way is
    never counted as one, and nothing is pruned unless today's backup is complete. One at a time per folder:
    BackupError if another is being written there."""
    if keep < 1:
        raise BackupError("keep at least one backup")
    folder.mkdir(parents=True, exist_ok=True)
    dump = daily_name(folder, today or dt.datetime.now(dt.timezone.utc).date())
    partial = dump.with_name(dump.name + ".partial")
    with (folder / ".flowtrack-backup.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"another backup is being written to {folder}") from None
        try:
            backup(database_url, partial)
            files = backup_files(storage, files_archive(dump))  # after the dump: every row finds its file
            partial.replace(dump)
        finally:
            partial.unlink(missing_ok=True)
        return DailyBackup(dump, files, prune(folder, keep))


def prune(folder: Path, keep: int) -> list[Path]:
    """Remove the files of every daily backup older than the newest `keep` complete ones (those with their dump);
    other files in the folder are left alone. Returns what was removed."""
    by_day: dict[str, list[Path]] = {}
    for path in folder.iterdir():
        match = DAILY_NAME.match(path.name)
        if match and path.is_file():
            by_day.setdefault(match.group(1), []).append(path)
    complete = sorted((day for day, paths in by_day.items()
                       if any(p.name == f"flowtrack-{day}.dump" for p in paths)), reverse=True)
    if len(complete) <= keep:
        return []
    oldest_kept = complete[keep - 1]
    removed = sorted(path for day, paths in by_day.items() if day < oldest_kept for path in paths)
    for path in removed:
        path.unlink()
    return removed


@dataclass
class SmokeReport:
    ok: bool = True
    lines: list[str] = field(default_factory=list)

    def check(self, passed: bool, line: str) -> None:
        self.ok = self.ok and passed
        self.lines.append(("ok      " if passed else "FAILED  ") + line)


def smoke(database_url: str) -> SmokeReport:
    """Is this deployment usable? Migrations at head, rows present, sign-in resolves a tenant, chains verify."""
    report = SmokeReport()
    admin = sa.create_engine(sqlalchemy_url(database_url), poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        current = set(connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    admin.dispose()
    heads = set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
    report.check(current == heads, f"migrations at head ({', '.join(sorted(heads))})")
    db = Database(sqlalchemy_url(database_url, username=ROLE_APP), sqlalchemy_url(database_url, username=ROLE_SERVICE))
    try:
        with db.service() as session:
            companies = session.scalars(sa.select(Company).order_by(Company.created_at)).all()
            report.check(bool(companies), f"{len(companies)} companies")
            for table in ("users", "profiles", "audit_log"):
                count = session.scalar(sa.text(f"SELECT count(*) FROM {table}"))
                report.lines.append(f"        {table}: {count} rows")
            for company in companies:
                result = verify_chain(session, company.id)
                report.check(result.ok, f"audit chain of {company.id}: {result.entries} entries"
                             + ("" if result.ok else f" — {result.problem}"))
            user = session.scalars(sa.select(User).where(User.is_active.is_(True))).first()
        if user is not None:
            report.check(_sign_in_resolves(db, user), "a session of an active user sees its company (app role, RLS)")
    finally:
        db.dispose()
    return report


def _sign_in_resolves(db: Database, user: User) -> bool:
    """Open a short session for a real user and read their company through row-level security, then remove it."""
    import datetime as dt

    policy = SessionPolicy(idle_timeout=dt.timedelta(minutes=1), lifetime=dt.timedelta(minutes=1))
    with db.service() as service:
        row, token = new_session(user.company_id, user.id, policy, ip=None, user_agent="flowtrack smoke")
        service.add(row)
        service.commit()
    try:
        session = db.app_session(token)
        visible = session.scalars(sa.select(Company.id)).all()
        session.close()
        return visible == [user.company_id]
    finally:
        with db.service() as service:
            service.execute(sa.delete(AuthSession).where(AuthSession.id == row.id))
            service.commit()
