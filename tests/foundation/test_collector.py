"""Python 3.11's garbage collector crash (flowtrack/core/collector.py), and the safe points that avoid it.

Each story runs in its own interpreter: the crash kills the process that meets it.
"""
import gc
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flowtrack.core.collector import NEEDS_SAFE_POINTS
from flowtrack.core.queue import get_queue

# What SQLAlchemy's InstanceState meets, in plain Python: an object's weak reference callback sets attributes
# on a second object, and a collection starts while that second object is getting a new attribute.
CRASH = textwrap.dedent("""
    import gc, weakref

    class State:
        pass

    class Owner:
        pass

    def add_attributes(i):
        state, owner = State(), Owner()
        state.a = 1
        owner.cycle = owner  # only the cyclic collector frees it

        def cleanup(ref):
            for n in range(40):
                setattr(state, f"cb{n}", n)

        state.ref = weakref.ref(owner, cleanup)
        del owner
        threshold = gc.get_threshold()
        gc.set_threshold(1)  # a collection at every allocation, so the first new attribute meets one
        for n in range(40):
            setattr(state, f"k{i}_{n}", n)
        gc.set_threshold(*threshold)
""")


def run_python(body: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CRASH + textwrap.dedent(body)], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2], timeout=120)


@pytest.mark.skipif(not NEEDS_SAFE_POINTS, reason="only CPython 3.11 has the crash")
def test_the_interpreter_crashes_when_collections_run_whenever_they_like():
    result = run_python("""
        for i in range(2000):
            add_attributes(i)
    """)
    assert result.returncode == -11, "Python 3.11 no longer crashes here: flowtrack/core/collector.py may be obsolete"


def test_a_request_that_meets_the_pattern_is_served_and_its_garbage_collected_after():
    result = run_python("""
        from flowtrack.core.collector import CollectBetweenRequests, NEEDS_SAFE_POINTS

        leftovers = []

        def page(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            for i in range(2000):
                add_attributes(i)
            owner = Owner()
            owner.cycle = owner
            leftovers.append(weakref.ref(owner))
            del owner
            yield b"done"

        body = CollectBetweenRequests(page)({}, lambda status, headers: None)
        assert b"".join(body) == b"done"
        assert leftovers[0]() is not None or not NEEDS_SAFE_POINTS, "no collection while the request runs"
        gc.set_threshold(1, 10, 10)
        body.close()
        assert gc.isenabled()
        assert leftovers[0]() is None, "the request's cyclic garbage is collected once it ends"
        print("served")
    """)
    assert result.returncode == 0 and "served" in result.stdout, result.stderr


def test_a_job_that_meets_the_pattern_finishes():
    result = run_python("""
        from flowtrack.core.collector import collections_paused

        with collections_paused():
            for i in range(2000):
                add_attributes(i)
        assert gc.isenabled()
        print("finished")
    """)
    assert result.returncode == 0 and "finished" in result.stdout, result.stderr


def collector_state() -> bool:
    """A job: whether automatic collections run while it does."""
    return gc.isenabled()


def test_the_worker_runs_every_job_with_collections_paused(app, run_worker):
    with app.app_context():
        job = get_queue().enqueue(collector_state)
    run_worker()
    job.refresh()
    assert job.return_value() is (not NEEDS_SAFE_POINTS)
