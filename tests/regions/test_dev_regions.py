"""`flowtrack dev --regions us,ca`: two embedded PostgreSQL servers and two Redis, a worker and a cron each, and a
demo Canadian company whose people sign in to Canada."""
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
import sqlalchemy as sa

from flowtrack.core.config import sqlalchemy_url
from flowtrack.ops.seed import DEMO_PASSWORD


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _signed_in(base: str, email: str):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    login_page = opener.open(base + "/login", timeout=30).read().decode()
    token = re.search(r'name="csrf-token" content="([^"]+)"', login_page).group(1)
    opener.open(base + "/login", data=urlencode({"csrf_token": token, "email": email,
                                                 "password": DEMO_PASSWORD}).encode(), timeout=30).read()
    return opener


def test_flowtrack_dev_with_two_regions_runs_a_canadian_demo_company_in_its_own_database(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FILE_STORAGE_URL") and not k.startswith("CA_")}
    env["FLOWTRACK_INSTANCE_PATH"] = str(tmp_path / "instance")
    # Six children (a worker and a cron per region) log to it: into a file, not a pipe nobody reads until the end,
    # whose full buffer would stop them all.
    log = (tmp_path / "dev.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "flowtrack.ops.cli", "dev", "--port", str(port),
                                "--regions", "us,ca"], env=env, cwd=Path(__file__).parents[2],
                               stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert process.poll() is None, (tmp_path / "dev.log").read_text()[-4000:]
                assert time.monotonic() < deadline, "flowtrack dev did not come up"
                time.sleep(0.5)
        canadian = _signed_in(base, "admin@erable.test")
        settings = canadian.open(base + "/settings/", timeout=30).read().decode()
        assert "Érable Backflow" in settings and "Data region: <strong>Canada</strong>" in settings
        american = _signed_in(base, "admin@acme.test")
        home = american.open(base + "/settings/", timeout=30).read().decode()
        assert "Data region: <strong>United States</strong>" in home
        # The Canadian company is in Canada's server alone.
        ca_socket = tmp_path / "instance" / "region-ca" / "pgdata"
        us_socket = tmp_path / "instance" / "pgdata"
        for folder, expected in ((ca_socket, 1), (us_socket, 0)):
            engine = sa.create_engine(sqlalchemy_url(f"postgresql://postgres@/flowtrack?host={folder}"),
                                      poolclass=sa.pool.NullPool)
            with engine.connect() as connection:
                found = connection.execute(sa.text("SELECT count(*) FROM companies WHERE name = 'Érable Backflow'"))
                assert found.scalar() == expected, folder
            engine.dispose()
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
        log.close()
    output = (tmp_path / "dev.log").read_text()
    assert "admin@erable.test" in output and "admin@acme.test" in output
    for folder in (tmp_path / "instance" / "pgdata", tmp_path / "instance" / "region-ca" / "pgdata"):
        pid_file = folder / "postmaster.pid"
        for _ in range(100):
            if not pid_file.exists():
                break
            time.sleep(0.2)
        assert not pid_file.exists(), output[-4000:]
    assert not [p for p in psutil.process_iter(["name", "cwd"])
                if p.info["name"] == "redis-server" and str(tmp_path) in (p.info["cwd"] or "")]
