"""Cards on file and autopay: a customer's saved card (Stripe's customer and payment method on the company's
account, with the brand, last four digits and expiry shown to people) and their consent to autopay (when, the
words they agreed to, from which IP, by whom); and each attempt to charge an invoice to it (one row per invoice
and attempt: the PaymentIntent, the outcome, the day of the next attempt).

Revision ID: 0042
Revises: 0041
"""
import os

from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")
ROLE_VENDOR = os.environ.get("FLOWTRACK_DB_VENDOR_ROLE", "flowtrack_vendor")


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


def upgrade() -> None:
    op.execute("""
        CREATE TABLE saved_cards (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            customer_id uuid NOT NULL REFERENCES customers (id),
            stripe_customer_id varchar(100) NOT NULL,
            payment_method_id varchar(100) NOT NULL,
            brand varchar(20) NOT NULL,
            last4 varchar(4) NOT NULL,
            exp_month smallint NOT NULL,
            exp_year smallint NOT NULL,
            saved_by uuid REFERENCES users (id) ON DELETE SET NULL,
            saved_at timestamptz NOT NULL,
            removed_at timestamptz,
            removed_by uuid REFERENCES users (id) ON DELETE SET NULL,
            autopay_since timestamptz,
            autopay_consent_text varchar(1000),
            autopay_consent_ip varchar(45),
            autopay_consented_by uuid REFERENCES users (id) ON DELETE SET NULL,
            autopay_stopped_at timestamptz,
            CONSTRAINT saved_cards_consent_check CHECK (autopay_since IS NULL OR autopay_consent_text IS NOT NULL)
        )
    """)
    op.execute("CREATE UNIQUE INDEX saved_cards_one_live_card ON saved_cards (company_id, customer_id) "
               "WHERE removed_at IS NULL")
    op.execute("""
        CREATE TABLE autopay_charges (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            invoice_id uuid NOT NULL REFERENCES invoices (id),
            card_id uuid NOT NULL REFERENCES saved_cards (id),
            attempt smallint NOT NULL CONSTRAINT autopay_charges_attempt_check CHECK (attempt BETWEEN 1 AND 10),
            amount_cents integer NOT NULL CONSTRAINT autopay_charges_amount_check CHECK (amount_cents > 0),
            payment_intent_id varchar(100),
            status varchar(20) NOT NULL CONSTRAINT autopay_charges_status_check
                CHECK (status IN ('submitted', 'paid', 'declined', 'needs_confirmation')),
            failure varchar(500),
            next_attempt_on date,
            created_at timestamptz NOT NULL,
            CONSTRAINT autopay_charges_invoice_attempt_key UNIQUE (invoice_id, attempt)
        )
    """)
    op.execute("CREATE INDEX autopay_charges_retry_idx ON autopay_charges (next_attempt_on) "
               "WHERE next_attempt_on IS NOT NULL")
    for table, columns in (("saved_cards", ("company_id", "customer_id", "saved_by", "removed_by",
                                            "autopay_consented_by")),
                           ("autopay_charges", ("company_id", "card_id"))):
        for column in columns:
            op.execute(f"CREATE INDEX ix_{table}_{column} ON {table} ({column})")
    _tenant_table("saved_cards")
    _tenant_table("autopay_charges")


def downgrade() -> None:
    op.execute("DROP TABLE autopay_charges")
    op.execute("DROP TABLE saved_cards")
