"""Real servers for tests that need more than the suite's one embedded PostgreSQL: a primary with a streaming
replica (pgserver's PostgreSQL 16 binaries, `pg_basebackup -R`), each listening on its own loopback address, as
two database hosts would.

PostgreSQL refuses to run as root; as root (CI) the servers run as pgserver's own system user, as the embedded
server does.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pgserver
import sqlalchemy as sa

BIN = Path(pgserver.__file__).parent / "pginstall" / "bin"
SYSTEM_USER = "pgserver" if os.geteuid() == 0 else None
SUPERUSER = "postgres"

# Trust on loopback only: these servers live for one test run on one machine.
HBA = """\
local all all trust
host all all 127.0.0.0/8 trust
local replication all trust
host replication all 127.0.0.0/8 trust
"""


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _prepare_for_system_user(folder: Path) -> None:
    if SYSTEM_USER is None:
        return
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(BIN)
    ensure_folder_permissions(BIN, 0o555)
    ensure_folder_permissions(BIN.parent / "lib", 0o444)
    ensure_prefix_permissions(folder)
    shutil.chown(folder, SYSTEM_USER, SYSTEM_USER)


def _run(*command: str) -> None:
    subprocess.run([str(BIN / command[0]), *command[1:]], check=True, capture_output=True, text=True,
                   user=SYSTEM_USER, timeout=120)


class PostgresNode:
    """One PostgreSQL server: its data folder, its address, and its process (started with pg_ctl, stopped fast)."""

    def __init__(self, data: Path, host: str, port: int):
        self.data, self.host, self.port = data, host, port
        self.log_file = data.with_suffix(".log")  # outside the data folder, which pg_basebackup copies

    def url(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        return f"postgresql+psycopg://{user}@{self.host}:{self.port}/{database}"

    def start(self) -> None:
        _run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-l", str(self.log_file),
             "-o", f"-h {self.host} -p {self.port} -k {self.data}", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            _run("pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def scalar(self, sql: str, database: str = "postgres"):
        """The first value `sql` returns (None for a statement that returns no rows), run on its own."""
        engine = sa.create_engine(self.url(database), poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                result = connection.execute(sa.text(sql))
                return result.scalar() if result.returns_rows else None
        finally:
            engine.dispose()


class ReplicatedPostgres:
    """A primary (`wal_level=replica`) and a hot standby made from it with `pg_basebackup -R`, streaming."""

    def __init__(self, primary_host: str = "127.0.0.1", replica_host: str = "127.0.0.1", *,
                 log_statements: bool = False):
        """`log_statements`: every statement in each server's log, with its role (to see which server ran what)."""
        self.log_statements = log_statements
        self.root = Path(tempfile.mkdtemp(prefix="flowtrack-replicated-"))
        _prepare_for_system_user(self.root)
        self.primary = PostgresNode(self.root / "primary", primary_host, free_port(primary_host))
        self.replica = PostgresNode(self.root / "replica", replica_host, free_port(replica_host))

    def start(self, database: str) -> None:
        """Both servers up, `database` created on the primary and present on the replica."""
        _run("initdb", "-D", str(self.primary.data), "-U", SUPERUSER, "--auth=trust", "--encoding=utf8",
             "--no-sync")
        (self.primary.data / "pg_hba.conf").write_text(HBA)
        with (self.primary.data / "postgresql.conf").open("a") as conf:
            conf.write("wal_level = replica\nmax_wal_senders = 4\nfsync = off\nmax_connections = 200\n")
            if self.log_statements:
                conf.write("log_statement = 'all'\nlog_line_prefix = '%u@%d '\n")
        self.primary.start()
        self.primary.scalar(f'CREATE DATABASE "{database}"')
        _run("pg_basebackup", "-h", self.primary.host, "-p", str(self.primary.port), "-U", SUPERUSER,
             "-D", str(self.replica.data), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync")
        with (self.replica.data / "postgresql.conf").open("a") as conf:
            # Long reads (an export's COPY) are not cancelled by the primary's vacuum of rows they still see.
            conf.write("hot_standby = on\nhot_standby_feedback = on\n")
        self.replica.start()
        self.wait_until_streaming()

    def wait_until_streaming(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.primary.scalar("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") < 1:
            if time.monotonic() > deadline:
                raise TimeoutError("the replica did not start streaming")
            time.sleep(0.1)

    def caught_up(self, timeout: float = 30) -> None:
        """Wait until the replica has replayed everything the primary has written so far."""
        lsn = self.primary.scalar("SELECT pg_current_wal_lsn()::text")
        deadline = time.monotonic() + timeout
        while not self.replica.scalar(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"):
            if time.monotonic() > deadline:
                raise TimeoutError("the replica did not catch up")
            time.sleep(0.05)

    def stop(self) -> None:
        for node in (self.replica, self.primary):
            try:
                node.stop()
            except subprocess.CalledProcessError:
                pass  # already down (a test stopped it)
        shutil.rmtree(self.root, ignore_errors=True)
