"""A device whose latest test failed, with no passing test since, needs repair: `devices.failed_on` holds the day
of that failed test (NULL otherwise), so every list can say so and the office can find them all at once.

Existing devices are settled from their tests as they stand (an amended test gives way to its amendment), as
the administrative role: the owner role, under forced row-level security, would see no rows.

Revision ID: 0025
Revises: 0024
"""
import os

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# The role names as flowtrack/core/config.py reads them when this revision was written.
ROLE_OWNER = os.environ.get("FLOWTRACK_DB_OWNER_ROLE", "flowtrack_owner")


def upgrade() -> None:
    op.execute("ALTER TABLE devices ADD COLUMN failed_on date")
    op.execute("CREATE INDEX devices_failed_idx ON devices (company_id, failed_on) WHERE failed_on IS NOT NULL")
    op.execute("RESET ROLE")
    op.execute("""
        WITH latest AS (
            SELECT DISTINCT ON (t.device_id) t.device_id, t.result, t.tested_at, t.company_id
            FROM test_records t
            WHERE NOT EXISTS (SELECT 1 FROM test_records n WHERE n.amends_id = t.id)
            ORDER BY t.device_id, t.tested_at DESC
        )
        UPDATE devices d SET failed_on = (latest.tested_at AT TIME ZONE c.timezone)::date
        FROM latest JOIN companies c ON c.id = latest.company_id
        WHERE latest.device_id = d.id AND latest.result = 'fail' AND d.status = 'active'
    """)
    op.execute(f'SET ROLE "{ROLE_OWNER}"')


def downgrade() -> None:
    op.execute("DROP INDEX devices_failed_idx")
    op.execute("ALTER TABLE devices DROP COLUMN failed_on")
