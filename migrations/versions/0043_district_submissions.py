"""Test reports to water districts the way each district takes them. A district says how (our district view,
email, its own portal, paper), its deadline in days after the test, its fee per test and whether the fee is
passed on to the customer, the fields it requires, whether it wants failed tests, its portal's address, whether
its view accepts clean reports by itself, and the columns of its batch file. Each test report has a submission
(`report_submissions`): held back with its reasons, to submit, submitted (how, when, by whom, the fee, the
district's confirmation number, in which batch), accepted or rejected (with the reason), and the submission it
resubmits after an amendment. A district's own list of assemblies (`district_assemblies`, imported from its CSV)
is what a test's device is matched against. `districts.email_reports` becomes the method 'email'. Locations get
the water account number and devices the meter number and the cross-connection type that district forms ask for.

Revision ID: 0043
Revises: 0042
"""
import os

from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")
ROLE_VENDOR = os.environ.get("FLOWTRACK_DB_VENDOR_ROLE", "flowtrack_vendor")
ROLE_OWNER = os.environ.get("FLOWTRACK_DB_OWNER_ROLE", "flowtrack_owner")


def _tenant_table(table: str, *, app_grants: str = "SELECT, INSERT, UPDATE, DELETE") -> None:
    """Forced row-level security on a tenant table and the roles' grants on it, with 0038's vendor policies for a
    table that shows a vendor nothing (0039's statements), copied so that the revision keeps its meaning whatever
    becomes of the app's code."""
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
    if app_grants:
        op.execute(f'GRANT {app_grants} ON {table} TO "{ROLE_APP}"')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{ROLE_SERVICE}"')


def _as_administrator(statement: str) -> None:
    """A statement over every company's rows: the owner role is held to forced row-level security (as in 0033)."""
    op.execute("RESET ROLE")
    op.execute(statement)
    op.execute(f'SET ROLE "{ROLE_OWNER}"')


def upgrade() -> None:
    op.execute("""
        ALTER TABLE districts
            ADD COLUMN submission_method varchar(16) NOT NULL DEFAULT 'paper'
                CONSTRAINT districts_submission_method_check
                CHECK (submission_method IN ('district_view', 'email', 'district_portal', 'paper')),
            ADD COLUMN deadline_days smallint
                CONSTRAINT districts_deadline_check CHECK (deadline_days BETWEEN 0 AND 365),
            ADD COLUMN fee_cents integer NOT NULL DEFAULT 0
                CONSTRAINT districts_fee_check CHECK (fee_cents BETWEEN 0 AND 100000),
            ADD COLUMN fee_passed_on boolean NOT NULL DEFAULT false,
            ADD COLUMN required_fields jsonb NOT NULL DEFAULT '[]',
            ADD COLUMN wants_failed boolean NOT NULL DEFAULT true,
            ADD COLUMN portal_url varchar(500),
            ADD COLUMN auto_accept boolean NOT NULL DEFAULT false,
            ADD COLUMN csv_columns jsonb
    """)
    _as_administrator("UPDATE districts SET submission_method = 'email' WHERE email_reports")
    op.execute("ALTER TABLE districts DROP COLUMN email_reports")
    op.execute("ALTER TABLE customer_locations ADD COLUMN water_account_number varchar(40)")
    op.execute("""
        ALTER TABLE devices
            ADD COLUMN meter_number varchar(40),
            ADD COLUMN cross_connection varchar(16) CONSTRAINT devices_cross_connection_check
                CHECK (cross_connection IN ('containment', 'isolation', 'fire_line', 'irrigation'))
    """)
    op.execute("""
        CREATE TABLE submission_batches (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            district_id uuid NOT NULL REFERENCES districts (id),
            created_by uuid REFERENCES users (id) ON DELETE SET NULL,
            created_at timestamptz NOT NULL,
            submitted_at timestamptz,
            submitted_by uuid REFERENCES users (id) ON DELETE SET NULL,
            confirmation_number varchar(100)
        )
    """)
    op.execute("""
        CREATE TABLE report_submissions (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            test_record_id uuid NOT NULL REFERENCES test_records (id),
            district_id uuid NOT NULL REFERENCES districts (id),
            status varchar(12) NOT NULL CONSTRAINT report_submissions_status_check
                CHECK (status IN ('held', 'to_submit', 'submitted', 'accepted', 'rejected')),
            method varchar(16) NOT NULL CONSTRAINT report_submissions_method_check
                CHECK (method IN ('district_view', 'email', 'district_portal', 'paper')),
            due_on date,
            held_reasons jsonb NOT NULL DEFAULT '[]',
            fee_cents integer NOT NULL DEFAULT 0 CONSTRAINT report_submissions_fee_check CHECK (fee_cents >= 0),
            submitted_at timestamptz,
            submitted_by uuid REFERENCES users (id) ON DELETE SET NULL,
            confirmation_number varchar(100),
            batch_id uuid REFERENCES submission_batches (id),
            decided_at timestamptz,
            decided_by uuid REFERENCES users (id) ON DELETE SET NULL,
            decision_reason varchar(1000),
            auto_accepted boolean NOT NULL DEFAULT false,
            resubmission_of uuid REFERENCES report_submissions (id),
            created_at timestamptz NOT NULL,
            CONSTRAINT report_submissions_test_key UNIQUE (test_record_id),
            CONSTRAINT report_submissions_rejected_check CHECK (status <> 'rejected' OR decision_reason IS NOT NULL)
        )
    """)
    op.execute("CREATE INDEX report_submissions_district_status_idx "
               "ON report_submissions (company_id, district_id, status, due_on)")
    op.execute("""
        CREATE TABLE district_assemblies (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            district_id uuid NOT NULL REFERENCES districts (id),
            serial varchar(64) NOT NULL,
            serial_key varchar(64) NOT NULL,
            address varchar(300) NOT NULL,
            address_key varchar(700) NOT NULL,
            water_account_number varchar(40),
            meter_number varchar(40),
            imported_at timestamptz NOT NULL
        )
    """)
    op.execute("CREATE INDEX district_assemblies_serial_idx "
               "ON district_assemblies (company_id, district_id, serial_key)")
    for table, columns in (
            ("submission_batches", ("company_id", "district_id", "created_by", "submitted_by")),
            ("report_submissions", ("district_id", "submitted_by", "batch_id", "decided_by", "resubmission_of")),
            ("district_assemblies", ("district_id",))):
        for column in columns:
            op.execute(f"CREATE INDEX ix_{table}_{column} ON {table} ({column})")
    _tenant_table("submission_batches")
    _tenant_table("report_submissions")
    _tenant_table("district_assemblies")


def downgrade() -> None:
    op.execute("DROP TABLE district_assemblies")
    op.execute("DROP TABLE report_submissions")
    op.execute("DROP TABLE submission_batches")
    op.execute("ALTER TABLE devices DROP COLUMN cross_connection, DROP COLUMN meter_number")
    op.execute("ALTER TABLE customer_locations DROP COLUMN water_account_number")
    op.execute("ALTER TABLE districts ADD COLUMN email_reports boolean NOT NULL DEFAULT false")
    _as_administrator("UPDATE districts SET email_reports = (submission_method = 'email')")
    op.execute("""
        ALTER TABLE districts DROP COLUMN submission_method, DROP COLUMN deadline_days, DROP COLUMN fee_cents,
            DROP COLUMN fee_passed_on, DROP COLUMN required_fields, DROP COLUMN wants_failed, DROP COLUMN portal_url,
            DROP COLUMN auto_accept, DROP COLUMN csv_columns
    """)
