"""Tests recorded on a phone with no signal arrive later from its outbox: each stored once however often it is
sent, in whatever order, checked as a live submission is (on the day it was taken), with the phone's evidence of
where and when; what cannot be stored is refused with the reason, and nothing of another company's is touched."""
import datetime as dt
import io
import json
import uuid

import sqlalchemy as sa

from flowtrack.models.customers import CustomerLocation
from flowtrack.models.field_tests import DevicePhoto, TestRecord
from flowtrack.models.scheduling import WorkOrderDevice
from tests.field_tests.factories import DC_PASSING, SIGNED, camera_photo
from tests.scheduling.factories import company_today

NOW = dt.datetime.now(dt.timezone.utc)
DAIRY = (44.0521, -123.0868)  # the location's coordinates
ROUND_THE_CORNER = (44.0530, -123.0868)  # about 100 m north
ACROSS_TOWN = (44.0700, -123.0868)  # about 2 km north


def phone_test(device, kit, *, job=None, submitted: dt.datetime | None = None,
               phone_clock: dt.timedelta = dt.timedelta(), opened_before: dt.timedelta = dt.timedelta(minutes=12),
               position=None, **fields) -> dict:
    """What the outbox sends for a passing double-check test: the form's fields and the phone's account of the
    visit, by a phone whose clock is `phone_clock` off the server's."""
    submitted = (submitted or NOW - dt.timedelta(hours=2)) + phone_clock
    data = {"device_id": str(device.id), "test_type": "annual", "gauge_id": str(kit.id),
            **{f"r_{key}": value for key, value in DC_PASSING.items()}, **SIGNED,
            "phone_sent_at": (dt.datetime.now(dt.timezone.utc) + phone_clock).isoformat(),
            "phone_steps": json.dumps({"opened": (submitted - opened_before).isoformat(),
                                       "submitted": submitted.isoformat()}), **fields}
    if job is not None:
        data["job_id"] = str(job.id)
    if position is not None:
        data["phone_position"] = json.dumps({"latitude": position[0], "longitude": position[1], "accuracy": 12})
    return data


def send(browser, client_id, data, photos=(), **headers):
    body = dict(data)
    if photos:
        body["photo"] = [(io.BytesIO(picture), f"IMG_{n}.JPG") for n, picture in enumerate(photos)]
    return browser.post(f"/outbox/tests/{client_id}", data=body, content_type="multipart/form-data",
                        headers={"X-CSRFToken": browser.csrf_token(), "Accept": "application/json", **headers})


def stored(app, **where) -> list[TestRecord]:
    with app.extensions["flowtrack.db"].service() as s:
        return list(s.scalars(sa.select(TestRecord).filter_by(**where).order_by(TestRecord.tested_at)))


def _a_days_stop(acme, records, planner, devices=1):
    place = records.location(acme, address_line1="120 Main Street")
    made = [records.device(acme, place, device_type="DC") for _ in range(devices)]
    return planner.assign(acme, *made, day=company_today(acme)), made, place


def test_the_same_test_sent_twice_is_stored_once(app, technician, acme, records, planner):
    job, [device], _ = _a_days_stop(acme, records, planner)
    kit, client_id = records.gauge(acme), uuid.uuid4()
    data = phone_test(device, kit, job=job)
    first = send(technician, client_id, data, photos=[camera_photo(800, 600)])
    assert first.status_code == 201, first.json
    assert first.json["status"] == "stored" and first.json["next"].startswith(f"/jobs/{job.id}?tested=")
    again = send(technician, client_id, data, photos=[camera_photo(800, 600)])  # the answer was lost on the way
    assert again.status_code == 200 and again.json["test"] == first.json["test"]
    [record] = stored(app, device_id=device.id)
    assert record.client_id == client_id
    with app.extensions["flowtrack.db"].service() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(DevicePhoto)
                        .where(DevicePhoto.test_record_id == record.id)) == 1
        assert s.scalar(sa.select(WorkOrderDevice.test_record_id).where(WorkOrderDevice.device_id == device.id)) \
            == record.id


def test_tests_arriving_out_of_order_keep_the_times_they_were_taken(app, technician, acme, records, planner):
    job, [first, second], _ = _a_days_stop(acme, records, planner, devices=2)
    kit = records.gauge(acme)
    earlier, later = NOW - dt.timedelta(hours=3), NOW - dt.timedelta(hours=2, minutes=30)
    # A phone whose clock runs four minutes fast: its times are put on the server's clock.
    fast = dt.timedelta(minutes=4)
    assert send(technician, uuid.uuid4(), phone_test(second, kit, job=job, submitted=later, phone_clock=fast)) \
        .status_code == 201
    assert send(technician, uuid.uuid4(), phone_test(first, kit, job=job, submitted=earlier, phone_clock=fast)) \
        .status_code == 201
    records_ = stored(app, technician_id=acme.members["technician"].user_id)
    assert [r.device_id for r in records_] == [first.id, second.id]
    assert abs((records_[0].tested_at - earlier).total_seconds()) < 5
    assert all(abs(r.clock_skew_seconds + 240) < 5 for r in records_)
    assert all(r.submitted_at > r.tested_at + dt.timedelta(hours=2) for r in records_)  # taken, then arrived


