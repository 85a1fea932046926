"""Moving a company to another region (`flowtrack company move <id> --to ca`, docs/regions.md).

The steps, each of which can be run again:

1. freeze: the company is marked as moving (`companies.moving_to`) in its region and its people are signed out.
   From then no one signs in to it and no job that writes runs for it (`companies.state.CompanyMoving`);
2. files: every stored file of the company is copied to the target's store and its SHA-256 compared;
3. rows: in one transaction of the target's database, the company's rows left there by an earlier attempt go,
   every tenant row is copied from one snapshot of the source (COPY, tables in foreign-key order), each table's
   count and checksum are compared with the source's, and the audit chain is verified, all before that
   transaction commits;
4. switch: in a transaction of the source, its tenant tables are locked against writes (SHARE) and each table's
   checksum is taken again: if anything changed since the snapshot (a webhook, a job that does not write through
   a company session), both transactions roll back and the copy is redone. Otherwise the target commits and the
   directory names the target;
5. source: still under that lock, the company's rows in the source go and the source commits; then its files and
   its kept pages in the source's Redis;
6. open: the company's mark is cleared in the target, with an audit entry of the move.

Until the switch commits, the directory names the source, which holds the company whole. From then it names the
target, verified whole before. A crash at any step leaves one of the two, still marked as moving, and running the
command again redoes what is not done (`cancel_move` gives the company back to its source instead, before the
switch). A copy committed in the target just before a crash at the switch carries the mark too, so the target's
jobs leave it alone until the command runs again and replaces it.

The copies use each region's administrative URL with `session_replication_role = replica`: rows are written
as they were, without the triggers that would stamp, count or audit them anew (the copied rows are those
triggers' results already). That URL's role must bypass row-level security, or it would copy nothing.
"""
from __future__ import annotations

import hashlib
import mimetypes
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
import sqlalchemy as sa
import sqlalchemy.orm as so
from psycopg import sql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url

from flowtrack.audit import services as audit
from flowtrack.core.db import utcnow
from flowtrack.core.directory import DirectoryCompany, DirectoryLogin, email_key, region_of_company
from flowtrack.core.regions import Region, all_regions, home_region, in_region, region_named
from flowtrack.core.storage import file_storage
from flowtrack.models.accounts import AuthSession, User
from flowtrack.models.companies import Company

STEPS = ("freeze", "files", "rows", "switch", "source", "open")
COPY_ATTEMPTS = 3
# How long the switch waits for the source's running writes before it gives up (and the command is run again):
# while it waits, new writes of every company of the region wait behind it.
LOCK_TIMEOUT = "5s"
# All of the company's sessions are revoked at the freeze; jobs that only read still make a throwaway session of
# their own in the source, which the target need not have.
NOT_COMPARED_AT_SWITCH = frozenset({"auth_sessions"})
MOVER = audit.Actor(None, "flowtrack company move")


class MoveFailed(Exception):
    """The move stopped: what it found is in the message; the company is whole in one region."""


@dataclass
class Moved:
    source: str
    target: str
    tables: dict[str, int] = field(default_factory=dict)  # rows copied, by table
    files: int = 0
    attempts: int = 0
    done: list[str] = field(default_factory=list)


BYPASSES_RLS = "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user"


def admin_connection(region: Region) -> psycopg.Connection:
    url = make_url(region.settings.database_url).set(drivername="postgresql")
    # Autocommit: each `transaction()` block is the transaction, begun where it says.
    connection = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
    if not connection.execute(BYPASSES_RLS).fetchone()[0]:  # type: ignore[index]
        connection.close()
        raise MoveFailed(f"{region.name}'s DATABASE_URL must name a role that bypasses row-level security")
    return connection


