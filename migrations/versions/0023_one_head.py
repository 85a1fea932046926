"""One head: merges the four heads the graph had grown (0004 lifecycle, 0005 exports, 0010 the PL/pgSQL tenant
resolver, 0022 device versions), so that `alembic upgrade head` has one place to go and every later revision
has one parent. No schema change: each branch touches its own tables (0010 replaces 0001's functions), so
they may run in any order.

Revision ID: 0023
Revises: 0004, 0005, 0010, 0022
"""
revision = "0023"
down_revision = ("0004", "0005", "0010", "0022")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
