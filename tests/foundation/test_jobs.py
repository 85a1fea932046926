"""Background work with a real RQ worker process, under row-level security."""
import datetime as dt
import re
import uuid
import zoneinfo

import sqlalchemy as sa

from flowtrack.audit import services as audit
from flowtrack.companies.jobs import company_session
from flowtrack.models.accounts import AuthSession, Profile


def test_an_auditor_verifies_the_chain_and_sees_the_result(auditor, acme, run_worker):
    started = auditor.htmx("post", "/audit/verify")
    assert started.status_code == 202 and "Verifying" in started.text
    poll_url = re.search(r'hx-get="([^"]+)"', started.text).group(1)
    assert "Verifying" in auditor.htmx("get", poll_url).text
    run_worker()
    done = auditor.htmx("get", poll_url)
    assert "Chain intact" in done.text and f"{len(acme.members) + 1} entries" in done.text


def test_a_broken_chain_shows_as_broken(app, auditor, acme, run_worker):
    engine = sa.create_engine(app.extensions["flowtrack.settings"].database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE audit_log SET action = 'x' WHERE company_id = :c AND seq = 2"), {"c": acme.id})
    engine.dispose()
    poll_url = re.search(r'hx-get="([^"]+)"', auditor.htmx("post", "/audit/verify").text).group(1)
    run_worker()
    assert "Chain broken: entry 2" in auditor.htmx("get", poll_url).text


def test_a_job_for_one_company_sees_only_that_company(app, acme, bravo):
    with app.app_context():
        with company_session(acme.id) as session:
            emails = {p.full_name for p in session.scalars(sa.select(Profile))}
            companies = set(session.scalars(sa.select(Profile.company_id)))
            audit.record(session, "test.job_ran")
            session.commit()
    assert companies == {acme.id} and len(emails) == len(acme.members)
    # The job's session is revoked when the job is done.
    with app.extensions["flowtrack.db"].service() as s:
        job_sessions = s.scalars(sa.select(AuthSession).where(AuthSession.company_id == acme.id,
                                                              AuthSession.kind == "job")).all()
    assert job_sessions and all(row.revoked_at is not None for row in job_sessions)


def test_the_daily_chain_head_job_writes_heads_to_the_log(app, acme, caplog):
    from flowtrack.audit_log.tasks import log_chain_heads

    with app.app_context(), caplog.at_level("INFO", logger="flowtrack.audit"):
        assert log_chain_heads() >= 1
    assert f"company={acme.id} seq={len(acme.members) + 1} hash=" in caplog.text


def test_the_cron_schedule_runs_in_los_angeles_time(app, monkeypatch):
    from jobs import cron

    monkeypatch.setenv("TZ", "UTC")
    cron.pin_timezone()
    try:
        scheduler = cron.build_scheduler(app.extensions["flowtrack.redis"], "unused-queue")
        job = scheduler.get_jobs()[0]
        local = job.next_enqueue_time.astimezone(zoneinfo.ZoneInfo(cron.CRON_TIMEZONE))
        assert (local.hour, local.minute) == (0, 15)
    finally:
        monkeypatch.undo()
        import time

        time.tzset()


def test_two_cron_processes_fire_each_scheduled_job_once(app):
    """Two hosts each run the cron: the firing is claimed in Redis, so one of them enqueues it."""
    from rq import Queue
    from rq.utils import now

    from jobs import cron

    queue = f"cron-twice-{uuid.uuid4().hex[:8]}"
    redis = app.extensions["flowtrack.redis"]
    first, second = (cron.build_scheduler(redis, queue) for _ in range(2))
    due = now().replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    for scheduler in (first, second):
        for job in scheduler.get_jobs():
            job.next_enqueue_time = due  # every job due, at the same minute on both hosts
    enqueued = first.enqueue_jobs() + second.enqueue_jobs()
    assert len(enqueued) == len(cron.SCHEDULE) == Queue(queue, connection=redis).count
    assert all(job.next_enqueue_time > due for scheduler in (first, second) for job in scheduler.get_jobs())
    # The next minute's firings are new ones: claimed again, once.
    for job in second.get_jobs():
        job.next_enqueue_time = due + dt.timedelta(minutes=1)
    assert len(second.enqueue_jobs()) == len(cron.SCHEDULE)
