"""The RQ worker: runs queued jobs inside the app context.

A SimpleWorker runs jobs in its own process instead of forking one per job,
so pooled database connections are never shared between a parent and a child.
"""
from __future__ import annotations

from flask import Flask
from rq import SimpleWorker
from rq.scheduler import RQScheduler

from flowtrack.core.collector import collections_paused, freeze_startup_objects
from flowtrack.core.queue import queue_name
from flowtrack.core.regions import home_region, in_region


class FlowTrackWorker(SimpleWorker):
    """Runs each job with the cyclic garbage collector paused until it ends (see flowtrack/core/collector.py)."""

    def perform_job(self, job, queue, execution):
        with collections_paused():
            return super().perform_job(job, queue, execution)


def run(app: Flask, *, burst: bool = False, region: str | None = None) -> None:
    """Run the jobs of one region (the home region unless named) from its queue, on its Redis; the region holds
    for every job, so a job finds its region's database and files by the ids it carries (docs/regions.md)."""
    with app.app_context(), in_region(region or home_region(app).name) as where:
        freeze_startup_objects()
        worker = FlowTrackWorker([queue_name(app)], connection=where.redis)
        # RQ's scheduler puts a failed job whose retry is due back on the queue (see flowtrack/core/queue.py). A
        # burst worker does that once, here, rather than starting the scheduler's process, which would outlive it.
        if burst:
            _enqueue_due_retries(worker)
        worker.work(burst=burst, logging_level="INFO", with_scheduler=not burst)


def _enqueue_due_retries(worker: SimpleWorker) -> None:
    scheduler = RQScheduler(worker.queues, connection=worker.connection)
    scheduler.acquire_locks()
    try:
        scheduler.enqueue_scheduled_jobs()
    finally:
        scheduler.release_locks()
