"""Session tokens rotated while in use: a session gets a new token every 15 minutes of activity, and the token it
replaces keeps working for a short overlap so that requests already on their way do not fail.

`auth_sessions` keeps the current token's hash (`token_hash`, as before), when it was issued and its generation
(counted from 0 at sign-in; the browser's signed cookie carries the generation of its token), and the previous
token's hash with the end of its overlap. The two resolvers accept the previous token until then; revoking the
row ends both tokens, since both lookups require an unrevoked session.

`rotate_session_token(new_hash, due_after, overlap_for)` is the only way the app role changes a token: it rotates the
session whose current token this transaction carries (never a previous one, never another session), only when
that token is at least `due_after` old, and returns the new generation (NULL when nothing was rotated). The app
role still cannot read any token hash.

Revision ID: 0030
Revises: 0029
"""
import os

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_OWNER = os.environ.get("FLOWTRACK_DB_OWNER_ROLE", "flowtrack_owner")
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")

LIVE = "s.revoked_at IS NULL AND s.expires_at > now() AND s.idle_expires_at > now()"
TOKEN = "sha256(convert_to(current_setting('app.session_token', true), 'UTF8'))"
RESOLVERS = (("auth_company_id", "company_id"), ("auth_session_id", "id"))

# 0010's body, for the downgrade.
OLD_LOOKUP = f"SELECT s.{{column}} FROM public.auth_sessions s WHERE s.token_hash = {TOKEN} AND {LIVE}"


def _resolver(column: str) -> str:
    # The current token first, through its unique index: the path of nearly every request, as fast as before.
    # Only a token that is no session's current one is looked for among the previous tokens still in overlap.
    return f"""
        DECLARE
            presented bytea := {TOKEN};
            resolved uuid;
        BEGIN
            SELECT s.{column} INTO resolved FROM public.auth_sessions s WHERE s.token_hash = presented AND {LIVE};
            IF resolved IS NULL THEN
                SELECT s.{column} INTO resolved FROM public.auth_sessions s
                WHERE s.previous_token_hash = presented AND s.previous_token_expires_at > now() AND {LIVE};
            END IF;
            RETURN resolved;
        END
    """


ROTATE = f"""
    DECLARE
        generation integer;
    BEGIN
        UPDATE public.auth_sessions s
           SET previous_token_hash = s.token_hash, previous_token_expires_at = now() + overlap_for,
               token_hash = new_hash, token_issued_at = now(), token_generation = s.token_generation + 1
         WHERE s.token_hash = {TOKEN} AND {LIVE} AND s.token_issued_at <= now() - due_after
        RETURNING s.token_generation INTO generation;
        RETURN generation;
    END
"""


def _as_admin(statement: str) -> None:
    # The functions belong to the service role: creating or replacing them needs the migrating (administrative)
    # user itself.
    op.execute("RESET ROLE")
    op.execute(statement)
    op.execute(f'SET ROLE "{ROLE_OWNER}"')


def upgrade() -> None:
    op.execute("""
        ALTER TABLE auth_sessions
            ADD COLUMN token_issued_at timestamptz,
            ADD COLUMN token_generation integer NOT NULL DEFAULT 0,
            ADD COLUMN previous_token_hash bytea,
            ADD COLUMN previous_token_expires_at timestamptz,
            ADD CONSTRAINT auth_sessions_previous_token_check
                CHECK ((previous_token_hash IS NULL) = (previous_token_expires_at IS NULL))
    """)
    # The owner is subject to the forced policies (and may not call the resolver): the backfill runs as the
    # migrating user. A session signed in before this revision rotates at its next request.
    _as_admin("UPDATE auth_sessions SET token_issued_at = created_at")
    op.execute("ALTER TABLE auth_sessions ALTER COLUMN token_issued_at SET NOT NULL, "
               "ALTER COLUMN token_issued_at SET DEFAULT now()")
    op.execute("ALTER TABLE auth_sessions ADD CONSTRAINT auth_sessions_previous_token_hash_key "
               "UNIQUE (previous_token_hash)")
    op.execute(f'GRANT SELECT (token_issued_at, token_generation, previous_token_expires_at) ON auth_sessions '
               f'TO "{ROLE_APP}"')
    for name, column in RESOLVERS:
        # CREATE OR REPLACE keeps the owner (the service role), the pinned search_path and the grants.
        _as_admin(f"""
            CREATE OR REPLACE FUNCTION {name}() RETURNS uuid
            LANGUAGE plpgsql STABLE SECURITY DEFINER
            SET search_path = pg_catalog, public, pg_temp
            AS $$ {_resolver(column)} $$
        """)
    _as_admin(f"""
        CREATE FUNCTION rotate_session_token(new_hash bytea, due_after interval, overlap_for interval) RETURNS integer
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER
        SET search_path = pg_catalog, public, pg_temp
        AS $$ {ROTATE} $$
    """)
    op.execute("RESET ROLE")
    op.execute(f'ALTER FUNCTION rotate_session_token(bytea, interval, interval) OWNER TO "{ROLE_SERVICE}"')
    op.execute("REVOKE ALL ON FUNCTION rotate_session_token(bytea, interval, interval) FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION rotate_session_token(bytea, interval, interval) TO "{ROLE_APP}"')
    op.execute(f'SET ROLE "{ROLE_OWNER}"')


def downgrade() -> None:
    _as_admin("DROP FUNCTION rotate_session_token(bytea, interval, interval)")
    for name, column in RESOLVERS:
        _as_admin(f"""
            CREATE OR REPLACE FUNCTION {name}() RETURNS uuid
            LANGUAGE plpgsql STABLE SECURITY DEFINER
            SET search_path = pg_catalog, public, pg_temp
            AS $$ BEGIN RETURN ({OLD_LOOKUP.format(column=column)}); END $$
        """)
    op.execute(f'REVOKE SELECT (token_issued_at, token_generation, previous_token_expires_at) ON auth_sessions '
               f'FROM "{ROLE_APP}"')
    op.execute("ALTER TABLE auth_sessions DROP CONSTRAINT auth_sessions_previous_token_hash_key, "
               "DROP CONSTRAINT auth_sessions_previous_token_check, "
               "DROP COLUMN previous_token_expires_at, DROP COLUMN previous_token_hash, "
               "DROP COLUMN token_generation, DROP COLUMN token_issued_at")