@contextmanager
def _admin_transaction(region: Region) -> Iterator[sa.Connection]:
    """A transaction on the region's administrative URL, rolled back unless committed: SQLAlchemy's connection
    (for the audit chain's verification through the models) over psycopg's (for COPY)."""
    engine = sa.create_engine(region.settings.database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            if not connection.scalar(sa.text(BYPASSES_RLS)):  # which also begins the transaction
                raise MoveFailed(f"{region.name}'s DATABASE_URL must name a role that bypasses row-level security")
            yield connection
    finally:
        engine.dispose()


def _psycopg(connection: sa.Connection) -> psycopg.Connection:
    return connection.connection.driver_connection  # type: ignore[return-value]


def tenant_tables(connection: psycopg.Connection) -> list[tuple[str, list[str]]]:
    """Every table holding a company's rows (`companies` and each table with a company_id), with its columns,
    parents before children (foreign keys between them), from the database's own catalog."""
    rows = connection.execute("""
        SELECT c.relname, array_agg(a.attname ORDER BY a.attnum)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind = 'r'
          AND (c.relname = 'companies' OR EXISTS (SELECT 1 FROM pg_attribute k WHERE k.attrelid = c.oid
                                                   AND k.attname = 'company_id' AND NOT k.attisdropped))
          AND a.attgenerated = ''
        GROUP BY c.relname""").fetchall()
    columns = {name: list(cols) for name, cols in rows}
    parents: dict[str, set[str]] = {name: set() for name in columns}
    for child, parent in connection.execute("""
            SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
            WHERE c.contype = 'f' AND c.conrelid <> c.confrelid"""):
        if child in parents and parent in columns:
            parents[child].add(parent)
    ordered: list[str] = []
    while parents:
        ready = sorted(name for name, needs in parents.items() if not needs - set(ordered))
        if not ready:
            raise MoveFailed(f"foreign keys go round among {sorted(parents)}")
        ordered += ready
        for name in ready:
            del parents[name]
    return [(name, columns[name]) for name in ordered]


def _rows_of(table: str, columns: list[str]) -> sql.Composed:
    key = "id" if table == "companies" else "company_id"
    return sql.SQL("SELECT {} FROM {} WHERE {} = %s").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table), sql.Identifier(key))


def table_checksum(connection: psycopg.Connection, table: str, columns: list[str], company_id: uuid.UUID) -> tuple:
    """The table's rows of the company: how many, and an MD5 of their text in order."""
    query = sql.SQL("SELECT count(*), coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') "
                    "FROM ({}) x").format(_rows_of(table, columns))
    return tuple(connection.execute(query, (company_id,)).fetchone() or ())


def _checksums(connection: psycopg.Connection, tables: list[tuple[str, list[str]]], company_id: uuid.UUID) -> dict:
    return {table: table_checksum(connection, table, columns, company_id) for table, columns in tables}


def _delete_rows(connection: psycopg.Connection, tables: list[tuple[str, list[str]]], company_id: uuid.UUID) -> None:
    connection.execute("SET LOCAL session_replication_role = replica")
    for table, _ in reversed(tables):
        key = "id" if table == "companies" else "company_id"
        connection.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(sql.Identifier(table), sql.Identifier(key)),
                           (company_id,))


def _holds_company(region: Region, company_id: uuid.UUID) -> bool:
    with region.db.service() as session:
        return session.get(Company, company_id) is not None


def _freeze(source: Region, target: Region, company_id: uuid.UUID) -> None:
    """Mark the company as moving and end its people's sessions, once (a run again finds it marked)."""
    with source.db.service() as session:
        company = session.get(Company, company_id, with_for_update=True)
        if company.moving_to == target.name:
            return
        if company.moving_to is not None:
            raise MoveFailed(f"company {company_id} is being moved to {company.moving_to}: finish that move, or "
                             "cancel it, first")
        company.moving_to = target.name
        session.execute(sa.update(AuthSession).where(AuthSession.company_id == company_id,
                                                     AuthSession.revoked_at.is_(None)).values(revoked_at=utcnow()))
        audit.record(session, "company.move_started", entity_type="company", entity_id=company_id,
                     company_id=company_id, actor=MOVER, changes={"region": [source.name, target.name]})
        session.commit()


def _stores(*regions: Region) -> list:
    stores = []
    for region in regions:
        with in_region(region.name):
            stores.append(file_storage())
    return stores


def _copy_files(source: Region, target: Region, company_id: uuid.UUID, moved: Moved, *,
                new_only: bool = False) -> None:
    """Copy the company's files to the target, each compared by SHA-256; `new_only`: those the target lacks."""
    source_store, target_store = _stores(source, target)
    for key in list(source_store.keys(str(company_id))):
        if new_only and target_store.exists(key):
            continue
        data = source_store.get(key)
        digest = hashlib.sha256(data).digest()
        if not target_store.exists(key) or hashlib.sha256(target_store.get(key)).digest() != digest:
            target_store.put(key, data, mimetypes.guess_type(key)[0] or "application/octet-stream")
        if hashlib.sha256(target_store.get(key)).digest() != digest:
            raise MoveFailed(f"the file {key} differs in {target.name}")
        moved.files += 1


