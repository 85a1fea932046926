"""The database keeps its promises by construction: a walk over the catalog.

New tables cannot forget row-level security: any table with a company_id
column must have ENABLE + FORCE RLS and a policy for each of SELECT, INSERT,
UPDATE and DELETE that compares against auth_company_id().
"""
import sqlalchemy as sa

from flowtrack.core.config import ROLE_APP, ROLE_OWNER, ROLE_SERVICE, ROLE_VENDOR


def _admin(app):
    return sa.create_engine(app.extensions["flowtrack.settings"].database_url, poolclass=sa.pool.NullPool)


def test_every_tenant_table_forces_row_level_security_and_confines_vendors(app):
    engine = _admin(app)
    with engine.connect() as c:
        tables = c.execute(sa.text("""
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r'
              AND (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'company_id'
                           AND NOT a.attisdropped) OR c.relname = 'companies')
        """)).all()
        assert {"companies", "users", "profiles", "auth_sessions", "audit_log"} <= {t.relname for t in tables}
        for name, enabled, forced in tables:
            assert enabled and forced, f"{name} lacks ENABLE/FORCE ROW LEVEL SECURITY"
            policies = c.execute(sa.text("SELECT cmd, permissive, roles, qual, with_check FROM pg_policies "
                                         "WHERE tablename = :t"), {"t": name}).all()
            tenant = [p for p in policies if p.permissive == "PERMISSIVE"]
            vendor = [p for p in policies if p.permissive == "RESTRICTIVE"]
            assert {p.cmd for p in tenant} == {"SELECT", "INSERT", "UPDATE", "DELETE"}, f"{name} policies: {tenant}"
            for policy in tenant:
                text = (policy.qual or "") + (policy.with_check or "")
                assert "auth_company_id()" in text, f"{name} {policy.cmd} policy does not use auth_company_id()"
            # A table a vendor's session is not confined on would show a vendor the whole company (migration 0038).
            assert {p.cmd for p in vendor} == {"SELECT", "INSERT", "UPDATE", "DELETE"}, f"{name} vendor: {vendor}"
            for policy in vendor:
                text = (policy.qual or "") + (policy.with_check or "")
                assert "auth_vendor_id()" in text, f"{name} {policy.cmd} vendor policy does not use auth_vendor_id()"
                # The vendor role's alone: the app role's queries are planned without them.
                assert policy.roles == [ROLE_VENDOR], f"{name} {policy.cmd} vendor policy is for {policy.roles}"
    engine.dispose()


def test_the_app_role_owns_nothing_and_cannot_bypass_rls(app):
    engine = _admin(app)
    with engine.connect() as c:
        role = c.execute(sa.text("SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
                                 "WHERE rolname = :r"), {"r": ROLE_APP}).one()
        assert not any(role)
        owned = c.execute(sa.text("""
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = :r
        """), {"r": ROLE_APP}).scalars().all()
        assert owned == []
        owners = set(c.execute(sa.text("""
            SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r'
        """)).scalars())
        assert owners == {ROLE_OWNER}
        assert c.execute(sa.text("SELECT rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": ROLE_SERVICE}).scalar()
    engine.dispose()


def test_security_definer_functions_pin_search_path_and_are_not_public(app):
    engine = _admin(app)
    with engine.connect() as c:
        functions = c.execute(sa.text("""
            SELECT p.proname, p.proconfig, p.proacl::text AS acl
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND p.prosecdef
        """)).all()
        assert {f.proname for f in functions} >= {"auth_company_id", "auth_session_id"}
        for f in functions:
            config = " ".join(f.proconfig or [])
            assert "search_path=" in config and config.rstrip().endswith("pg_temp"), f.proname
            # An ACL entry "=X/..." would grant EXECUTE to PUBLIC.
            assert not any(entry.startswith("=") for entry in f.acl.strip("{}").split(",")), f.proname
    engine.dispose()


def test_the_audit_log_is_append_only_for_the_app(app):
    engine = _admin(app)
    with engine.connect() as c:
        rights = {r: c.execute(sa.text("SELECT has_table_privilege(:role, 'audit_log', :r)"),
                               {"role": ROLE_APP, "r": r}).scalar() for r in ("SELECT", "INSERT", "UPDATE", "DELETE")}
    assert rights == {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False}
    engine.dispose()


def test_the_app_cannot_read_password_hashes_or_session_tokens(app):
    engine = _admin(app)
    with engine.connect() as c:
        for table, column in (("users", "password_hash"), ("users", "totp_secret"), ("auth_sessions", "token_hash"),
                              ("auth_sessions", "previous_token_hash")):
            assert not c.execute(sa.text("SELECT has_column_privilege(:role, :t, :c, 'SELECT')"),
                                 {"role": ROLE_APP, "t": table, "c": column}).scalar(), f"{table}.{column}"
    engine.dispose()


def test_every_foreign_key_has_an_index_led_by_its_column(app):
    """Deleting a referenced row looks up the rows pointing at it; without such an index every look is a scan of
    the referencing table (the sweep of a large company spent minutes in them)."""
    engine = _admin(app)
    with engine.connect() as c:
        unindexed = c.execute(sa.text("""
            SELECT c.conrelid::regclass::text || '.' || a.attname
            FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
              AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
                              AND i.indkey[0] = c.conkey[1])
            ORDER BY 1
        """)).scalars().all()
    engine.dispose()
    assert unindexed == []
