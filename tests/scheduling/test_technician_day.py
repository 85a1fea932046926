"""A technician's day on the phone: today's jobs in the office's order, start, test, "could not test",
complete; and never anyone else's jobs."""
import datetime as dt

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.models.customers import Device
from flowtrack.models.scheduling import WorkOrder
from flowtrack.schedule import services as schedule
from tests.customers.test_customers import audit_entries
from tests.factories import sent_meanwhile
from tests.field_tests.factories import SIGNED, submitted_test_id
from tests.scheduling.factories import company_today


def stored_order(app, work_order_id) -> WorkOrder:
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(WorkOrder).where(WorkOrder.id == work_order_id)
                              .options(so.selectinload(WorkOrder.devices)))


def test_the_technician_sees_todays_jobs_in_route_order_with_address_contact_and_devices(
        app, technician, acme, planner, records):
    today = company_today(acme)
    location = records.location(acme, site_contact_name="Dana Ruiz", site_contact_phone="541-555-0101",
                                access_notes="Meter room behind the loading dock")
    later = planner.job(acme, day=today, starts=dt.time(13), ends=dt.time(14))
    first = planner.job(acme, day=today, starts=dt.time(15), ends=dt.time(16),
                        order=planner.work_order(acme, location=location))
    with records.session(acme) as session:  # the office put the 15:00 stop first on the route
        schedule.reorder(session, acme.members["technician"].user_id, today, [first.work_order_id, later.work_order_id])

    page = technician.get("/my-day/")
    assert page.status_code == 200
    assert page.text.index("15:00–16:00") < page.text.index("13:00–14:00")
    assert "Dana Ruiz" in page.text and 'href="tel:541-555-0101"' in page.text
    assert "Meter room behind the loading dock" in page.text
    assert "https://www.google.com/maps/search/?api=1&amp;query=" in page.text
    assert "No jobs on this day." in technician.get(f"/my-day/?date={(today + dt.timedelta(days=30)).isoformat()}").text


def test_a_technician_never_sees_another_technicians_jobs(app, login, acme, planner, factory):
    other = factory.member(acme.id, "technician")
    theirs = planner.job(acme, technician=other, day=company_today(acme))
    technician = login(acme, "technician")
    assert theirs.work_order_id and str(theirs.id) not in technician.get("/my-day/").text
    assert technician.get(f"/jobs/{theirs.id}").status_code == 404
    assert technician.submit(f"/jobs/{theirs.id}/start").status_code == 404
    assert technician.get(f"/work-orders/{theirs.work_order_id}").status_code == 403
    assert login(acme, "manager").get("/my-day/").status_code == 403


def test_start_test_complete_and_the_next_due_date_follows(app, technician, acme, planner, records):
    job = planner.job(acme, day=company_today(acme), order=planner.work_order(acme, devices=2, device_type="DC"))
    order = stored_order(app, job.work_order_id)
    tested, unreachable = (item.device_id for item in order.devices)
    kit = records.gauge(acme)

    assert "Start job" in technician.get(f"/jobs/{job.id}").text
    early = technician.submit(f"/jobs/{job.id}/complete", follow_redirects=True)
    assert "Start the job before completing it." in early.text
    technician.submit(f"/jobs/{job.id}/start")
    assert stored_order(app, job.work_order_id).status == "in_progress"

    response = technician.submit(f"/devices/{tested}/tests/new", {
        "test_type": "annual", "gauge_id": str(kit.id), "r_check1_psid": "2.4", "r_check2_psid": "1.8", **SIGNED})
    assert response.status_code == 303
    unfinished = technician.submit(f"/jobs/{job.id}/complete", follow_redirects=True)
    assert "Test each device or mark it could not be tested" in unfinished.text

    item = next(i for i in stored_order(app, job.work_order_id).devices if i.device_id == unreachable)
    technician.submit(f"/jobs/{job.id}/devices/{item.id}/not-tested", {"reason": "no_access"})
    done = technician.submit(f"/jobs/{job.id}/complete", follow_redirects=True)
    assert "Job completed." in done.text and "Could not test: no access" in done.text

    final = stored_order(app, job.work_order_id)
    assert final.status == "completed" and final.closed_at is not None
    outcomes = {i.device_id: (i.outcome, i.reason, i.test_record_id is not None) for i in final.devices}
    assert outcomes == {tested: ("tested", None, True), unreachable: ("could_not_test", "no_access", False)}
    for action in ("job.started", "job.completed", "work_order.device_not_tested", "work_order.status_changed"):
        assert audit_entries(app, acme, action), action

    # Recurring work: the passing test set next year's due date, so the device left the due list.
    with app.extensions["flowtrack.db"].service() as session:
        device = session.get(Device, tested)
    assert device.last_test_on == company_today(acme)
    assert device.next_test_due.year == company_today(acme).year + 1
    assert device.next_test_due > company_today(acme) + dt.timedelta(days=300)


