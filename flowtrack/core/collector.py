"""Run Python's cyclic garbage collector between units of work (a request, a job), never inside one.

Why: CPython 3.11 has a use-after-free in its instance dictionaries. When a collection starts while an
attribute is being added to an object (the interpreter allocates the object's dict right then), and the
collection calls a weak reference callback that changes the same object, the interpreter keeps writing
into memory the callback freed. SQLAlchemy does exactly that: every loaded row's `InstanceState` has a
callback (`_cleanup`) that sets attributes on the state once its object is collected. The week board of
a large company allocates enough to meet it about once in ten requests, and the process dies (SIGSEGV).
`tests/foundation/test_collector.py` shows the crash without SQLAlchemy, in fifteen lines; CPython 3.12
rebuilt that code and does not crash.

So on 3.11 automatic collections are paused while a request or a job runs and the generations that are
due are collected when it ends, from a point where no attribute is half-written. Garbage in reference
cycles waits until then; everything else is freed at once, as always. On 3.12 and later nothing changes.
"""
from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from werkzeug.wsgi import ClosingIterator

NEEDS_SAFE_POINTS = sys.version_info < (3, 12)


def freeze_startup_objects() -> None:
    """Move everything the process has made so far (modules, the app, its mappers and templates) out of the
    collector's reach, once the app is built: they live as long as the process, and a full collection would
    otherwise walk all of them (about 190,000 objects, 36 ms in a web worker) to find nothing."""
    gc.collect()
    gc.freeze()


def collect_due_generations() -> None:
    """Collect what the interpreter would have collected by now: the oldest generation over its threshold."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in (2, 1, 0):
        if counts[generation] > thresholds[generation]:
            gc.collect(generation)
            return


@contextmanager
def collections_paused() -> Iterator[None]:
    """No automatic collection inside the block (on 3.11); the due ones right after it."""
    if not NEEDS_SAFE_POINTS or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        _resume()


class CollectBetweenRequests:
    """WSGI middleware: each request, streamed bodies included, runs with automatic collections paused."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if not NEEDS_SAFE_POINTS or not gc.isenabled():
            return self.wsgi_app(environ, start_response)
        gc.disable()
        try:
            body = self.wsgi_app(environ, start_response)
        except BaseException:
            _resume()
            raise
        return ClosingIterator(body, _resume)


def _resume() -> None:
    gc.enable()
    collect_due_generations()