def _copy_rows(reading: psycopg.Connection, writing: psycopg.Connection, tables: list[tuple[str, list[str]]],
               company_id: uuid.UUID) -> dict:
    """Copy the company's rows from one snapshot of the source into the target's open transaction; return each
    table's checksum, equal in both."""
    with reading.transaction():
        reading.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # one moment of the source
        _delete_rows(writing, tables, company_id)
        for table, columns in tables:
            into = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
            out = sql.SQL("COPY ({}) TO STDOUT").format(_rows_of(table, columns))
            with reading.cursor().copy(out, (company_id,)) as source_rows, writing.cursor().copy(into) as target_rows:
                for block in source_rows:
                    target_rows.write(block)
        there, here = _checksums(reading, tables, company_id), _checksums(writing, tables, company_id)
    for table, _ in tables:
        if there[table] != here[table]:
            raise MoveFailed(f"{table}: {here[table][0]} rows copied of {there[table][0]}, or their checksums differ")
    return there


def _verify_chain(writing: sa.Connection, target: Region, company_id: uuid.UUID) -> None:
    with so.Session(bind=writing) as session:
        result = audit.verify_chain(session, company_id)
    if not result.ok:
        raise MoveFailed(f"the audit chain does not verify in {target.name}: entry {result.bad_seq}, "
                         f"{result.problem}")


def _lock_and_compare(reading: psycopg.Connection, tables: list[tuple[str, list[str]]], company_id: uuid.UUID,
                      copied: dict) -> list[str]:
    """Begin the source's switch transaction: lock its tenant tables against writes and name those whose rows of
    the company changed since the copy's snapshot."""
    reading.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
    try:
        reading.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE").format(
            sql.SQL(", ").join(sql.Identifier(table) for table, _ in tables)))
    except psycopg.errors.LockNotAvailable as busy:
        raise MoveFailed(f"the source's tables stayed busy with writes for {LOCK_TIMEOUT}: run the command "
                         "again") from busy
    now = _checksums(reading, [(t, c) for t, c in tables if t not in NOT_COMPARED_AT_SWITCH], company_id)
    return [table for table, sums in now.items() if sums != copied[table]]


def _switch_directory(target: Region, company_id: uuid.UUID) -> None:
    with target.db.service() as session:
        emails = session.scalars(sa.select(User.email).where(User.company_id == company_id)).all()
    keys = [email_key(email) for email in emails]
    with home_region().db.service() as session:
        session.execute(sa.update(DirectoryCompany).where(DirectoryCompany.id == company_id)
                        .values(region=target.name, placed_at=utcnow()))
        for key in keys:  # an address from before regions has no entry yet
            session.execute(insert(DirectoryLogin).values(email_key=key, region=target.name)
                            .on_conflict_do_update(index_elements=["email_key"], set_={"region": target.name}))
        session.commit()


def _remove_files_and_kept_pages(source: Region, company_id: uuid.UUID) -> None:
    [store] = _stores(source)
    store.delete_prefix(str(company_id))
    # Pages kept in Redis (core/cache.py) are named flowtrack:<kind>:<company id>:… and hold its names.
    for key in source.redis.scan_iter(match=f"flowtrack:*:{company_id}:*", count=1000):
        source.redis.delete(key)


def _copy_and_switch(source: Region, target: Region, company_id: uuid.UUID, moved: Moved,
                     step_done: Callable[[str], None]) -> None:
    for attempt in range(1, COPY_ATTEMPTS + 1):
        moved.attempts = attempt
        with admin_connection(source) as reading, _admin_transaction(target) as writing_sa:
            writing = _psycopg(writing_sa)
            tables = tenant_tables(reading)
            if [name for name, _ in tables] != [name for name, _ in tenant_tables(writing)]:
                raise MoveFailed("the two regions' schemas differ: run `flowtrack db upgrade` first")
            writing.execute("SET LOCAL session_replication_role = replica")
            copied = _copy_rows(reading, writing, tables, company_id)
            _verify_chain(writing_sa, target, company_id)
            moved.tables = {table: sums[0] for table, sums in copied.items()}
            step_done("rows")
            with reading.transaction():
                if _lock_and_compare(reading, tables, company_id, copied):
                    continue  # both transactions roll back; copy again
                _copy_files(source, target, company_id, moved, new_only=True)
                writing_sa.commit()
                _switch_directory(target, company_id)
                step_done("switch")
                _delete_rows(reading, tables, company_id)
            _remove_files_and_kept_pages(source, company_id)
            step_done("source")
            return
    raise MoveFailed(f"the company's rows changed in {source.name} during each of {COPY_ATTEMPTS} copies (a job or "
                     "webhook writing for it): run the command again when it is quiet")


