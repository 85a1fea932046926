"""Help in the field from models on our own servers: voice notes recorded with a test (the audio kept with the test
like its photos, transcribed by a job, the transcript proposed as the test's remarks) and dataplate photos read by
OCR into a proposed manufacturer, model, size and serial for a new or replacing device.

A voice note stays with its test: the app role inserts it and updates only its transcript's progress and the
decision on the proposed remarks, never the audio's facts, and deletes none (the sweep, as the service role, does).
A vendor's people see and write the voice notes of their own tests, as their photos (0038's rules); dataplate reads
show a vendor nothing (adding devices is the office's).

Revision ID: 0046
Revises: 0045
"""
import os

from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

# The role names as flowtrack/core/config.py reads them when this revision was written.
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")
ROLE_VENDOR = os.environ.get("FLOWTRACK_DB_VENDOR_ROLE", "flowtrack_vendor")

IS_VENDOR = "(SELECT auth_vendor_id()) IS NOT NULL"
VENDORS_PEOPLE = "(SELECT p.user_id FROM profiles p WHERE p.vendor_id = (SELECT auth_vendor_id()))"
# 0038's rule for device_photos, for the voice notes a vendor's person records with their tests.
VOICE_NOTES_OF_VENDOR = f"recorded_by IN {VENDORS_PEOPLE} AND device_id IN (SELECT d.id FROM devices d)"

VOICE_NOTE_UPDATES = ("transcript_status", "transcript_progress", "transcript", "transcribed_at", "decision",
                      "decided_by", "decided_at", "amendment_id")


def _tenant_table(table: str, *, app_grants: str, vendor_rule: str | None = None) -> None:
    """Forced row-level security on a tenant table and the roles' grants on it, with 0038's vendor policies: the
    vendor's `vendor_rule` for reading and writing (never deleting), or nothing at all without one."""
    predicate = "company_id = (SELECT auth_company_id())"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_tenant_select ON {table} FOR SELECT USING ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_insert ON {table} FOR INSERT WITH CHECK ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_update ON {table} FOR UPDATE USING ({predicate}) "
               f"WITH CHECK ({predicate})")
    op.execute(f"CREATE POLICY {table}_tenant_delete ON {table} FOR DELETE USING ({predicate})")
    allowed = f"{IS_VENDOR} AND ({vendor_rule or 'false'})"
    nothing = f"{IS_VENDOR} AND false"
    to = f'AS RESTRICTIVE FOR {{}} TO "{ROLE_VENDOR}"'
    op.execute(f"CREATE POLICY {table}_vendor_select ON {table} {to.format('SELECT')} USING ({allowed})")
    op.execute(f"CREATE POLICY {table}_vendor_insert ON {table} {to.format('INSERT')} WITH CHECK ({allowed})")
    op.execute(f"CREATE POLICY {table}_vendor_update ON {table} {to.format('UPDATE')} USING ({allowed}) "
               f"WITH CHECK ({allowed})")
    op.execute(f"CREATE POLICY {table}_vendor_delete ON {table} {to.format('DELETE')} USING ({nothing})")
    op.execute(f'GRANT {app_grants} ON {table} TO "{ROLE_APP}"')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO "{ROLE_SERVICE}"')


def upgrade() -> None:
    op.execute("""
        CREATE TABLE voice_notes (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            device_id uuid NOT NULL REFERENCES devices (id),
            test_record_id uuid NOT NULL REFERENCES test_records (id),
            recorded_by uuid NOT NULL REFERENCES users (id),
            content_type varchar(40) NOT NULL,
            duration_seconds real NOT NULL,
            byte_size integer NOT NULL,
            created_at timestamptz NOT NULL,
            transcript_status varchar(8) NOT NULL CONSTRAINT voice_notes_transcript_status_check
                CHECK (transcript_status IN ('queued', 'running', 'done', 'failed')),
            transcript_progress smallint NOT NULL CONSTRAINT voice_notes_progress_check
                CHECK (transcript_progress BETWEEN 0 AND 100),
            transcript varchar(4000),
            transcribed_at timestamptz,
            decision varchar(10) CONSTRAINT voice_notes_decision_check CHECK (decision IN ('accepted', 'dismissed')),
            decided_by uuid REFERENCES users (id),
            decided_at timestamptz,
            amendment_id uuid REFERENCES test_records (id)
        )
    """)
    for index, column in (("ix_voice_notes_company_id", "company_id"), ("voice_notes_device_idx", "device_id"),
                          ("voice_notes_test_record_idx", "test_record_id"),
                          ("voice_notes_recorded_by_idx", "recorded_by"), ("voice_notes_decided_by_idx", "decided_by"),
                          ("voice_notes_amendment_idx", "amendment_id")):
        op.execute(f"CREATE INDEX {index} ON voice_notes ({column})")
    _tenant_table("voice_notes", app_grants=f"SELECT, INSERT, UPDATE ({', '.join(VOICE_NOTE_UPDATES)})",
                  vendor_rule=VOICE_NOTES_OF_VENDOR)

    op.execute("""
        CREATE TABLE dataplate_reads (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            location_id uuid NOT NULL REFERENCES customer_locations (id),
            replacing_id uuid REFERENCES devices (id),
            uploaded_by uuid NOT NULL REFERENCES users (id),
            width integer NOT NULL,
            height integer NOT NULL,
            status varchar(8) NOT NULL CONSTRAINT dataplate_reads_status_check
                CHECK (status IN ('queued', 'running', 'done', 'failed')),
            progress smallint NOT NULL CONSTRAINT dataplate_reads_progress_check CHECK (progress BETWEEN 0 AND 100),
            lines jsonb NOT NULL,
            proposal jsonb NOT NULL,
            created_at timestamptz NOT NULL,
            read_at timestamptz
        )
    """)
    for index, column in (("ix_dataplate_reads_company_id", "company_id"),
                          ("dataplate_reads_location_idx", "location_id"),
                          ("dataplate_reads_replacing_idx", "replacing_id"),
                          ("dataplate_reads_uploaded_by_idx", "uploaded_by")):
        op.execute(f"CREATE INDEX {index} ON dataplate_reads ({column})")
    _tenant_table("dataplate_reads", app_grants="SELECT, INSERT, UPDATE, DELETE")


def downgrade() -> None:
    op.execute("DROP TABLE dataplate_reads")
    op.execute("DROP TABLE voice_notes")
