"""Vendors: outside testers a company subcontracts work orders to, and their isolation in the database.

A vendor is an organisation of the company (`vendors`); its people are profiles with the role `vendor` and its id.
The office assigns a work order to a vendor (`work_orders.vendor_id`) and registers the vendor's own test kits
(`gauges.vendor_id`).

A vendor's person works through their own database role, `flowtrack_vendor`, which holds the app role's rights
and is confined by four RESTRICTIVE policies on every tenant table, besides its tenant policies: a row passes only
when the session is a vendor's and the table's vendor rule admits it. The rules nest: a device is visible when it is
on a visible work order's device list, and that list is itself under its own policy, so each rule names only its
nearest neighbour. Tables without a rule (invoices, prices, the audit log's reading, the team, settings) show a
vendor nothing. The policies are the vendor role's alone, so the app role's queries are planned as before.

A vendor's session is marked as such when it is made (`auth_sessions.for_vendor`, from the person's profile, by a
trigger), and the resolvers give it no company on any other role: a vendor's token presented on the app role's
connection sees nothing at all. The resolvers read the session and profile as the service role, so they do not
recurse into the policies, and trust no setting that SQL can change (`session_user` is the login's role, which SQL
cannot change).

A vendor's action is audited like anyone's, but the chain's tip, which the next entry hashes over, is read through
`audit_chain_tip()`: the vendor may append to the company's log without reading it.

Revision ID: 0038
Revises: 0037
"""
import os

from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

# The role names as flowtrack/core/config.py reads them when this revision was written.
ROLE_OWNER = os.environ.get("FLOWTRACK_DB_OWNER_ROLE", "flowtrack_owner")
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")
ROLE_VENDOR = os.environ.get("FLOWTRACK_DB_VENDOR_ROLE", "flowtrack_vendor")

ROLES = ("company_admin", "manager", "scheduler", "coordinator", "inventory_manager", "technician", "auditor",
         "customer", "district_admin")

IS_VENDOR = "(SELECT auth_vendor_id()) IS NOT NULL"
ME = "(SELECT auth_user_id())"
VENDOR = "(SELECT auth_vendor_id())"
VENDORS_PEOPLE = f"(SELECT p.user_id FROM profiles p WHERE p.vendor_id = {VENDOR})"

# table: (what a vendor may read, what a vendor may write). None: nothing. The tables not named here (and any
# tenant table made later, unless its revision says otherwise) show a vendor nothing.
VENDOR_RULES: dict[str, tuple[str | None, str | None]] = {
    "companies": ("true", None),
    "company_settings": ("true", None),
    "users": (f"id = {ME}", f"id = {ME}"),
    "profiles": (f"user_id = {ME} OR vendor_id = {VENDOR}", f"user_id = {ME}"),
    "auth_sessions": (f"user_id = {ME}", f"user_id = {ME}"),
    "account_tokens": (f"user_id = {ME}", f"user_id = {ME}"),
    "recovery_codes": (f"user_id = {ME}", f"user_id = {ME}"),
    # Appended to, never read: the chain's tip comes from audit_chain_tip().
    "audit_log": (None, f"actor_user_id = {ME}"),
    "vendors": (f"id = {VENDOR}", None),
    "work_orders": (f"vendor_id = {VENDOR}", f"vendor_id = {VENDOR}"),
    "work_order_devices": ("work_order_id IN (SELECT w.id FROM work_orders w)",
                           "work_order_id IN (SELECT w.id FROM work_orders w)"),
    "scheduled_jobs": ("work_order_id IN (SELECT w.id FROM work_orders w)", None),
    "customers": ("id IN (SELECT w.customer_id FROM work_orders w)", None),
    "customer_locations": ("id IN (SELECT w.location_id FROM work_orders w)",
                           "id IN (SELECT w.location_id FROM work_orders w)"),
    "districts": ("id IN (SELECT l.district_id FROM customer_locations l)", None),
    "devices": ("id IN (SELECT d.device_id FROM work_order_devices d)",
                "id IN (SELECT d.device_id FROM work_order_devices d)"),
    "gauges": (f"vendor_id = {VENDOR}", None),
    "test_records": (f"technician_id IN {VENDORS_PEOPLE} AND device_id IN (SELECT d.id FROM devices d)",
                     f"technician_id IN {VENDORS_PEOPLE} AND device_id IN (SELECT d.id FROM devices d)"),
    "device_photos": (f"uploaded_by IN {VENDORS_PEOPLE} AND device_id IN (SELECT d.id FROM devices d)",
                      f"uploaded_by IN {VENDORS_PEOPLE} AND device_id IN (SELECT d.id FROM devices d)"),
    # The board's and the device lists' change counters, which the triggers of a vendor's writes move.
    "schedule_versions": ("true", "true"),
    "device_versions": ("true", "true"),
    # The jobs a vendor's test enqueues (its report); a job's row names functions and ids, no customer data.
    "queued_jobs": ("true", "true"),
}

