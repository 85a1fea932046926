"""Photos of an assembly, from the device's page or sent with a test (the phone's test form keeps them with the
test until it is sent; tests/e2e and tests/field_tests/test_outbox.py follow that path): each picture is checked,
shrunk, stripped of its GPS position, kept with a thumbnail; one on a test stays with it."""
import io
import re

import pytest
import sqlalchemy as sa
from PIL import Image

from flowtrack.core.storage import StoredFileMissing
from flowtrack.models.audit import AuditEntry
from flowtrack.models.field_tests import DevicePhoto
from tests.customers.factories import records  # noqa: F401  (the fixture)
from tests.factories import file_store
from tests.field_tests.factories import DC_PASSING, SIGNED, camera_photo, submitted_test_id
from tests.scheduling.factories import planner  # noqa: F401  (the fixture)


@pytest.fixture
def device(records, acme, planner):  # noqa: F811
    """A double check at a location where the technician has a job booked."""
    device = records.device(acme, device_type="DC", serial="DC-2201")
    planner.assign(acme, device)
    return device


def _upload(browser, device, *pictures, caption=""):
    files = {"photo": [(io.BytesIO(data), name) for name, data in pictures], "caption": caption}
    return browser.submit(f"/devices/{device.id}/photos", files, content_type="multipart/form-data")


def _uploaded(app, browser, device, name="a.jpg") -> str:
    """Upload one photo and return its id."""
    before = {photo.id for photo in _stored_photos(app, device.id)}
    assert _upload(browser, device, (name, camera_photo())).status_code == 303
    [added] = [photo for photo in _stored_photos(app, device.id) if photo.id not in before]
    return str(added.id)


def _stored_photos(app, device_id) -> list[DevicePhoto]:
    with app.extensions["flowtrack.db"].service() as s:
        return list(s.scalars(sa.select(DevicePhoto).where(DevicePhoto.device_id == device_id)))


def _file(app, key: str) -> bytes:
    return file_store(app).get(key)


