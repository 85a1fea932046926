"""The RQ worker: runs queued jobs inside the app context.

A SimpleWorker runs jobs in its own process instead of forking one per job,
so pooled database connections are never shared between a parent and a child.

Workers may run on several hosts, and a host may die in the middle of a job (SIGKILL, power, a lost machine).
RQ takes a job for abandoned once its entry in the started-job registry has not been renewed for
`ABANDONED_AFTER` seconds, and the next worker to clean the registries runs it again (its retries, see
flowtrack/core/queue.py). RQ's SimpleWorker renews nothing while a job runs, so it registers each job for the job's
whole timeout (an hour): a dead host's job would wait that long. This worker renews the entry from a thread every
`HEARTBEAT` seconds instead, and cleans the registries every `MAINTENANCE` seconds, so another host runs a dead
host's job within about a minute. (The worker that cleans also takes over RQ's scheduler, which puts retries back
on the queue, should the dead host have held it.) Every job can run twice (flowtrack/core/queue.py).
"""
from __future__ import annotations

import logging
import threading

from flask import Flask
from redis.exceptions import RedisError
from rq import SimpleWorker
from rq.scheduler import RQScheduler

from flowtrack.core.collector import collections_paused, freeze_startup_objects
from flowtrack.core.queue import queue_name
from flowtrack.core.regions import home_region, in_region

log = logging.getLogger("jobs.worker")

HEARTBEAT = 5
ABANDONED_AFTER = 20
MAINTENANCE = 30
# An idle worker waits on the queue this long less 15 seconds, then does its maintenance if due.
WORKER_TTL = MAINTENANCE + 15


class FlowTrackWorker(SimpleWorker):
    """Runs each job with the cyclic garbage collector paused until it ends (see flowtrack/core/collector.py), and
    says every few seconds that the job is still running."""

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        return ABANDONED_AFTER

    def perform_job(self, job, queue, execution):
        done = threading.Event()
        beating = threading.Thread(target=self._beat, args=(job, execution, done), name="job-heartbeat",
                                   daemon=True)
        beating.start()
        try:
            with collections_paused():
                return super().perform_job(job, queue, execution)
        finally:
            done.set()
            beating.join()

    def _beat(self, job, execution, done: threading.Event) -> None:
        while not done.wait(HEARTBEAT):
            try:
                self.maintain_heartbeats(job, execution)
            except RedisError:
                log.warning("job %s: Redis did not take its heartbeat", job.id, exc_info=True)


def run(app: Flask, *, burst: bool = False, region: str | None = None) -> None:
    """Run the jobs of one region (the home region unless named) from its queue, on its Redis; the region holds
    for every job, so a job finds its region's database and files by the ids it carries (docs/regions.md)."""
    with app.app_context(), in_region(region or home_region(app).name) as where:
        freeze_startup_objects()
        worker = FlowTrackWorker([queue_name(app)], connection=where.redis, worker_ttl=WORKER_TTL,
                                 maintenance_interval=MAINTENANCE)
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
