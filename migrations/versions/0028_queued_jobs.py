"""Jobs that must not be lost wait in PostgreSQL until a worker starts them (flowtrack/core/queue.py): written in
the transaction that made their rows, handed to Redis after it commits, taken by the worker that starts the job
and dropped once it has run. A cron job hands over again what no worker started, when Redis was down or lost its queue.

Revision ID: 0028
Revises: 0027
"""
import os

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

# The role names as flowtrack.config read them when this revision was written.
ROLE_APP = os.environ.get("FLOWTRACK_DB_APP_ROLE", "flowtrack_app")
ROLE_SERVICE = os.environ.get("FLOWTRACK_DB_SERVICE_ROLE", "flowtrack_service")


def upgrade() -> None:
    op.execute("""
        CREATE TABLE queued_jobs (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL REFERENCES companies (id),
            function varchar(200) NOT NULL,
            arguments jsonb NOT NULL,
            description varchar(200) NOT NULL DEFAULT '',
            retry jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            sent_at timestamptz,
            sends integer NOT NULL DEFAULT 0,
            started_job varchar(64)
        )
    """)
    op.execute("CREATE INDEX ix_queued_jobs_company_id ON queued_jobs (company_id)")
    op.execute("CREATE INDEX queued_jobs_created_idx ON queued_jobs (created_at)")
    # Forced row-level security, as on every tenant table: the app writes its company's jobs only; the worker
    # and the cron job take and resend them as the service role.
    predicate = "company_id = (SELECT auth_company_id())"
    op.execute("ALTER TABLE queued_jobs ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE queued_jobs FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY queued_jobs_tenant_select ON queued_jobs FOR SELECT USING ({predicate})")
    op.execute(f"CREATE POLICY queued_jobs_tenant_insert ON queued_jobs FOR INSERT WITH CHECK ({predicate})")
    op.execute(f"CREATE POLICY queued_jobs_tenant_update ON queued_jobs FOR UPDATE USING ({predicate}) "
               f"WITH CHECK ({predicate})")
    op.execute(f"CREATE POLICY queued_jobs_tenant_delete ON queued_jobs FOR DELETE USING ({predicate})")
    op.execute(f'GRANT SELECT, INSERT ON queued_jobs TO "{ROLE_APP}"')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON queued_jobs TO "{ROLE_SERVICE}"')


def downgrade() -> None:
    op.execute("DROP TABLE queued_jobs")