# A vendor deletes only what is their own: their sessions, sign-in tokens and recovery codes, and photos they took.
VENDOR_DELETES = ("auth_sessions", "account_tokens", "recovery_codes", "device_photos")

TENANT_TABLES = ("companies", "company_settings", "users", "profiles", "auth_sessions", "account_tokens",
                 "recovery_codes", "audit_log", "audit_checkpoints", "stripe_events", "districts", "customers",
                 "customer_locations", "devices", "gauges", "device_versions", "exports", "test_records",
                 "device_photos", "customer_imports", "invoices", "invoice_counters", "payments", "price_items",
                 "notification_emails", "notification_log", "email_suppressions", "work_orders",
                 "work_order_devices", "work_order_lines", "scheduled_jobs", "schedule_versions",
                 "service_requests", "queued_jobs", "vendors")

SESSION_USER = "SELECT s.user_id FROM public.auth_sessions s WHERE s.id = public.auth_session_id()"
SESSION_VENDOR = ("SELECT p.vendor_id FROM public.auth_sessions s JOIN public.profiles p ON p.user_id = s.user_id "
                  "WHERE s.id = public.auth_session_id()")
LIVE = "s.revoked_at IS NULL AND s.expires_at > now() AND s.idle_expires_at > now()"
TOKEN = "sha256(convert_to(current_setting('app.session_token', true), 'UTF8'))"
# A vendor's session resolves only on the vendor role's connections.
OWN_ROLE = f"(NOT s.for_vendor OR session_user = '{ROLE_VENDOR}')"
RESOLVERS = (("auth_company_id", "company_id"), ("auth_session_id", "id"))


def _resolver(column: str, own_role: str) -> str:
    """0030's resolver, which the sessions' role rule joins here (and leaves again on the way down)."""
    return f"""
        DECLARE
            presented bytea := {TOKEN};
            resolved uuid;
        BEGIN
            SELECT s.{column} INTO resolved FROM public.auth_sessions s
            WHERE s.token_hash = presented AND {LIVE} AND {own_role};
            IF resolved IS NULL THEN
                SELECT s.{column} INTO resolved FROM public.auth_sessions s
                WHERE s.previous_token_hash = presented AND s.previous_token_expires_at > now() AND {LIVE}
                  AND {own_role};
            END IF;
            RETURN resolved;
        END
    """


MARK_VENDOR_SESSION = """
    BEGIN
        NEW.for_vendor := EXISTS (SELECT 1 FROM public.profiles p WHERE p.user_id = NEW.user_id AND p.role = 'vendor');
        RETURN NEW;
    END
"""

# The tip of the caller's own company's chain only: the last entry, else the checkpoint the pruning left, else none.
CHAIN_TIP = """
    SELECT l.seq, l.entry_hash FROM public.audit_log l WHERE l.company_id = public.auth_company_id()
    UNION ALL
    SELECT c.seq, c.entry_hash FROM public.audit_checkpoints c WHERE c.company_id = public.auth_company_id()
    ORDER BY 1 DESC LIMIT 1
"""