def test_a_device_moved_off_the_job_is_refused_with_the_reason_and_can_go_alone(app, technician, acme, records,
                                                                              planner):
    job, [device], _ = _a_days_stop(acme, records, planner)
    kit = records.gauge(acme)
    with app.extensions["flowtrack.db"].service() as s:  # the office cancels the visit meanwhile
        s.execute(sa.text("UPDATE work_orders SET status = 'canceled' WHERE id = :id"), {"id": job.work_order_id})
        s.commit()
    client_id = uuid.uuid4()
    refused = send(technician, client_id, phone_test(device, kit, job=job))
    assert refused.status_code == 422 and refused.json["status"] == "refused"
    assert "was canceled before the test of" in refused.json["errors"]["job"]
    assert stored(app, device_id=device.id) == []
    alone = send(technician, client_id, phone_test(device, kit))  # the phone's way to fix it
    assert alone.status_code == 201 and len(stored(app, device_id=device.id)) == 1


def test_a_kit_is_judged_on_the_day_of_the_test_not_the_day_it_arrives(app, technician, acme, records, planner):
    job, [device], _ = _a_days_stop(acme, records, planner)
    today = company_today(acme)
    kit = records.gauge(acme, last_calibrated_on=today - dt.timedelta(days=362),
                        calibration_due_on=today - dt.timedelta(days=2))
    # Taken three days ago, when the kit was still within calibration: stored.
    taken = send(technician, uuid.uuid4(), phone_test(device, kit, submitted=NOW - dt.timedelta(days=3)))
    assert taken.status_code == 201, taken.json
    # Taken today, two days past the kit's due date: refused, saying why.
    late = send(technician, uuid.uuid4(), phone_test(device, kit))
    assert late.status_code == 422 and "was due for calibration" in late.json["errors"]["gauge_id"]


def test_another_companys_device_is_not_found_and_nothing_is_written(app, technician, acme, bravo, records):
    theirs = records.device(bravo, device_type="DC")
    kit = records.gauge(acme)
    response = send(technician, uuid.uuid4(), phone_test(theirs, kit))
    assert response.status_code == 404
    assert stored(app, device_id=theirs.id) == []


def test_the_tester_is_whoever_is_signed_in_whatever_the_phone_says(app, technician, login, acme, records, planner):
    job, [device], _ = _a_days_stop(acme, records, planner)
    kit, client_id = records.gauge(acme), uuid.uuid4()
    forged = phone_test(device, kit, job=job, technician_id=str(acme.members["manager"].user_id))
    assert send(technician, client_id, forged).status_code == 201
    [record] = stored(app, device_id=device.id)
    assert record.technician_id == acme.members["technician"].user_id
    # Another person sending the same id learns nothing about it.
    office = login(acme, "manager")
    assert send(office, client_id, forged).status_code == 404


def test_a_session_that_ended_asks_to_sign_in_and_a_post_without_a_token_is_refused(app, technician, acme, records):
    device, kit = records.device(acme, device_type="DC"), records.gauge(acme)
    signed_out = app.test_client()  # the outbox asks for a fresh token before it sends
    ended = signed_out.get("/outbox/token", headers={"Accept": "application/json"})
    assert ended.status_code == 401 and ended.json == {"status": "signin"}
    assert signed_out.post(f"/outbox/tests/{uuid.uuid4()}", data=phone_test(device, kit),
                           headers={"Accept": "application/json"}).status_code in (400, 401)
    no_token = technician.post(f"/outbox/tests/{uuid.uuid4()}", data=phone_test(device, kit),
                               headers={"Accept": "application/json"})
    assert no_token.status_code == 400
    assert technician.get("/outbox/token").json["csrf"]
    assert stored(app, device_id=device.id) == []


def test_the_visit_is_evidenced_and_a_far_or_hurried_test_is_flagged_not_refused(app, technician, acme, records,
                                                                                planner):
    job, [first, second, third], place = _a_days_stop(acme, records, planner, devices=3)
    kit = records.gauge(acme)
    # The location's first test with a good position places it.
    assert send(technician, uuid.uuid4(), phone_test(first, kit, job=job, position=DAIRY)).status_code == 201
    with app.extensions["flowtrack.db"].service() as s:
        location = s.get(CustomerLocation, place.id)
        assert (location.latitude, location.longitude, location.coordinates_source) == (*DAIRY, "tests")
    assert send(technician, uuid.uuid4(), phone_test(second, kit, job=job, position=ROUND_THE_CORNER)) \
        .status_code == 201
    hurried = phone_test(third, kit, job=job, position=ACROSS_TOWN, opened_before=dt.timedelta(seconds=20))
    assert send(technician, uuid.uuid4(), hurried).status_code == 201
    near, far = stored(app, device_id=second.id)[0], stored(app, device_id=third.id)[0]
    assert near.flags == [] and near.latitude == ROUND_THE_CORNER[0] and near.position_accuracy_m == 12
    assert {flag["kind"] for flag in far.flags} == {"far", "fast"}
    assert 1800 < next(f["meters"] for f in far.flags if f["kind"] == "far") < 2200
    assert set(far.steps) == {"opened", "submitted"}
    page = technician.get(f"/tests/{far.id}").text
    assert "Recorded 2.0 km from the location" in page or "Recorded 1.9 km from the location" in page
    assert "Form filled in 20 seconds" in page


def test_a_phone_record_that_cannot_be_believed_is_refused_with_the_reason(app, technician, acme, records, planner):
    _, [device], _ = _a_days_stop(acme, records, planner)
    kit = records.gauge(acme)
    tomorrow = phone_test(device, kit, submitted=NOW + dt.timedelta(days=1))
    assert "after it was sent" in send(technician, uuid.uuid4(), tomorrow).json["errors"]["evidence"]
    old = phone_test(device, kit, submitted=NOW - dt.timedelta(days=45))
    assert "over 30 days ago" in send(technician, uuid.uuid4(), old).json["errors"]["evidence"]
    garbled = phone_test(device, kit, phone_position="{not json")
    assert send(technician, uuid.uuid4(), garbled).status_code == 422
    assert stored(app, device_id=device.id) == []
