"""The cheaper request path keeps the tenant guarantees: the token is set with the transaction's BEGIN,
before any statement of it, and ends with it; the session lookup finds only a live session; statements stay
prepared across the rollback that ends every request; a connection in use is not pinged before each request, and
one the server closed is replaced without a failed page."""
import datetime as dt
import os
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from psycopg import pq
from sqlalchemy.pool import NullPool

from flowtrack.auth.services import SessionPolicy, load_current_user, revoke_sessions
from flowtrack.core import db as core_db
from flowtrack.core.config import ROLE_SERVICE
from flowtrack.core.db import bind_company
from flowtrack.models.accounts import Profile
from flowtrack.models.companies import Company
from tests.factories import PEOPLE

POLICY = SessionPolicy(idle_timeout=dt.timedelta(minutes=30), lifetime=dt.timedelta(hours=12))


def _setting(session):
    return session.execute(sa.text("SELECT current_setting('app.session_token', true)")).scalar()


def test_the_token_is_set_in_every_transaction_of_a_session_and_ends_with_it(app, factory, acme):
    token = factory.session_token(acme.members["manager"])
    db = app.extensions["flowtrack.db"]
    session = db.app_session(token)
    try:
        # The first statement of the transaction already runs under the token.
        assert session.execute(sa.text("SELECT count(*) FROM profiles")).scalar() == PEOPLE
        session.commit()
        # A new transaction on the same session sets it again...
        assert _setting(session) == token
        session.rollback()
        # ...and a raw driver cursor of the transaction (as COPY exports use) sees it too.
        cursor = session.connection().connection.driver_connection.cursor()
        cursor.execute("SELECT count(*) FROM profiles")
        assert cursor.fetchone()[0] == PEOPLE
    finally:
        session.close()
    # The pooled connection goes back without it: the next transaction without a token sees nothing.
    anonymous = db.app_session(None)
    try:
        assert _setting(anonymous) in (None, "")
        assert anonymous.execute(sa.text("SELECT count(*) FROM profiles")).scalar() == 0
    finally:
        anonymous.close()


def test_a_token_cannot_smuggle_sql(app, acme):
    db = app.extensions["flowtrack.db"]
    session = db.app_session(f"x', false); SET ROLE {ROLE_SERVICE}; SELECT ('")
    try:
        assert session.execute(sa.text("SELECT count(*) FROM profiles")).scalar() == 0
        assert session.execute(sa.text("SELECT current_user")).scalar() != ROLE_SERVICE
    finally:
        session.close()


def test_the_session_lookup_loads_the_company_once_for_the_whole_request(app, factory, acme, count_queries):
    db = app.extensions["flowtrack.db"]
    session = db.app_session(factory.session_token(acme.members["auditor"]))
    try:
        user = load_current_user(session, POLICY)
        assert (user.company_id, user.role) == (acme.id, "auditor")
        assert user.company_name.startswith("Acme Backflow")
        bind_company(session, user.company_id)
        with count_queries() as statements:
            assert session.get(Company, acme.id).name == user.company_name
        assert statements == []
        assert session.scalar(sa.select(sa.func.count()).select_from(Profile)) == PEOPLE
    finally:
        session.close()


def test_the_session_lookup_refuses_a_revoked_session(app, factory, acme):
    db = app.extensions["flowtrack.db"]
    token = factory.session_token(acme.members["manager"])
    with db.service() as service:
        revoke_sessions(service, acme.members["manager"].user_id)
        service.commit()
    session = db.app_session(token)
    try:
        assert load_current_user(session, POLICY) is None
    finally:
        session.close()


def test_statements_stay_prepared_across_rollbacks(app):
    db = app.extensions["flowtrack.db"]
    with db.app_engine.connect() as connection:
        for _ in range(8):  # psycopg prepares a statement on its fifth run
            connection.execute(sa.select(Profile.id).where(Profile.full_name == "nobody")).all()
            connection.rollback()
        prepared = connection.execute(sa.text("SELECT statement FROM pg_prepared_statements")).scalars().all()
        connection.rollback()
    assert any("FROM profiles" in statement for statement in prepared), prepared


