"""The migrations have one head, stand on their own, and take both an empty database and one left at the old
graph's four heads to that head (see migrations/README)."""
import ast
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from flowtrack.core.config import sqlalchemy_url
from flowtrack.ops.migrate import alembic_config
from tests.operations.test_backup_drill import _new_database

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"
# The heads the graph had before the merge revision: databases upgraded with "heads" until then stand here.
OLD_HEADS = {"0004", "0005", "0010", "0022"}


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("postgresql+psycopg://unused"))


def _versions_of(url: str) -> set[str]:
    engine = sa.create_engine(sqlalchemy_url(url), poolclass=sa.pool.NullPool)
    with engine.connect() as c:
        versions = set(c.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    engine.dispose()
    return versions


def test_the_migrations_have_exactly_one_head():
    heads = _script().get_heads()
    assert len(heads) == 1, f"more than one head: {sorted(heads)}; add a merge revision"


def test_no_migration_imports_the_app():
    files = sorted(VERSIONS.glob("*.py"))
    assert len(files) > 20
    for path in files:
        imported = []
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                imported += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                imported.append(node.module or "")
        app_imports = [name for name in imported if name == "flowtrack" or name.startswith("flowtrack.")]
        assert not app_imports, f"{path.name} imports {app_imports}: copy what it needs into the revision"


def test_an_empty_database_upgrades_to_the_head(app):
    with _new_database(app) as url:
        command.upgrade(alembic_config(url), "head")
        assert _versions_of(url) == set(_script().get_heads())


def test_a_database_at_the_four_old_heads_upgrades_to_the_one_head(app):
    with _new_database(app) as url:
        config = alembic_config(url)
        for revision in sorted(OLD_HEADS):
            command.upgrade(config, revision)
        assert _versions_of(url) == OLD_HEADS
        command.upgrade(config, "head")
        assert _versions_of(url) == set(_script().get_heads())
