"""The counters that the week board and the dashboard keep their caches under (0021, 0022) are moved only once the
writer holds its company's audit lock, taken by the same trigger.

Each counter is one row a company, locked by every write it counts until the writer commits; the audit chain's
advisory lock (flowtrack/core/db.py, `lock_company_chain`) is held from a writer's first audit entry until it
commits. A job started writes its work order (the counter) and then audits; a test recorded before Start audits its
device (the lock) and then puts its job under way (the counter). Two such requests at once in one company each held
what the other waited for, and PostgreSQL broke the deadlock by failing one of them (found by bench/soak.py). Taking
the audit lock first, in the trigger, gives every writer one order: the audit lock, then the counter. The key is
`lock_company_chain`'s, `hashtextextended(company id as text, 0)`, and the lock is reentrant, so a writer that holds it
already goes on.

Revision ID: 0036
Revises: 0035
"""
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

# (function, counter table, the company's id in `changed`, the companies that count): the triggers' functions of
# 0021 and 0022, which leave a tombstoned company's counter alone.
COUNTERS = (
    ("bump_schedule_version", "schedule_versions", "changed.company_id",
     "FROM changed JOIN companies c ON c.id = changed.company_id AND c.tombstoned_at IS NULL"),
    ("bump_company_schedule_version", "schedule_versions", "changed.id",
     "FROM changed WHERE changed.tombstoned_at IS NULL"),
    ("bump_device_version", "device_versions", "changed.company_id",
     "FROM changed JOIN companies c ON c.id = changed.company_id AND c.tombstoned_at IS NULL"),
)


def _function(name: str, table: str, company: str, counted: str, *, audit_lock_first: bool) -> str:
    lock = f"""
            PERFORM pg_advisory_xact_lock(hashtextextended(locked.id::text, 0))
            FROM (SELECT DISTINCT {company} AS id {counted} ORDER BY 1) locked;""" if audit_lock_first else ""
    return f"""
        CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN{lock}
            INSERT INTO {table} AS v (company_id)
            SELECT DISTINCT {company} {counted}
            ON CONFLICT (company_id) DO UPDATE SET version = v.version + 1;
            RETURN NULL;
        END $$
    """


def upgrade() -> None:
    for counter in COUNTERS:
        op.execute(_function(*counter, audit_lock_first=True))


def downgrade() -> None:
    for counter in COUNTERS:
        op.execute(_function(*counter, audit_lock_first=False))