def _tenant_table(table: str, *, app_grants: str = "SELECT, INSERT, UPDATE, DELETE") -> None:
    """Forced row-level security on a tenant table and the roles' grants on it: 0035's, with the vendor policies
    of this revision, which a tenant table made later copies."""
    predicate = "company_id = (SELECT auth_company_id())"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_tenant_select ON {table} FOR SELECT USING ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_insert ON {table} FOR INSERT WITH CHECK ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_update ON {table} FOR UPDATE USING ({predicate}) "
               f"WITH CHECK ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_delete ON {table} FOR DELETE USING ({predicate})")
    if app_grants:
        op.execute(f'GRANT {app_grants} ON {table} TO "{ROLE_APP}"')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{ROLE_SERVICE}"')


def _vendor_policies(table: str, read: str | None, write: str | None) -> None:
    """What a vendor's session may read, write and delete of a table, on top of its tenant policies."""
    can_read = f"{IS_VENDOR} AND ({read or 'false'})"
    can_write = f"{IS_VENDOR} AND ({write or 'false'})"
    can_delete = can_write if table in VENDOR_DELETES else f"{IS_VENDOR} AND false"
    to = f'AS RESTRICTIVE FOR {{}} TO "{ROLE_VENDOR}"'
    op.execute(f"CREATE POLICY {table}_vendor_select ON {table} {to.format('SELECT')} USING ({can_read})")
    op.execute(f"CREATE POLICY {table}_vendor_insert ON {table} {to.format('INSERT')} WITH CHECK ({can_write})")
    op.execute(f"CREATE POLICY {table}_vendor_update ON {table} {to.format('UPDATE')} USING ({can_write}) "
               f"WITH CHECK ({can_write})")
    op.execute(f"CREATE POLICY {table}_vendor_delete ON {table} {to.format('DELETE')} USING ({can_delete})")


def _allow(roles: tuple[str, ...]) -> None:
    op.execute("ALTER TABLE profiles DROP CONSTRAINT profiles_role_check")
    op.execute("ALTER TABLE profiles ADD CONSTRAINT profiles_role_check CHECK (role IN ({}))".format(
        ", ".join(f"'{role}'" for role in roles)))


def _definer_function(signature: str, returns: str, body: str) -> None:
    """A function owned by the service role, which reads past row-level security, callable by the app role only."""
    op.execute("RESET ROLE")
    op.execute(f"""
        CREATE FUNCTION {signature} RETURNS {returns}
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = pg_catalog, public, pg_temp
        AS $$ {body} $$
    """)
    op.execute(f'ALTER FUNCTION {signature} OWNER TO "{ROLE_SERVICE}"')
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION {signature} TO "{ROLE_APP}"')
    op.execute(f'SET ROLE "{ROLE_OWNER}"')


def _resolvers(own_role: str) -> None:
    for name, column in RESOLVERS:
        # CREATE OR REPLACE keeps the owner (the service role), the pinned search_path and the grants.
        op.execute("RESET ROLE")
        op.execute(f"""
            CREATE OR REPLACE FUNCTION {name}() RETURNS uuid
            LANGUAGE plpgsql STABLE SECURITY DEFINER
            SET search_path = pg_catalog, public, pg_temp
            AS $$ {_resolver(column, own_role)} $$
        """)
        op.execute(f'SET ROLE "{ROLE_OWNER}"')


