"""The README's first command: `flowtrack dev` on a machine with only Python."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import psutil
import pytest
import sqlalchemy as sa

from flowtrack.core.permissions import Role
from flowtrack.models.accounts import User
from flowtrack.models.companies import Company
from flowtrack.ops.seed import DEMO_PASSWORD, demo_logins, seed_demo
from tests.factories import file_store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_flowtrack_dev_runs_everything_embedded_and_demo_logins_work(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env["FLOWTRACK_INSTANCE_PATH"] = str(tmp_path / "instance")
    process = subprocess.Popen([sys.executable, "-m", "flowtrack.ops.cli", "dev", "--port", str(port)], env=env,
                               cwd=Path(__file__).parents[2], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "flowtrack dev did not come up"
                time.sleep(0.5)
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        login_page = opener.open(base + "/login").read().decode()
        token = re.search(r'name="csrf-token" content="([^"]+)"', login_page).group(1)
        form = urlencode({"csrf_token": token, "email": "office@bravo.test", "password": DEMO_PASSWORD}).encode()
        dashboard = opener.open(base + "/login", data=form).read().decode()
        assert "Bravo Testing" in dashboard and "Olivia Office" in dashboard
    finally:
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode is not None

    assert "admin@acme.test" in output and "district@bravo.test" in output
    assert (tmp_path / "instance" / "pgdata" / "PG_VERSION").exists()  # the data stays...
    pid_file = tmp_path / "instance" / "pgdata" / "postmaster.pid"
    for _ in range(50):  # ...and the server stopped (a fast shutdown can take a moment under load)
        if not pid_file.exists():
            break
        time.sleep(0.2)
    assert not pid_file.exists(), output[-4000:]
    assert not [p for p in psutil.process_iter(["name", "cwd"])
                if p.info["name"] == "redis-server" and str(tmp_path) in (p.info["cwd"] or "")]


def test_demo_data_loads_once_and_never_in_production(app):
    db, files = app.extensions["flowtrack.db"], file_store(app)
    with app.app_context():  # as `flowtrack seed demo` runs it: the demo's invoices are printed
        # Another story of this run (the demo's bookings, its quote) may have loaded the demo already.
        first = seed_demo(db, production=False, storage=files)
        assert [c.name for c in first] in (["Acme Backflow", "Bravo Testing"], [])
        assert seed_demo(db, production=False, storage=files) == []
        with db.service() as session:
            assert session.scalars(sa.select(Company.name).join(User, User.company_id == Company.id)
                                   .where(User.email.in_(("admin@acme.test", "admin@bravo.test")))
                                   .order_by(Company.name)).all() == ["Acme Backflow", "Bravo Testing"]
        assert len(demo_logins()) == 2 * len(Role)  # one person of each role in each company
        with pytest.raises(RuntimeError):
            seed_demo(db, production=True, storage=files)


def test_production_refuses_a_weak_secret_key(monkeypatch, tmp_path):
    from flowtrack.core.config import load_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://x@localhost/x")
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_settings(tmp_path, {"ENV": "production", "SECRET_KEY": "dev"})
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_settings(tmp_path, {"ENV": "production"})
    assert load_settings(tmp_path, {"ENV": "production", "SECRET_KEY": "x" * 40}).production
