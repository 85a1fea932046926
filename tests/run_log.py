"""Everything the code under test logs in a whole run, in one file, and the secrets it must never contain.

tests/conftest.py writes every log record of the run (and each worker process's output) to RUN_LOG;
the secrets the tests hand the app (passwords, session tokens, signing keys, link tokens) are remembered
here as they are made; tests/security/test_logs_hold_no_secrets.py, run last, reads the file for them.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

# One file per run (pytest process), so that two runs on one machine never write into each other's.
RUN_LOG = Path(__file__).parents[1] / "test-artifacts" / f"run-{os.getpid()}.log"
SECRETS: set[str] = set()


def remember_secret(value: str | None) -> str | None:
    if value and len(value) >= 8:
        SECRETS.add(value)
    return value


def start() -> logging.Handler:
    RUN_LOG.parent.mkdir(parents=True, exist_ok=True)
    RUN_LOG.write_text("", encoding="utf-8")
    # Appending (O_APPEND), so that the workers' output written by `append` is never overwritten.
    handler = logging.FileHandler(RUN_LOG, mode="a", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def append(label: str, text: str) -> None:
    """Output of a process the tests ran (a worker), which logs to its own stderr."""
    with RUN_LOG.open("a", encoding="utf-8") as log:
        log.write(f"--- {label}\n{text}\n")