def test_a_photo_from_the_phone_is_shrunk_stripped_of_its_position_and_thumbnailed(app, technician, device):
    response = _upload(technician, device, ("IMG_0001.JPG", camera_photo(4032, 3024, gps=True)), caption="Relief port")
    assert response.status_code == 303
    [photo] = _stored_photos(app, device.id)
    page = technician.get(response.headers["Location"]).text
    assert "Photo added." in page and f"/photos/{photo.id}/thumbnail" in page and "Relief port" in page
    full = Image.open(io.BytesIO(_file(app, photo.key)))
    assert full.format == "JPEG" and max(full.size) == 1600 and (photo.width, photo.height) == (1600, 1200)
    assert not full.getexif() and "exif" not in full.info
    thumbnail = technician.get(f"/photos/{photo.id}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumbnail.data)).size) == 320
    assert technician.get(f"/photos/{photo.id}").data == _file(app, photo.key)
    with app.extensions["flowtrack.db"].service() as s:
        actions = s.scalars(sa.select(AuditEntry.action).where(AuditEntry.entity_id == str(device.id))).all()
    assert "device.photo_added" in actions


@pytest.mark.parametrize("name, data, message", [
    ("notes.jpg", b"just some text, not a picture", "not a picture"),
    ("animation.gif", None, "JPEG, PNG or WebP"),
    ("huge.jpg", b"\xff\xd8" + b"0" * (15 * 1024 * 1024 + 10), "15 MB"),
])
def test_what_is_not_a_usable_picture_is_refused_with_the_reason(app, technician, device, name, data, message):
    if data is None:
        data = camera_photo(40, 40, format="GIF")
    response = _upload(technician, device, (name, data))
    assert message in technician.get(response.headers["Location"]).text
    assert _stored_photos(app, device.id) == []


def test_when_one_of_several_photos_is_refused_none_is_kept_not_even_its_files(app, technician, device, acme):
    response = _upload(technician, device, ("IMG_0002.JPG", camera_photo(800, 600)), ("notes.jpg", b"not a picture"))
    assert "not a picture" in technician.get(response.headers["Location"]).text
    assert _stored_photos(app, device.id) == []
    assert list(file_store(app).keys(f"{acme.id}/photos")) == []


def test_an_upload_without_a_file_asks_for_one(technician, device):
    response = _upload(technician, device)
    assert response.status_code == 303
    assert "Choose a photo to add." in technician.get(response.headers["Location"]).text


def test_photos_sent_with_a_refused_test_wait_in_it_and_join_the_test_then_stay(
        app, technician, office, records, acme, device):  # noqa: F811
    """A phone without scripts sends the photos with the form: refused for a missing signature, the form keeps
    them, one is unticked, and the other joins the test when it is signed."""
    test = {"test_type": "annual", "gauge_id": str(records.gauge(acme).id),
            **{f"r_{k}": v for k, v in DC_PASSING.items()}}
    refused = technician.submit(f"/devices/{device.id}/tests/new", {
        **test, "photo": [(io.BytesIO(camera_photo()), "a.jpg"), (io.BytesIO(camera_photo()), "b.jpg")]},
        content_type="multipart/form-data")
    assert refused.status_code == 422 and "Sign the test before you submit it." in refused.text
    waiting = re.findall(r'name="photo_id" value="([0-9a-f-]{36})" checked> Keep with the test', refused.text)
    assert len(waiting) == 2
    response = technician.submit(f"/devices/{device.id}/tests/new", {**test, "photo_id": waiting[:1], **SIGNED})
    test_page = technician.get(f"/tests/{submitted_test_id(response)}").text
    assert f"/photos/{waiting[0]}/thumbnail" in test_page and waiting[1] not in test_page
    on_test = [photo for photo in _stored_photos(app, device.id) if photo.test_record_id is not None]
    assert [str(photo.id) for photo in on_test] == waiting[:1]
    kept = office.submit(f"/photos/{waiting[0]}/delete")
    assert "part of a submitted test" in office.get(kept.headers["Location"]).text
    assert _file(app, on_test[0].key)


def test_a_technician_removes_only_their_own_photos_and_the_office_any(login, factory, app, technician, office,
                                                                        acme, device):
    mine = _uploaded(app, technician, device)
    acme.members["second_tech"] = factory.member(acme.id, "technician")
    colleague = login(acme, "second_tech")
    assert colleague.submit(f"/photos/{mine}/delete").status_code == 404  # no job at this device
    theirs = _uploaded(app, office, device, "b.jpg")
    assert technician.submit(f"/photos/{theirs}/delete").status_code == 403
    assert office.submit(f"/photos/{mine}/delete").status_code == 303
    [left] = _stored_photos(app, device.id)
    assert str(left.id) == theirs
    with pytest.raises(StoredFileMissing):
        _file(app, f"{acme.id}/photos/{mine}.jpg")


def test_photos_are_out_of_reach_of_other_technicians_customers_and_companies(app, login, factory, technician,
                                                                             customer, acme, bravo, device):
    photo_id = _uploaded(app, technician, device)
    acme.members["second_tech"] = factory.member(acme.id, "technician")
    colleague = login(acme, "second_tech")
    assert colleague.get(f"/photos/{photo_id}").status_code == 404
    assert _upload(colleague, device, ("a.jpg", camera_photo())).status_code == 404
    assert customer.get(f"/photos/{photo_id}").status_code in (403, 404)
    assert _upload(customer, device, ("a.jpg", camera_photo())).status_code == 403
    outsider = login(bravo, "manager")
    assert outsider.get(f"/photos/{photo_id}").status_code == 404
    assert outsider.get(f"/photos/{photo_id}/thumbnail").status_code == 404
    assert outsider.submit(f"/photos/{photo_id}/delete").status_code == 404
    assert _upload(outsider, device, ("a.jpg", camera_photo())).status_code == 404