def test_could_not_test_needs_a_known_reason(technician, acme, planner, app):
    job = planner.job(acme, day=company_today(acme))
    item = stored_order(app, job.work_order_id).devices[0]
    response = technician.submit(f"/jobs/{job.id}/devices/{item.id}/not-tested", {"reason": "aliens"},
                                 follow_redirects=True)
    assert "Choose why the device could not be tested." in response.text
    assert stored_order(app, job.work_order_id).devices[0].outcome == "pending"


def test_a_test_recorded_before_pressing_start_starts_the_job_and_leads_back_to_it(
        app, technician, acme, planner, records):
    job = planner.job(acme, day=company_today(acme), order=planner.work_order(acme, devices=1, device_type="DC"))
    [item] = stored_order(app, job.work_order_id).devices
    kit = records.gauge(acme)
    response = technician.submit(f"/devices/{item.device_id}/tests/new", {
        "test_type": "annual", "gauge_id": str(kit.id), "r_check1_psid": "2.4", "r_check2_psid": "1.8", **SIGNED})
    assert response.status_code == 303
    assert stored_order(app, job.work_order_id).status == "in_progress"
    assert response.headers["Location"].startswith(f"/jobs/{job.id}?tested=")  # back on the job, not a dead end
    page = technician.get(response.headers["Location"]).text
    assert "Start job" not in page and "Passed" in page and "passed." in page
    assert "Complete job" in page and "you just recorded" in page  # its only device is done: completing is next
    result = technician.get(f"/tests/{submitted_test_id(response)}").text
    assert f'href="/jobs/{job.id}">Back to the job</a>' in result


def test_start_sent_twice_at_the_same_moment_starts_the_job_once(app, technician, acme, planner, records):
    """The phone's outbox sends Start again while its first send is under way: the second waits for the first and
    answers as done, and the job is started once (found by bench/soak.py)."""
    job = planner.job(acme, day=company_today(acme))
    headers = {"X-CSRFToken": technician.csrf_token(), "Accept": "application/json"}
    with records.session(acme) as first:
        schedule.start_job(first, schedule.get_job(first, job.id, for_update=True))
        second, answers = sent_meanwhile(app, lambda: technician.post(f"/jobs/{job.id}/start", headers=headers))
    second.join(30)
    assert [(answer.status_code, answer.json["status"]) for answer in answers] == [(200, "stored")]
    assert stored_order(app, job.work_order_id).status == "in_progress"
    assert len(audit_entries(app, acme, "job.started")) == 1


def test_a_job_started_while_another_technicians_test_is_being_recorded_waits_for_it_and_no_deadlock(
        app, technician, acme, planner, records, factory):
    """A test recorded before pressing Start audits its device first, then puts its job under way; a job started
    meanwhile does the opposite (its work order, then the audit). Both move the company's board counter: taken in
    opposite orders, PostgreSQL broke the deadlock by failing the start (found by bench/soak.py). Now the counter
    comes after the company's audit lock, so the start waits its turn."""
    colleague = factory.member(acme.id, "technician")
    theirs = planner.job(acme, technician=colleague, day=company_today(acme))
    mine = planner.job(acme, day=company_today(acme))
    headers = {"X-CSRFToken": technician.csrf_token(), "Accept": "application/json"}
    with records.session(acme) as first:
        [item] = schedule.get_job(first, theirs.id).work_order.devices
        audit.record(first, "device.updated", entity_type="device", entity_id=item.device_id)
        second, answers = sent_meanwhile(app, lambda: technician.post(f"/jobs/{mine.id}/start", headers=headers))
        schedule.start_job(first, schedule.get_job(first, theirs.id))
        first.flush()
    second.join(30)
    assert [answer.status_code for answer in answers] == [200]
    assert stored_order(app, mine.work_order_id).status == stored_order(app, theirs.work_order_id).status \
        == "in_progress"
