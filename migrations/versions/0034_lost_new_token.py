"""A new session token lost on its way (the phone lost signal before the response arrived) is issued again, instead
of the session ending a minute after the rotation.

The token a rotation replaces now keeps working until the new one is first used (`token_confirmed`), and for the
short overlap after that; the session's own idle and lifetime limits still apply to both. A request that comes
with the replaced token when the new one has gone unused for the overlap gets another new token, once per rotation:
the one before it never arrived. A token that was used never comes back that way: once confirmed, the replaced
token stops after the overlap, as before.

The token given up that way is kept (`orphaned_token_hash`): if it is ever presented after all, two holders had
the session (the replaced token was copied, and its copy took the session over), and the session ends at once
(`end_session_of_orphaned_token`), for both.

`confirm_session_token(overlap_for)` marks the token this transaction carries as used; `rotate_session_token` also
re-issues, as described, when the transaction carries the replaced token.

Revision ID: 0034
Revises: 0033
"""
import os

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_OWNER = os.environ.get("FLOWTRACK_DB_OWNER_ROLE", "flowtrack_owner")
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")

LIVE = "s.revoked_at IS NULL AND s.expires_at > now() AND s.idle_expires_at > now()"
TOKEN = "sha256(convert_to(current_setting('app.session_token', true), 'UTF8'))"
SIGNATURE = "rotate_session_token(new_hash bytea, due_after interval, overlap_for interval)"

ROTATE = f"""
    DECLARE
        generation integer;
    BEGIN
        UPDATE public.auth_sessions s
           SET previous_token_hash = s.token_hash, previous_token_expires_at = s.expires_at,
               token_hash = new_hash, token_issued_at = now(), token_generation = s.token_generation + 1,
               token_confirmed = false, orphaned_token_hash = NULL
         WHERE s.token_hash = {TOKEN} AND {LIVE} AND s.token_issued_at <= now() - due_after
        RETURNING s.token_generation INTO generation;
        IF generation IS NULL THEN
            -- The replaced token, while its successor has gone unused for the overlap: that one never arrived.
            UPDATE public.auth_sessions s
               SET orphaned_token_hash = s.token_hash, token_hash = new_hash, token_issued_at = now(),
                   token_generation = s.token_generation + 1
             WHERE s.previous_token_hash = {TOKEN} AND s.previous_token_expires_at > now() AND {LIVE}
               AND NOT s.token_confirmed AND s.token_issued_at <= now() - overlap_for
               AND s.orphaned_token_hash IS NULL
            RETURNING s.token_generation INTO generation;
        END IF;
        RETURN generation;
    END
"""

# 0030's body, for the downgrade.
OLD_ROTATE = f"""
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

# The company of the session ended, or NULL (the token is no session's orphan).
END_ORPHANED = f"""
    DECLARE
        ended uuid;
    BEGIN
        UPDATE public.auth_sessions s SET revoked_at = now()
         WHERE s.orphaned_token_hash = {TOKEN} AND s.revoked_at IS NULL
        RETURNING s.company_id INTO ended;
        RETURN ended;
    END
"""

CONFIRM = f"""
    BEGIN
        UPDATE public.auth_sessions s
           SET token_confirmed = true,
               previous_token_expires_at = least(s.previous_token_expires_at, now() + overlap_for)
         WHERE s.token_hash = {TOKEN} AND {LIVE} AND NOT s.token_confirmed;
    END
"""


def _as_admin(statement: str) -> None:
    # The functions belong to the service role: creating or replacing them needs the migrating (administrative)
    # user itself.
    op.execute("RESET ROLE")
    op.execute(statement)
    op.execute(f'SET ROLE "{ROLE_OWNER}"')


def _rotation(body: str) -> None:
    # CREATE OR REPLACE keeps the owner (the service role), the pinned search_path and the grants.
    _as_admin(f"""
        CREATE OR REPLACE FUNCTION {SIGNATURE} RETURNS integer
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER
        SET search_path = pg_catalog, public, pg_temp
        AS $$ {body} $$
    """)


def _app_function(signature: str, returns: str, body: str) -> None:
    """A function the app role may call, owned by the service role (it reads and changes token hashes)."""
    _as_admin(f"""
        CREATE FUNCTION {signature} RETURNS {returns}
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER
        SET search_path = pg_catalog, public, pg_temp
        AS $$ {body} $$
    """)
    op.execute("RESET ROLE")
    op.execute(f'ALTER FUNCTION {signature} OWNER TO "{ROLE_SERVICE}"')
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION {signature} TO "{ROLE_APP}"')
    op.execute(f'SET ROLE "{ROLE_OWNER}"')


def upgrade() -> None:
    op.execute("ALTER TABLE auth_sessions ADD COLUMN token_confirmed boolean NOT NULL DEFAULT true, "
               "ADD COLUMN orphaned_token_hash bytea CONSTRAINT auth_sessions_orphaned_token_hash_key UNIQUE")
    op.execute(f'GRANT SELECT (token_confirmed) ON auth_sessions TO "{ROLE_APP}"')
    _rotation(ROTATE)
    _app_function("confirm_session_token(overlap_for interval)", "void", CONFIRM)
    _app_function("end_session_of_orphaned_token()", "uuid", END_ORPHANED)


def downgrade() -> None:
    _as_admin("DROP FUNCTION end_session_of_orphaned_token()")
    _as_admin("DROP FUNCTION confirm_session_token(interval)")
    _rotation(OLD_ROTATE)
    # Back to a minute's overlap for a token replaced and not yet given up.
    _as_admin("UPDATE auth_sessions SET previous_token_expires_at = least(previous_token_expires_at, "
              "now() + interval '1 minute') WHERE previous_token_expires_at IS NOT NULL")
    op.execute("ALTER TABLE auth_sessions DROP COLUMN token_confirmed, DROP COLUMN orphaned_token_hash")
