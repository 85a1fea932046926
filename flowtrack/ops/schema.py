"""The database roles FlowTrack connects as, created before any migration runs (migrations/env.py) and on a
restore's new server (backup).

Row-level security is turned on by each migration that makes a tenant table, with its own copy of
`_tenant_table` (migrations/README says why); a test walks the catalog and fails for any table with a
`company_id` column that lacks ENABLE + FORCE row-level security and the four policies.
"""
from __future__ import annotations

import os

import sqlalchemy as sa

from flowtrack.core.config import ROLE_APP, ROLE_OWNER, ROLE_SERVICE, ROLE_VENDOR


def _create_role(conn, name: str, attributes: str, password: str | None) -> None:
    exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).scalar()
    if not exists:
        conn.execute(sa.text(f'CREATE ROLE "{name}" {attributes}'))
    else:
        conn.execute(sa.text(f'ALTER ROLE "{name}" {attributes}'))
    if password:
        # format() quotes the password as a literal; the raw driver call keeps it free of bind-parameter parsing.
        statement = conn.execute(sa.text("SELECT format('ALTER ROLE %I PASSWORD %L', "
                                         "CAST(:n AS text), CAST(:p AS text))"),
                                 {"n": name, "p": password}).scalar()
        conn.connection.driver_connection.execute(statement)


def ensure_roles(conn) -> None:
    """Create the owner, app, vendor and service roles if missing (idempotent; roles are cluster-wide)."""
    _create_role(conn, ROLE_OWNER, "NOLOGIN NOBYPASSRLS", None)
    _create_role(conn, ROLE_APP, "LOGIN NOBYPASSRLS NOSUPERUSER NOCREATEDB NOCREATEROLE",
                 os.environ.get("FLOWTRACK_APP_DB_PASSWORD"))
    _create_role(conn, ROLE_SERVICE, "LOGIN BYPASSRLS NOSUPERUSER NOCREATEDB NOCREATEROLE",
                 os.environ.get("FLOWTRACK_SERVICE_DB_PASSWORD"))
    _create_role(conn, ROLE_VENDOR, "LOGIN NOBYPASSRLS NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT",
                 os.environ.get("FLOWTRACK_VENDOR_DB_PASSWORD"))
    # The vendor role holds exactly the app role's rights; the vendor policies are what set it apart.
    conn.execute(sa.text(f'GRANT "{ROLE_APP}" TO "{ROLE_VENDOR}"'))
    conn.execute(sa.text(f'GRANT "{ROLE_OWNER}" TO CURRENT_USER'))
    database = conn.execute(sa.text("SELECT current_database()")).scalar()
    conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{database}" TO "{ROLE_APP}", "{ROLE_SERVICE}", "{ROLE_VENDOR}"'))
    conn.execute(sa.text(f'GRANT USAGE, CREATE ON SCHEMA public TO "{ROLE_OWNER}"'))
    conn.execute(sa.text(f'GRANT USAGE ON SCHEMA public TO "{ROLE_APP}", "{ROLE_SERVICE}"'))
