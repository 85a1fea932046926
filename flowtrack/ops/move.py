"""Moving a company to another region (`flowtrack company move <id> --to ca`, docs/regions.md).

The steps, each of which can be run again:

1. rows: in one transaction of the target's database, the company's rows left there by an earlier attempt go,
   every tenant row is copied from the source (COPY, tables in foreign-key order), and each table's count and
   checksum are compared with the source's; the transaction commits only if all match;
2. chain: the company's audit chain is verified in the target;
3. files: every stored file of the company is copied to the target's store and its SHA-256 compared;
4. directory: the directory names the target for the company and its people's addresses (one transaction);
5. source: the company's rows in the source go (one transaction), then its files.

Until step 4 commits the directory names the source, and the source was not touched: the company is whole there.
From then on it names the target, which was verified whole before. A crash at any step leaves one of the two, and
running the command again redoes what is not done. The company's people are signed out at the start (their
sessions are the source's); what they write after that, until the switch, would be lost, so a move is run when
the company is told and quiet.

The copies use each region's administrative URL with `session_replication_role = replica`: rows are written
as they were, without the triggers that would stamp, count or audit them anew (the copied rows are those
triggers' results already).
"""
from __future__ import annotations

import hashlib
import mimetypes
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url

from flowtrack.audit.services import verify_chain
from flowtrack.core.db import utcnow
from flowtrack.core.directory import DirectoryCompany, DirectoryLogin, email_key, region_of_company
from flowtrack.core.regions import Region, all_regions, home_region, in_region, region_named
from flowtrack.core.storage import file_storage
from flowtrack.models.accounts import AuthSession, User
from flowtrack.models.companies import Company

STEPS = ("rows", "chain", "files", "directory", "source")


class MoveFailed(Exception):
    """The move stopped: what it found is in the message; the company is whole in one region."""


@dataclass
class Moved:
    source: str
    target: str
    tables: dict[str, int] = field(default_factory=dict)  # rows copied, by table
    files: int = 0
    done: list[str] = field(default_factory=list)


def admin_connection(region: Region) -> psycopg.Connection:
    url = make_url(region.settings.database_url).set(drivername="postgresql")
    # Autocommit: each `transaction()` block is the transaction, begun where it says.
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


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


def _delete_rows(connection: psycopg.Connection, tables: list[tuple[str, list[str]]], company_id: uuid.UUID) -> None:
    for table, _ in reversed(tables):
        key = "id" if table == "companies" else "company_id"
        connection.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(sql.Identifier(table), sql.Identifier(key)),
                           (company_id,))


def _holds_company(region: Region, company_id: uuid.UUID) -> bool:
    with region.db.service() as session:
        return session.get(Company, company_id) is not None


def _copy_rows(source: Region, target: Region, company_id: uuid.UUID, moved: Moved) -> None:
    with admin_connection(source) as reading, admin_connection(target) as writing:
        tables = tenant_tables(reading)
        if [name for name, _ in tables] != [name for name, _ in tenant_tables(writing)]:
            raise MoveFailed("the two regions' schemas differ: run `flowtrack db upgrade` first")
        with reading.transaction(), writing.transaction():
            reading.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # one moment of the source
            writing.execute("SET LOCAL session_replication_role = replica")
            _delete_rows(writing, tables, company_id)
            for table, columns in tables:
                into = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
                out = sql.SQL("COPY ({}) TO STDOUT").format(_rows_of(table, columns))
                with reading.cursor().copy(out, (company_id,)) as source_rows, \
                        writing.cursor().copy(into) as target_rows:
                    for block in source_rows:
                        target_rows.write(block)
            for table, columns in tables:
                there = table_checksum(reading, table, columns, company_id)
                here = table_checksum(writing, table, columns, company_id)
                if there != here:
                    raise MoveFailed(f"{table}: {here[0]} rows copied of {there[0]}, or their checksums differ")
                moved.tables[table] = there[0]


def _verify_chain(target: Region, company_id: uuid.UUID) -> None:
    with target.db.service() as session:
        result = verify_chain(session, company_id)
    if not result.ok:
        raise MoveFailed(f"the audit chain does not verify in {target.name}: entry {result.bad_seq}, "
                         f"{result.problem}")


def _copy_files(source: Region, target: Region, company_id: uuid.UUID, moved: Moved) -> None:
    with in_region(source.name):
        source_store = file_storage()
    with in_region(target.name):
        target_store = file_storage()
    for key in list(source_store.keys(str(company_id))):
        data = source_store.get(key)
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        if not target_store.exists(key) or hashlib.sha256(target_store.get(key)).digest() != hashlib.sha256(
                data).digest():
            target_store.put(key, data, content_type)
        if hashlib.sha256(target_store.get(key)).digest() != hashlib.sha256(data).digest():
            raise MoveFailed(f"the file {key} differs in {target.name}")
        moved.files += 1


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


def _remove_source(source: Region, company_id: uuid.UUID) -> None:
    with admin_connection(source) as connection, connection.transaction():
        connection.execute("SET LOCAL session_replication_role = replica")
        _delete_rows(connection, tenant_tables(connection), company_id)
    with in_region(source.name):
        file_storage().delete_prefix(str(company_id))


def _sign_everyone_out(source: Region, company_id: uuid.UUID) -> None:
    with source.db.service() as session:
        session.execute(sa.update(AuthSession).where(AuthSession.company_id == company_id,
                                                     AuthSession.revoked_at.is_(None)).values(revoked_at=utcnow()))
        session.commit()


def move_company(company_id: uuid.UUID, to: str, *, after_step: Callable[[str], None] | None = None) -> Moved:
    """Move the company to the region `to`, or finish a move that stopped. `after_step` is called with each
    step's name once it is done (the command prints it)."""
    target = region_named(to)
    placed = region_of_company(company_id)
    if placed is None:
        # From before regions, not in the directory yet: entered where it is before anything is copied, so that
        # a copy left in the target by a stopped attempt is never taken for the company.
        holders = [region for region in all_regions() if _holds_company(region, company_id)]
        if len(holders) != 1:
            raise MoveFailed(f"no company {company_id}")
        placed = holders[0].name
        with home_region().db.service() as session:
            session.execute(insert(DirectoryCompany).values(id=company_id, region=placed).on_conflict_do_nothing())
            session.commit()
    done = after_step or (lambda step: None)
    if placed == target.name:
        # Switched already: what is left in another region is a source not yet removed.
        leftovers = [region for region in all_regions() if region is not target
                     and (_holds_company(region, company_id) or any(_stored(region, company_id)))]
        moved = Moved(leftovers[0].name if leftovers else target.name, target.name)
        for region in leftovers:
            _remove_source(region, company_id)
        moved.done.append("source")
        done("source")
        return moved
    source = region_named(placed)
    if not _holds_company(source, company_id):
        raise MoveFailed(f"the directory places company {company_id} in {source.name}, which does not hold it")
    moved = Moved(source.name, target.name)
    _sign_everyone_out(source, company_id)
    for step, run in (("rows", lambda: _copy_rows(source, target, company_id, moved)),
                      ("chain", lambda: _verify_chain(target, company_id)),
                      ("files", lambda: _copy_files(source, target, company_id, moved)),
                      ("directory", lambda: _switch_directory(target, company_id)),
                      ("source", lambda: _remove_source(source, company_id))):
        run()
        moved.done.append(step)
        done(step)
    return moved


def _stored(region: Region, company_id: uuid.UUID):
    with in_region(region.name):
        return file_storage().keys(str(company_id))