def _open(target: Region, source_name: str, company_id: uuid.UUID) -> None:
    with target.db.service() as session:
        company = session.get(Company, company_id, with_for_update=True)
        if company.moving_to is None:
            return
        company.moving_to = None
        audit.record(session, "company.moved", entity_type="company", entity_id=company_id, company_id=company_id,
                     actor=MOVER, changes={"region": [source_name, target.name]})
        session.commit()


def _placed(company_id: uuid.UUID) -> str:
    """The region the directory places the company in. A company from before regions, not in the directory yet,
    is entered where it is before anything is copied, so that a copy left in the target by a stopped attempt is
    never taken for the company."""
    placed = region_of_company(company_id)
    if placed is not None:
        return placed
    holders = [region for region in all_regions() if _holds_company(region, company_id)]
    if len(holders) != 1:
        raise MoveFailed(f"no company {company_id}")
    with home_region().db.service() as session:
        session.execute(insert(DirectoryCompany).values(id=company_id, region=holders[0].name)
                        .on_conflict_do_nothing())
        session.commit()
    return holders[0].name


def _leftovers(company_id: uuid.UUID, besides: Region) -> list[Region]:
    """The regions other than `besides` that still hold rows or files of the company."""
    found = []
    for region in all_regions():
        if region is besides:
            continue
        [store] = _stores(region)
        if _holds_company(region, company_id) or any(store.keys(str(company_id))):
            found.append(region)
    return found


def _remove_copy(region: Region, company_id: uuid.UUID) -> None:
    """Remove what a region holds of a company that the directory places elsewhere."""
    with admin_connection(region) as connection, connection.transaction():
        _delete_rows(connection, tenant_tables(connection), company_id)
    _remove_files_and_kept_pages(region, company_id)


def move_company(company_id: uuid.UUID, to: str, *, after_step: Callable[[str], None] | None = None) -> Moved:
    """Move the company to the region `to`, or finish a move that stopped. `after_step` is called with each
    step's name once it is done (the command prints it)."""
    target = region_named(to)
    placed = _placed(company_id)
    moved = Moved(placed, target.name)

    def step_done(step: str) -> None:
        if step not in moved.done:
            moved.done.append(step)
        if after_step is not None:
            after_step(step)

    if placed == target.name:
        # Switched already: what is left in another region is a source not yet removed.
        for region in _leftovers(company_id, target):
            moved.source = region.name
            _remove_copy(region, company_id)
        step_done("source")
        _open(target, moved.source, company_id)
        step_done("open")
        return moved
    source = region_named(placed)
    if not _holds_company(source, company_id):
        raise MoveFailed(f"the directory places company {company_id} in {source.name}, which does not hold it")
    _freeze(source, target, company_id)
    step_done("freeze")
    _copy_files(source, target, company_id, moved)
    step_done("files")
    _copy_and_switch(source, target, company_id, moved, step_done)
    _open(target, source.name, company_id)
    step_done("open")
    return moved


def cancel_move(company_id: uuid.UUID) -> str:
    """Give a company whose move stopped before the switch back to its region: remove the copy from every other
    region and clear the mark. Returns the region it stays in."""
    placed = _placed(company_id)
    source = region_named(placed)
    with source.db.service() as session:
        company = session.get(Company, company_id)
        if company is None:
            raise MoveFailed(f"the directory places company {company_id} in {source.name}, which does not hold it")
        if company.moving_to is None:
            return placed
        if company.moving_to == placed:
            raise MoveFailed(f"company {company_id} has switched to {placed} already: run `flowtrack company move "
                             f"{company_id} --to {placed}` to finish the move")
        going_to = company.moving_to
    for region in _leftovers(company_id, source):
        _remove_copy(region, company_id)
    with source.db.service() as session:
        company = session.get(Company, company_id, with_for_update=True)
        company.moving_to = None
        audit.record(session, "company.move_canceled", entity_type="company", entity_id=company_id,
                     company_id=company_id, actor=MOVER, changes={"region": [placed, going_to]})
        session.commit()
    return placed