def test_a_failed_transaction_is_still_rolled_back(app, factory, acme):
    db = app.extensions["flowtrack.db"]
    session = db.app_session(factory.session_token(acme.members["manager"]))
    try:
        with pytest.raises(sa.exc.DBAPIError):
            session.execute(sa.text("SELECT 1 / 0"))
        session.rollback()
        assert session.execute(sa.text("SELECT count(*) FROM profiles")).scalar() == PEOPLE
    finally:
        session.close()


def test_the_session_is_checked_in_the_round_trip_that_opens_the_transaction(app, factory, acme, count_queries):
    db = app.extensions["flowtrack.db"]
    session = db.app_session(factory.session_token(acme.members["auditor"]))
    try:
        with count_queries() as statements:
            user = load_current_user(session, POLICY)
        # No statement of its own: the lookup went with the BEGIN and the token, in one message.
        assert (user.role, statements) == ("auditor", [])
        assert session.in_transaction()
    finally:
        session.close()
    anonymous = db.app_session(None)  # without a token nothing is sent with the BEGIN, and nothing is found
    try:
        assert load_current_user(anonymous, POLICY) is None
    finally:
        anonymous.close()


@contextmanager
def messages_sent(db, tmp_path):
    """What the next checkout of the app role's pool sends to PostgreSQL, message by message (libpq's trace of
    the connection a request takes next: the most recently used one)."""
    with db.app_engine.connect() as connection:
        pgconn = connection.connection.driver_connection.pgconn
    trace, sent = tmp_path / "trace.txt", []
    descriptor = os.open(trace, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    pgconn.trace(descriptor)
    pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
    try:
        yield sent
    finally:
        pgconn.untrace()
        os.close(descriptor)
        # Frontend messages that wait for an answer: a simple query, or an extended one's Sync.
        for line in trace.read_text().splitlines():
            if line.startswith("F\t") and line.split("\t")[2] in ("Query", "Sync"):
                text = line.split("\t")[3].strip().strip('"')
                sent.append("ping" if text == ";" else text.split(";")[0])


def test_a_signed_in_request_on_a_connection_in_use_is_two_round_trips(app, factory, acme, tmp_path):
    db = app.extensions["flowtrack.db"]
    token = factory.session_token(acme.members["manager"])
    session = db.app_session(token)
    assert load_current_user(session, POLICY).role == "manager"
    session.close()
    with messages_sent(db, tmp_path) as sent:
        session = db.app_session(token)
        assert load_current_user(session, POLICY).role == "manager"
        session.close()
    # No ping before the BEGIN: the connection was in use a moment ago.
    assert sent == ["BEGIN", "ROLLBACK"]


def test_a_connection_left_idle_is_pinged_before_it_is_used(app, factory, acme, tmp_path, monkeypatch):
    db = app.extensions["flowtrack.db"]
    token = factory.session_token(acme.members["manager"])
    monkeypatch.setattr(core_db, "PING_AFTER_IDLE_SECONDS", 0.0)
    with messages_sent(db, tmp_path) as sent:
        session = db.app_session(token)
        assert load_current_user(session, POLICY).role == "manager"
        session.close()
    assert sent == ["ping", "BEGIN", "ROLLBACK"]


def test_the_database_restarted_between_two_requests_costs_the_office_no_failed_page(app, office, services):
    assert office.get("/customers/").status_code == 200
    db = app.extensions["flowtrack.db"]
    with db.app_engine.connect() as connection:  # the connection the next request takes
        pid = connection.connection.driver_connection.info.backend_pid
    owner = sa.create_engine(services["DATABASE_URL"], poolclass=NullPool)
    with owner.connect() as connection:
        assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    owner.dispose()
    # Well inside the idle time that would have pinged it: the request's BEGIN finds the connection gone and opens
    # again on a new one.
    page = office.get("/customers/")
    assert page.status_code == 200 and "Customers" in page.get_data(as_text=True)
