"""A customer's contact, such as its property manager, signs in to the portal as a Requester: asks for service at
the customer's places and follows it, and sees the customer's invoices only when the office ticked
`profiles.may_see_invoices` for that person. Requests carry photos (`service_request_photos`, the files in the file
store), and the key of the form they were sent with (`service_requests.form_key`, once a company): a double click
on "Send the request" made two requests.

Revision ID: 0039
Revises: 0038
"""
import os

from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

# The role names as flowtrack/core/config.py reads them when this revision was written.
ROLE_OWNER = os.environ.get("FLOWTRACK_DB_OWNER_ROLE", "flowtrack_owner")
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")
ROLE_VENDOR = os.environ.get("FLOWTRACK_DB_VENDOR_ROLE", "flowtrack_vendor")
ROLES = ("company_admin", "manager", "scheduler", "coordinator", "inventory_manager", "technician", "auditor",
         "vendor", "customer", "district_admin")


def _allow(roles: tuple[str, ...]) -> None:
    op.execute("ALTER TABLE profiles DROP CONSTRAINT profiles_role_check")
    op.execute("ALTER TABLE profiles ADD CONSTRAINT profiles_role_check CHECK (role IN ({}))".format(
        ", ".join(f"'{role}'" for role in roles)))


def _tenant_table(table: str, *, app_grants: str) -> None:
    """Forced row-level security on a tenant table and the roles' grants on it, with 0038's vendor policies for a
    table that shows a vendor nothing: the statements of 0038, copied so that the revision keeps its meaning
    whatever becomes of the app's code."""
    predicate = "company_id = (SELECT auth_company_id())"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_tenant_select ON {table} FOR SELECT USING ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_insert ON {table} FOR INSERT WITH CHECK ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_update ON {table} FOR UPDATE USING ({predicate}) "
               f"WITH CHECK ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_delete ON {table} FOR DELETE USING ({predicate})")
    nothing = "(SELECT auth_vendor_id()) IS NOT NULL AND false"
    to = f'AS RESTRICTIVE FOR {{}} TO "{ROLE_VENDOR}"'
    op.execute(f"CREATE POLICY {table}_vendor_select ON {table} {to.format('SELECT')} USING ({nothing})")
    op.execute(f"CREATE POLICY {table}_vendor_insert ON {table} {to.format('INSERT')} WITH CHECK ({nothing})")
    op.execute(f"CREATE POLICY {table}_vendor_update ON {table} {to.format('UPDATE')} USING ({nothing}) "
               f"WITH CHECK ({nothing})")
    op.execute(f"CREATE POLICY {table}_vendor_delete ON {table} {to.format('DELETE')} USING ({nothing})")
    op.execute(f'GRANT {app_grants} ON {table} TO "{ROLE_APP}"')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{ROLE_SERVICE}"')


def upgrade() -> None:
    _allow(ROLES + ("requester",))
    op.execute("ALTER TABLE profiles ADD COLUMN may_see_invoices boolean NOT NULL DEFAULT false")
    op.execute("ALTER TABLE service_requests ADD COLUMN form_key uuid")
    op.execute("CREATE UNIQUE INDEX service_requests_form_key_idx ON service_requests (company_id, form_key) "
               "WHERE form_key IS NOT NULL")
    op.execute("""
        CREATE TABLE service_request_photos (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            request_id uuid NOT NULL REFERENCES service_requests (id),
            uploaded_by uuid REFERENCES users (id) ON DELETE SET NULL,
            width integer NOT NULL,
            height integer NOT NULL,
            byte_size integer NOT NULL,
            created_at timestamptz NOT NULL
        )
    """)
    op.execute("CREATE INDEX service_request_photos_request_idx ON service_request_photos "
               "(company_id, request_id, created_at)")
    op.execute("CREATE INDEX ix_service_request_photos_request_id ON service_request_photos (request_id)")
    op.execute("CREATE INDEX ix_service_request_photos_uploaded_by ON service_request_photos (uploaded_by)")
    # A photo stays with its request, as the request stays: the app adds them, never changes or removes them.
    _tenant_table("service_request_photos", app_grants="SELECT, INSERT")


def downgrade() -> None:
    op.execute("DROP TABLE service_request_photos")
    op.execute("DROP INDEX service_requests_form_key_idx")
    op.execute("ALTER TABLE service_requests DROP COLUMN form_key")
    # Before this revision a portal sign-in saw the customer's invoices: a requester is stopped rather than shown
    # more than the office allowed (the office can invite them again as a portal customer).
    op.execute("RESET ROLE")
    op.execute("UPDATE users SET is_active = false WHERE id IN (SELECT user_id FROM profiles WHERE role = 'requester')")
    op.execute("UPDATE profiles SET role = 'customer' WHERE role = 'requester'")
    op.execute(f'SET ROLE "{ROLE_OWNER}"')
    op.execute("ALTER TABLE profiles DROP COLUMN may_see_invoices")
    _allow(ROLES)
