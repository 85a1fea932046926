"""Shared plumbing for benchmarks: an app on the bench database, and measuring a step in its own process."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("FLOWTRACK_INSTANCE_PATH", str(ROOT / "instance-bench"))
sys.path.insert(0, str(ROOT))


def bench_app():
    from flowtrack import create_app
    from flowtrack.ops import migrate

    app = create_app()
    migrate.upgrade(app.extensions["flowtrack.settings"].database_url)
    return app


def seed_large_company(app, **options):
    """The large company's id, after seeding what it lacks (and then VACUUM ANALYZE, as the tables' owner)."""
    from flowtrack.ops.seed_large import seed_large

    return seed_large(app.extensions["flowtrack.db"], owner_url=app.extensions["flowtrack.settings"].database_url,
                      **options)


def measure_in_child(script: str, *args: str) -> dict:
    """Run `script --step ...` in a fresh process; return what it printed plus its wall time and peak RSS."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, script, *args], capture_output=True, text=True, env=os.environ)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    report.setdefault("seconds", seconds)
    return report


class TreeRSS:
    """Samples the summed RSS of this process and all its descendants (e.g. PDF renderers) every 0.2 s."""

    def __init__(self):
        import psutil

        self.peak, self._me, self._stop = 0, psutil.Process(), threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self):
        import psutil

        while not self._stop.wait(0.2):
            total = 0
            for process in [self._me, *self._me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)

    def stop_mb(self) -> float:
        self._stop.set()
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return max(self.peak, own) / 1e6


_TREE = None


def start_rss_sampling() -> None:
    global _TREE
    _TREE = TreeRSS()


def peak_rss_mb() -> float:
    if _TREE is not None:
        return _TREE.stop_mb()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(report: dict) -> None:
    report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(report))
