"""Alembic runs with the administrative DATABASE_URL, creates the roles, then builds
the schema as `flowtrack_owner` so that no login role owns a table."""
import sqlalchemy as sa
from alembic import context

import flowtrack.models  # noqa: F401  (registers every table on Base.metadata)
from flowtrack.core.config import ROLE_OWNER
from flowtrack.core.db import Base
from flowtrack.ops.schema import ensure_roles

config = context.config
url = config.get_main_option("sqlalchemy.url")
engine = sa.create_engine(url, poolclass=sa.pool.NullPool)

with engine.connect() as connection:
    ensure_roles(connection)
    connection.commit()
    connection.execute(sa.text(f'SET ROLE "{ROLE_OWNER}"'))
    context.configure(connection=connection, target_metadata=Base.metadata, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
engine.dispose()
