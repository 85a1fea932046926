"""Engines, sessions and the tenant context.

Two independent layers keep companies apart:

1. The application layer: a session bound to a company adds
   `company_id = <that company>` to every ORM query on a tenant model, and
   stamps new tenant rows with the company (refusing any other).
2. The database layer: every transaction of a session that carries a login
   token starts with `set_config('app.session_token', <token>, true)`;
   row-level security policies compare `company_id` with `auth_company_id()`,
   which maps the token's hash to an unexpired, unrevoked session. The setting
   is transaction-local, so a pooled connection never carries a tenant into
   the next request, and no token means no rows.

Heavy reads (audit reports, the data export, district CSVs, the due list's CSV) may go to a streaming replica
(`Database.heavy_reads`): the same app role and the same login token there, so both layers hold on the replica as
they do on the primary.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import time
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

import psycopg
import sqlalchemy as sa
import sqlalchemy.orm as so
from psycopg import pq
from psycopg.adapt import Transformer
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB, UUID

log = logging.getLogger("flowtrack.core.db")


class Base(so.DeclarativeBase):
    type_annotation_map = {
        uuid.UUID: UUID(as_uuid=True),
        dt.datetime: sa.DateTime(timezone=True),
        # A Python None is SQL NULL, not the JSON value null (the sweep relies on IS NULL).
        dict[str, Any]: JSONB(none_as_null=True),
    }


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def insert_all(session: so.Session, records: list) -> None:
    """INSERT new ORM objects of one model, their ids already set, in batched statements that read nothing
    back: thousands of rows in a fraction of the time flushing them as objects takes. The objects stay
    outside the session."""
    if not records:
        return
    company_id = session.info.get("company_id")
    if company_id is not None and isinstance(records[0], TenantScoped):
        for record in records:
            _stamp(record, company_id)
    keys = {attr.key for attr in sa.inspect(type(records[0])).column_attrs}
    session.execute(sa.insert(type(records[0])), [{k: v for k, v in vars(r).items() if k in keys} for r in records])


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def lock_company_chain(session: so.Session, company_id: uuid.UUID) -> None:
    """The company's audit-chain lock, until the transaction ends: one writer of its chain at a time. Whatever
    else a writer locks, it takes this one first (so do the board counters' triggers, migration 0036), so that two
    writers never wait for each other in opposite orders."""
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(str(company_id), 0))))


def lock_for_change(session: so.Session, rows: sa.Select) -> None:
    """Lock the rows a request is about to change until its transaction ends (SELECT ... FOR UPDATE), before it
    reads them. Two requests changing one record at the same moment (a double click, two people, the phone's outbox
    sending again while its first send is under way) then take turns: the second waits for the first to commit and
    reads what it wrote, instead of both acting on what they read before either wrote. Read the records after this
    with `populate_existing`, so that none is taken from the session as it was read before. The company's chain
    lock comes first, since the change will be audited (see `lock_company_chain`)."""
    lock_company_chain(session, session.info["company_id"])
    session.execute(rows.with_for_update())


class TenantScoped:
    """Mixin for tables that belong to one company (row-level security applies)."""

    company_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("companies.id"), index=True)


class TenantRoot:
    """Mixin for the tenant table itself, whose own id is the company: a session bound to a company sees only
    that row."""

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)


def token_hash(token: str) -> bytes:
    """What the sessions table stores for a login token (the same as SQL's sha256(convert_to(token, 'UTF8')))."""
    return hashlib.sha256(token.encode()).digest()


# How long a heavy read waits for the replica to replay what the primary has committed before it reads the primary
# instead. A healthy replica is milliseconds behind; one that is minutes behind is not waited for.
REPLICA_WAIT_SECONDS = 5.0
_REPLAY_POLL_SECONDS = 0.02
# NULL on a server that is not a replica (a primary given as one by mistake): never replayed, so never read.
_REPLAYED = sa.text("SELECT coalesce(pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn), false)")


class Database:
    """The app-role and service-role engines and their session factories, and, when the region has one, the app
    role's engine on its streaming replica (`replica_url`), for heavy reads."""

    def __init__(self, app_url: str, service_url: str, *, vendor_url: str | None = None,
                 replica_url: str | None = None, replica_wait: float = REPLICA_WAIT_SECONDS,
                 tenant_app_filter: bool = True):
        # Every signed-in request takes this pool's connection: the most recently used one (LIFO), pinged only when
        # it has been idle a while (`_ping_if_idle`), not by a round trip of its own before each request.
        self.app_engine = sa.create_engine(app_url, pool_size=10, max_overflow=10, pool_use_lifo=True)
        event.listen(self.app_engine, "rollback", _rollback_keeping_prepared_statements)
        event.listen(self.app_engine, "checkin", _note_idle_since)
        event.listen(self.app_engine, "checkout", _ping_if_idle)
        self.service_engine = sa.create_engine(service_url, pool_pre_ping=True, pool_size=3, max_overflow=5)
        # A vendor's session is refused on the app role and confined on this one (migration 0038).
        self.vendor_engine = sa.create_engine(vendor_url or app_url, pool_pre_ping=True, pool_size=3,
                                              max_overflow=5)
        event.listen(self.vendor_engine, "rollback", _rollback_keeping_prepared_statements)
        self._app_sessions = so.sessionmaker(self.app_engine, expire_on_commit=False)
        self._vendor_sessions = so.sessionmaker(self.vendor_engine, expire_on_commit=False)
        self._service_sessions = so.sessionmaker(self.service_engine, expire_on_commit=False)
        self.replica_engine: sa.Engine | None = None
        if replica_url:
            self.replica_engine = sa.create_engine(replica_url, pool_pre_ping=True, pool_size=3, max_overflow=5)
            event.listen(self.replica_engine, "rollback", _rollback_keeping_prepared_statements)
            self._replica_sessions = so.sessionmaker(self.replica_engine, expire_on_commit=False)
        self.replica_wait = replica_wait
        # Tests turn this off to prove that row-level security alone isolates tenants.
        self.tenant_app_filter = tenant_app_filter

    def app_session(self, token: str | None = None, *, vendor: bool = False) -> so.Session:
        """A session as the app role (or, for a vendor's person, the vendor role); rows are visible only with a
        valid login token."""
        session = (self._vendor_sessions if vendor else self._app_sessions)()
        session.info["session_token"] = token
        session.info["tenant_app_filter"] = self.tenant_app_filter
        return session

    def service_session(self) -> so.Session:
        """A session as the service role, which bypasses RLS. For sign-up, login, webhooks and the sweep only."""
        session = self._service_sessions()
        session.info["service"] = True
        return session

    @contextmanager
    def service(self) -> Iterator[so.Session]:
        session = self.service_session()
        try:
            yield session
        finally:
            session.close()

    @contextmanager
    def heavy_reads(self, session: so.Session) -> Iterator[so.Session]:
        """A session for a heavy read as the person (or job) of `session`: on the replica, with the same login
        token and company, once the replica has replayed everything the primary had committed when
        this was called (the rows the read is about, and the token's own session row, which row-level security
        looks up there). Without a replica, for a vendor's person (whose role the replica does not carry), or
        when the replica is down or lags more than `replica_wait`: `session` itself, on the primary.

        Read only: the replica refuses writes. Writes of the same work (its status, its audit entry) stay on
        `session`."""
        replica = self._replica_session_for(session)
        if replica is None:
            yield session
            return
        try:
            yield replica
        finally:
            replica.close()

    def _replica_session_for(self, session: so.Session) -> so.Session | None:
        if self.replica_engine is None or session.get_bind() is not self.app_engine:
            return None
        with self.app_engine.connect() as primary:
            committed = primary.exec_driver_sql("SELECT pg_current_wal_lsn()").scalar()
        deadline = time.monotonic() + self.replica_wait
        try:
            with self.replica_engine.connect() as replica:
                while not replica.execute(_REPLAYED, {"lsn": committed}).scalar():
                    replica.rollback()  # a fresh snapshot of the replay position at each look
                    if time.monotonic() > deadline:
                        log.warning("the replica has not replayed %s after %ss: reading the primary",
                                    committed, self.replica_wait)
                        return None
                    time.sleep(_REPLAY_POLL_SECONDS)
        except sa.exc.OperationalError:
            log.warning("the replica does not answer: reading the primary", exc_info=True)
            return None
        replica_session = self._replica_sessions()
        for key in ("session_token", "tenant_app_filter", "company_id"):
            if key in session.info:
                replica_session.info[key] = session.info[key]
        return replica_session

    def dispose(self) -> None:
        self.app_engine.dispose()
        self.vendor_engine.dispose()
        self.service_engine.dispose()
        if self.replica_engine is not None:
            self.replica_engine.dispose()


def bind_company(session: so.Session, company_id: uuid.UUID) -> None:
    """Bind the application-layer tenant filter of a session to one company."""
    session.info["company_id"] = company_id


# A connection used within this many seconds is handed out without a ping: if the server went away since (a
# restart or failover that quick), the request's BEGIN finds out and opens on a fresh connection (`rows_with_begin`).
PING_AFTER_IDLE_SECONDS = 10.0
_IDLE_SINCE = "flowtrack.idle_since"


def _note_idle_since(dbapi_connection, record) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, proxy) -> None:
    idle_since = record.info.get(_IDLE_SINCE)
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return  # just connected, or in use a moment ago
    with dbapi_connection.lock:
        try:
            alive = dbapi_connection.pgconn.exec_(b";").status == pq.ExecStatus.EMPTY_QUERY
        except psycopg.Error:
            alive = False
    if not alive:
        raise sa.exc.DisconnectionError("the server closed the connection while it was idle")  # the pool reconnects


class ConnectionLost(psycopg.OperationalError):
    """The server closed the connection between two uses of it (a restart, a failover)."""


SET_TOKEN = b"SELECT set_config('app.session_token', %s, true)"
_WITH_BEGIN, _BEGIN_ROWS = "flowtrack.with_begin", "flowtrack.begin_rows"


def rows_with_begin(session: so.Session, query: bytes) -> list[tuple] | None:
    """Open the session's transaction and run `query` (SQL without parameters) in the same message as its BEGIN
    and its token: the rows, typed as psycopg types them, in one round trip instead of two. None when the session
    has no token, or its transaction was open already (the caller runs its query the usual way)."""
    if session.in_transaction() or not session.info.get("session_token"):
        return None
    session.info[_WITH_BEGIN] = query
    try:
        try:
            session.connection()
        except ConnectionLost:
            # Nothing of the request has run yet, and the pool has been replaced: open again on a new connection.
            session.rollback()
            session.connection()
    finally:
        session.info.pop(_WITH_BEGIN, None)
    return session.info.pop(_BEGIN_ROWS, None)


@event.listens_for(so.Session, "after_begin")
def _set_tenant_token(session: so.Session, transaction, connection) -> None:
    token = session.info.get("session_token")
    if not token:
        return
    driver = connection.connection.driver_connection
    pgconn = driver.pgconn
    statement = SET_TOKEN % pq.Escaping(pgconn).escape_literal(token.encode())
    with driver.lock:
        opens = pgconn.transaction_status == pq.TransactionStatus.IDLE and not driver.autocommit
        # psycopg would send its BEGIN alone and wait for the answer; sending BEGIN and the token as one
        # simple-protocol message opens the transaction with the token set in a single round trip.
        query = session.info.get(_WITH_BEGIN) if opens else None
        if opens:
            statement = b"BEGIN; " + statement + (b"; " + query if query is not None else b"")
        try:
            result = pgconn.exec_(statement)
        except psycopg.OperationalError:
            result = None
    if result is None or pgconn.status == pq.ConnStatus.BAD:
        # Those left in the pool went with it: a new pool, so that the next requests don't find them one by one.
        connection.invalidate()
        connection.engine.dispose()
        raise ConnectionLost("the database closed the connection since its last use")
    if result.status != pq.ExecStatus.TUPLES_OK:
        # The transaction (if opened) is now aborted, so nothing runs in it without the token.
        raise psycopg.OperationalError("could not set the session token: "
                                       + result.error_message.decode(errors="replace"))
    if query is not None:  # the message's last result is the query's
        loader = Transformer(driver)
        loader.set_pgresult(result)
        session.info[_BEGIN_ROWS] = loader.load_rows(0, result.ntuples, tuple)


def _rollback_keeping_prepared_statements(connection: sa.Connection) -> None:
    """Roll back through libpq, ahead of psycopg, which then finds nothing to do.

    psycopg forgets its prepared statements at every rollback (in case the transaction changed the schema),
    and every request ends with one, so no statement was ever prepared: each was parsed, rewritten for
    row-level security and planned anew. The app role changes no schema, and prepared statements outlive a
    rollback on the server, so they stay valid.
    """
    if connection.invalidated:
        return
    driver = connection.connection.driver_connection
    if driver is None:  # no DBAPI connection behind it: nothing to roll back here
        return
    with driver.lock:
        if driver.pgconn.transaction_status != pq.TransactionStatus.IDLE:
            # Should it fail (a broken connection), psycopg's own rollback runs next and reports it.
            driver.pgconn.exec_(b"ROLLBACK")


@functools.lru_cache(maxsize=4096)
def _tenant_criteria(company_id: uuid.UUID) -> tuple:
    """The loader options that confine ORM statements to one company.

    Built once per company: making a lambda criterion costs SQLAlchemy more than the rest of a small query.
    The options are immutable, so every session of the company shares them.
    """
    return (
        so.with_loader_criteria(TenantScoped, lambda cls: cls.company_id == company_id, include_aliases=True),
        so.with_loader_criteria(TenantRoot, lambda cls: cls.id == company_id, include_aliases=True),
    )


@event.listens_for(so.Session, "do_orm_execute")
def _filter_by_company(state: so.ORMExecuteState) -> None:
    session = state.session
    company_id = session.info.get("company_id")
    if company_id is None or not session.info.get("tenant_app_filter", True):
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return
    # A narrower view within the company (a vendor's, flowtrack/models/vendors.py) adds its own criteria.
    state.statement = state.statement.options(*_tenant_criteria(company_id), *session.info.get("scope_criteria", ()))


@event.listens_for(so.Session, "before_flush")
def _stamp_company(session: so.Session, flush_context, instances) -> None:
    company_id = session.info.get("company_id")
    if company_id is None:
        return
    for obj in session.new:
        if isinstance(obj, TenantScoped):
            _stamp(obj, company_id)


def _stamp(obj: TenantScoped, company_id: uuid.UUID) -> None:
    if obj.company_id is None:
        obj.company_id = company_id
    elif obj.company_id != company_id:
        raise PermissionError("refusing to write a row of another company")