def upgrade() -> None:
    op.execute("""
        CREATE TABLE vendors (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            name varchar(200) NOT NULL,
            contact_email varchar(320),
            phone varchar(40),
            created_at timestamptz NOT NULL,
            CONSTRAINT vendors_name_key UNIQUE (company_id, name)
        )
    """)
    op.execute("CREATE INDEX ix_vendors_company_id ON vendors (company_id)")
    _tenant_table("vendors", app_grants="SELECT, INSERT, UPDATE")
    op.execute("ALTER TABLE profiles ADD COLUMN vendor_id uuid REFERENCES vendors (id)")
    op.execute("CREATE INDEX profiles_vendor_idx ON profiles (vendor_id) WHERE vendor_id IS NOT NULL")
    _allow(ROLES + ("vendor",))
    # A vendor's person without a vendor would be confined to nothing; one with a vendor is always a vendor.
    op.execute("ALTER TABLE profiles ADD CONSTRAINT profiles_vendor_check "
               "CHECK ((role = 'vendor') = (vendor_id IS NOT NULL))")
    op.execute("ALTER TABLE work_orders ADD COLUMN vendor_id uuid REFERENCES vendors (id)")
    op.execute("CREATE INDEX work_orders_vendor_idx ON work_orders (vendor_id) WHERE vendor_id IS NOT NULL")
    op.execute("ALTER TABLE gauges ADD COLUMN vendor_id uuid REFERENCES vendors (id)")
    op.execute("CREATE INDEX gauges_vendor_idx ON gauges (vendor_id) WHERE vendor_id IS NOT NULL")

    op.execute("ALTER TABLE auth_sessions ADD COLUMN for_vendor boolean NOT NULL DEFAULT false")
    op.execute("RESET ROLE")
    op.execute(f"""
        CREATE FUNCTION mark_vendor_session() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = pg_catalog, public, pg_temp
        AS $$ {MARK_VENDOR_SESSION} $$
    """)
    op.execute(f'ALTER FUNCTION mark_vendor_session() OWNER TO "{ROLE_SERVICE}"')
    op.execute("REVOKE ALL ON FUNCTION mark_vendor_session() FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION mark_vendor_session() TO "{ROLE_OWNER}"')  # to make the trigger
    op.execute(f'SET ROLE "{ROLE_OWNER}"')
    op.execute("CREATE TRIGGER auth_sessions_mark_vendor BEFORE INSERT ON auth_sessions "
               "FOR EACH ROW EXECUTE FUNCTION mark_vendor_session()")
    _resolvers(OWN_ROLE)

    _definer_function("auth_user_id()", "uuid", SESSION_USER)
    _definer_function("auth_vendor_id()", "uuid", SESSION_VENDOR)
    _definer_function("audit_chain_tip()", "TABLE (seq bigint, entry_hash bytea)", CHAIN_TIP)
    for table in TENANT_TABLES:
        read, write = VENDOR_RULES.get(table, (None, None))
        _vendor_policies(table, read, write)


def downgrade() -> None:
    for table in TENANT_TABLES:
        for command in ("select", "insert", "update", "delete"):
            op.execute(f"DROP POLICY {table}_vendor_{command} ON {table}")
    op.execute("RESET ROLE")
    for signature in ("audit_chain_tip()", "auth_vendor_id()", "auth_user_id()"):
        op.execute(f"DROP FUNCTION {signature}")
    op.execute(f'SET ROLE "{ROLE_OWNER}"')
    _resolvers("true")
    op.execute("DROP TRIGGER auth_sessions_mark_vendor ON auth_sessions")
    op.execute("RESET ROLE")
    op.execute("DROP FUNCTION mark_vendor_session()")
    # Before this revision a vendor's person would see the whole company: they are removed, with their sessions.
    op.execute("DELETE FROM auth_sessions WHERE for_vendor")
    op.execute("DELETE FROM profiles WHERE role = 'vendor'")
    op.execute(f'SET ROLE "{ROLE_OWNER}"')
    op.execute("ALTER TABLE auth_sessions DROP COLUMN for_vendor")
    op.execute("ALTER TABLE gauges DROP COLUMN vendor_id")
    op.execute("ALTER TABLE work_orders DROP COLUMN vendor_id")
    op.execute("ALTER TABLE profiles DROP CONSTRAINT profiles_vendor_check")
    _allow(ROLES)
    op.execute("ALTER TABLE profiles DROP COLUMN vendor_id")
    op.execute("DROP TABLE vendors")
