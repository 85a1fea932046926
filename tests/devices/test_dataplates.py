"""Adding a device (or the one replacing an old one), the office photographs its dataplate; a worker reads it with
OCR on our own servers and the form proposes the manufacturer, model, size and serial, each put in by the person's
own choice; a serial already recorded is pointed out; once the device is saved, the plate's photo is one of its
photos."""
import io
import re
import uuid

import pytest
import sqlalchemy as sa

from flowtrack.devices.dataplates import proposed_fields
from flowtrack.models.customers import Device, DeviceStatus
from flowtrack.models.field_help import DataplateRead
from flowtrack.models.field_tests import DevicePhoto
from tests.devices.factories import dataplate_photo, dataplate_read, require_ocr
from tests.field_tests.factories import camera_photo


def _send_plate(browser, location_id, picture: bytes, **fields):
    return browser.post(f"/locations/{location_id}/dataplates",
                        data={"photo": (io.BytesIO(picture), "IMG_2201.JPG"), **fields},
                        content_type="multipart/form-data", headers={"X-CSRFToken": browser.csrf_token()})


def _reads(app, **where) -> list[DataplateRead]:
    with app.extensions["flowtrack.db"].service() as s:
        return list(s.scalars(sa.select(DataplateRead).filter_by(**where)))


def test_the_office_photographs_a_dataplate_and_confirms_what_a_worker_read_on_it(
        app, office, acme, records, run_worker):
    require_ocr()
    place = records.location(acme, address_line1="42 Harbor Road")
    sent = _send_plate(office, place.id, dataplate_photo())
    assert sent.status_code == 303
    [read] = _reads(app, location_id=place.id)
    assert sent.headers["Location"] == f"/locations/{place.id}/devices/new?dataplate={read.id}"
    form = office.get(sent.headers["Location"])
    # The request kept the photo and queued the reading; it did not read it.
    assert read.status == "queued" and "Waiting for a worker to read the dataplate" in form.text
    assert f'name="dataplate_id" value="{read.id}"' in form.text

    run_worker()

    [read] = _reads(app, id=read.id)
    assert (read.status, read.progress) == ("done", 100)
    assert read.proposal == {"manufacturer": "Watts", "model": "909", "size": "3/4", "serial": "AB12345"}, read.lines
    proposal = office.get(f"/dataplates/{read.id}")
    for value in ("Watts", "909", "3/4", "AB12345"):
        assert f'data-value="{value}"' in proposal.text
    assert "Already recorded" not in proposal.text
    # Nothing is filled in for the person: they use each value, or type their own (here the model, as on the order).
    form = office.get(f"/locations/{place.id}/devices/new?dataplate={read.id}").text
    assert re.search(r'<input[^>]*name="serial"[^>]*value=""', form)

    saved = office.submit(f"/locations/{place.id}/devices/new?dataplate={read.id}", {
        "dataplate_id": str(read.id), "device_type": "RP", "manufacturer": "Watts", "model": "909-QT",
        "serial": "AB12345", "size": "3/4"})
    assert saved.status_code == 303
    with app.extensions["flowtrack.db"].service() as s:
        device = s.scalar(sa.select(Device).where(Device.location_id == place.id))
        [photo] = s.scalars(sa.select(DevicePhoto).where(DevicePhoto.device_id == device.id))
    assert (device.serial, device.model, photo.caption) == ("AB12345", "909-QT", "Dataplate")
    assert _reads(app, id=read.id) == []
    assert office.get(f"/photos/{photo.id}").status_code == 200


def test_a_proposed_serial_already_recorded_for_another_device_is_pointed_out(app, office, acme, records):
    records.device(acme, serial="AB12345", device_type="DC")
    read = dataplate_read(app, acme, proposal={"manufacturer": "Febco", "serial": "AB12345"})
    proposal = office.get(f"/dataplates/{read.id}").text
    assert re.search(r"Already recorded for <a href=\"/devices/[0-9a-f-]+\">DC AB12345</a>", proposal)


def test_replacing_a_device_its_successors_plate_is_read_for_the_replacement_form(app, office, acme, records):
    old = records.device(acme, device_type="DC", serial="OLD-77")
    sent = _send_plate(office, old.location_id, dataplate_photo(), replacing=str(old.id))
    [read] = _reads(app, replacing_id=old.id)
    assert sent.headers["Location"] == f"/devices/{old.id}/replace?dataplate={read.id}"
    form = office.get(sent.headers["Location"])
    assert "Reading the dataplate" in form.text or "Waiting for a worker" in form.text
    # The read belongs to that form only: opened for a new device at the place, it is not offered.
    assert f'value="{read.id}"' not in office.get(f"/locations/{old.location_id}/devices/new?dataplate={read.id}").text
    with app.extensions["flowtrack.db"].service() as s:
        assert s.get(Device, old.id).status == DeviceStatus.active.value


@pytest.mark.parametrize("picture, problem", [
    (b"%PDF-1.4 not a photo", "not a picture we can read"),
    (camera_photo(format="GIF"), "Upload the photo as a JPEG, PNG or WebP picture."),
], ids=["not a picture", "a GIF"])
def test_a_file_that_is_not_a_photo_is_refused_on_the_device_form(app, office, acme, records, picture, problem):
    place = records.location(acme)
    refused = _send_plate(office, place.id, picture)
    assert refused.status_code == 422 and problem in refused.text and 'aria-invalid="true"' in refused.text
    assert _reads(app, location_id=place.id) == []


def test_a_replacement_plate_for_a_device_elsewhere_is_not_found(app, office, acme, records):
    old = records.device(acme, device_type="DC")
    elsewhere = records.location(acme)
    assert _send_plate(office, elsewhere.id, dataplate_photo(), replacing=str(old.id)).status_code == 404
    assert _send_plate(office, elsewhere.id, dataplate_photo(), replacing=str(uuid.uuid4())).status_code == 404


@pytest.mark.parametrize("lines, expected", [
    (["WATTS", "MODEL 909", "SIZE 3/4 IN", "SERIAL NO. AB12345"],
     {"manufacturer": "Watts", "model": "909", "size": "3/4", "serial": "AB12345"}),
    (["WATTS", "MODEL909", "SIZE 3/4 IN", "SERIAL NO.AB12345", "MAX175PSI 33-180F"],  # OCR lost the spaces
     {"manufacturer": "Watts", "model": "909", "size": "3/4", "serial": "AB12345"}),
    (["Zurn Wilkins", 'MODEL 975XL2 SIZE 1 1/2"', "SERIAL NO.", "ZW4401-88"],  # the serial on the next line
     {"manufacturer": "Zurn Wilkins", "model": "975XL2", "size": "1-1/2", "serial": "ZW4401-88"}),
    (["FEBCO 3/4\"", "MOD. 825Y  S/N: J73519"], {"manufacturer": "Febco", "model": "825Y", "size": "3/4",
                                                  "serial": "J73519"}),
    (["Ames Fire & Waterworks", "SER# 0G114", "2 IN"], {"manufacturer": "Ames", "serial": "0G114", "size": "2"}),
    (["SERIAL NO. NONE"], {}),  # a serial has a digit
    (["SIZE 5 IN"], {}),  # not a size a device may have
    (["MAX 175 PSI", "WORKING TEMP 33-180 F"], {}),
], ids=["plain", "squeezed", "split", "short labels", "hash", "no digit", "odd size", "nothing"])
def test_what_a_plate_says_is_proposed_field_by_field(lines, expected):
    assert proposed_fields(lines) == expected
