"""A new session token lost on its way (the phone lost signal before the response arrived) is issued again, instead
of the session ending a minute after the rotation.

The token a rotation replaces now keeps working until the new one is first used (`token_confirmed`), and for the
short overlap after that; the session's own idle and lifetime limits still apply to both. A request that comes
with the replaced token when the new one has gone unused for the overlap gets another new token: the one before it
never arrived. A token that was used never comes back that way: once confirmed, the replaced token stops after the
overlap, as before.

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
               token_confirmed = false
         WHERE s.token_hash = {TOKEN} AND {LIVE} AND s.token_issued_at <= now() - due_after
        RETURNING s.token_generation INTO generation;
        IF generation IS NULL THEN
            -- The replaced token, while its successor has gone unused for the overlap: that one never arrived.
            UPDATE public.auth_sessions s
               SET token_hash = new_hash, token_issued_at = now(), token_generation = s.token_generation + 1
             WHERE s.previous_token_hash = {TOKEN} AND s.previous_token_expires_at > now() AND {LIVE}
               AND NOT s.token_confirmed AND s.token_issued_at <= now() - overlap_for
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


def upgrade() -> None:
    op.execute("ALTER TABLE auth_sessions ADD COLUMN token_confirmed boolean NOT NULL DEFAULT true")
    op.execute(f'GRANT SELECT (token_confirmed) ON auth_sessions TO "{ROLE_APP}"')
    _rotation(ROTATE)
    _as_admin(f"""
        CREATE FUNCTION confirm_session_token(overlap_for interval) RETURNS void
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER
        SET search_path = pg_catalog, public, pg_temp
        AS $$ {CONFIRM} $$
    """)
    op.execute("RESET ROLE")
    op.execute(f'ALTER FUNCTION confirm_session_token(interval) OWNER TO "{ROLE_SERVICE}"')
    op.execute("REVOKE ALL ON FUNCTION confirm_session_token(interval) FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION confirm_session_token(interval) TO "{ROLE_APP}"')
    op.execute(f'SET ROLE "{ROLE_OWNER}"')


def downgrade() -> None:
    _as_admin("DROP FUNCTION confirm_session_token(interval)")
    _rotation(OLD_ROTATE)
    op.execute("ALTER TABLE auth_sessions DROP COLUMN token_confirmed")
