"""Tests recorded on a phone with no signal and sent later, with evidence of where and when they were taken.

`test_records.client_id` is the id the phone gave the record; unique per company, it makes a record sent twice
(a retry after a dropped connection) stored once. `steps` holds the phone's clock at each step of the form,
`clock_skew_seconds` how far the phone's clock was from the server's when it sent the record, the position
columns where the phone was (when the technician allowed it), and `flags` what the office should look at: a test
recorded far from its location, or readings entered impossibly fast. A location keeps coordinates, from its
first tests or set by the office; the company chooses how far is far.

Revision ID: 0027
Revises: 0026
"""
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        ALTER TABLE test_records
            ADD COLUMN client_id uuid,
            ADD COLUMN steps jsonb,
            ADD COLUMN clock_skew_seconds integer,
            ADD COLUMN latitude double precision,
            ADD COLUMN longitude double precision,
            ADD COLUMN position_accuracy_m real,
            ADD COLUMN flags jsonb NOT NULL DEFAULT '[]',
            ADD CONSTRAINT test_records_position_check CHECK (
                (latitude IS NULL) = (longitude IS NULL)
                AND (latitude IS NULL OR (latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180)))
    """)
    op.execute("CREATE UNIQUE INDEX test_records_client_idx ON test_records (company_id, client_id) "
               "WHERE client_id IS NOT NULL")
    op.execute("""
        ALTER TABLE customer_locations
            ADD COLUMN latitude double precision,
            ADD COLUMN longitude double precision,
            ADD COLUMN coordinates_source varchar(8),
            ADD CONSTRAINT customer_locations_coordinates_check CHECK (
                (latitude IS NULL) = (longitude IS NULL) AND (latitude IS NULL) = (coordinates_source IS NULL)
                AND (latitude IS NULL OR (latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180))
                AND coordinates_source IN ('tests', 'office'))
    """)
    op.execute("ALTER TABLE company_settings ADD COLUMN far_from_location_m integer NOT NULL DEFAULT 300 "
               "CONSTRAINT company_settings_far_check CHECK (far_from_location_m BETWEEN 50 AND 50000)")


def downgrade() -> None:
    op.execute("ALTER TABLE company_settings DROP COLUMN far_from_location_m")
    op.execute("ALTER TABLE customer_locations DROP COLUMN coordinates_source, DROP COLUMN longitude, "
               "DROP COLUMN latitude")
    op.execute("DROP INDEX test_records_client_idx")
    op.execute("ALTER TABLE test_records DROP CONSTRAINT test_records_position_check, DROP COLUMN flags, "
               "DROP COLUMN position_accuracy_m, DROP COLUMN longitude, DROP COLUMN latitude, "
               "DROP COLUMN clock_skew_seconds, DROP COLUMN steps, DROP COLUMN client_id")
