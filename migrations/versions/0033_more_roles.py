"""The roles of a testing company's office split as the work does: the office becomes the Manager, beside a
Scheduler, a Coordinator and an Inventory manager (what each may do is `flowtrack/core/permissions.py`).

The office's people are renamed as the administrative role: the owner role, under forced row-level security, would
see no rows.

Revision ID: 0033
Revises: 0032
"""
import os

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

# The role names as flowtrack/core/config.py reads them when this revision was written.
ROLE_OWNER = os.environ.get("FLOWTRACK_DB_OWNER_ROLE", "flowtrack_owner")
ROLES = ("company_admin", "manager", "scheduler", "coordinator", "inventory_manager", "technician", "auditor",
         "customer", "district_admin")
OLD_ROLES = ("company_admin", "office", "technician", "auditor", "customer", "district_admin")


def _allow(roles: tuple[str, ...]) -> None:
    op.execute("ALTER TABLE profiles DROP CONSTRAINT profiles_role_check")
    op.execute("ALTER TABLE profiles ADD CONSTRAINT profiles_role_check CHECK (role IN ({}))".format(
        ", ".join(f"'{role}'" for role in roles)))


def _as_administrator(statement: str) -> None:
    op.execute("RESET ROLE")
    op.execute(statement)
    op.execute(f'SET ROLE "{ROLE_OWNER}"')


def upgrade() -> None:
    _allow(ROLES + ("office",))
    _as_administrator("UPDATE profiles SET role = 'manager' WHERE role = 'office'")
    _allow(ROLES)


def downgrade() -> None:
    # The new roles have no older name: their people become the office again, which holds all they could do.
    _allow(ROLES + ("office",))
    _as_administrator("UPDATE profiles SET role = 'office' WHERE role IN ('manager', 'scheduler', 'coordinator', "
                      "'inventory_manager')")
    _allow(OLD_ROLES)
