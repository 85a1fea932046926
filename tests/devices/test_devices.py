"""Devices at a location: every field checked, serials unique per company, the next due date derived."""
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from flowtrack.devices import services
from flowtrack.models.customers import Device
from tests.customers.test_customers import audit_entries

DEVICE = {"device_type": "RP", "manufacturer": "Watts", "model": "LF909", "serial": "ab 1234", "size": "3/4",
          "where_installed": "Front yard by the meter", "hazard": "health", "install_date": "2019-05-01",
          "last_test_on": "2025-04-02"}


def device_rows(app, tenant) -> list[Device]:
    with app.extensions["flowtrack.db"].service() as s:
        return list(s.scalars(sa.select(Device).where(Device.company_id == tenant.id).order_by(Device.created_at)))


def test_the_office_adds_a_device_and_its_next_test_due_follows_the_district(app, acme, office, records):
    district = records.district(acme, test_interval_months=12, due_end_of_month=True)
    location = records.location(acme, district_id=district.id)
    # A due date in the submission is not a field: it is derived, never typed.
    response = office.submit(f"/locations/{location.id}/devices/new", {**DEVICE, "next_test_due": "2030-01-01"})
    assert response.status_code == 303
    [device] = device_rows(app, acme)
    assert (device.serial, device.status, device.next_test_due) == ("AB 1234", "active", dt.date(2026, 4, 30))
    page = office.get(response.headers["Location"])
    assert "AB 1234" in page.text and "Apr 30, 2026" in page.text and "Reduced pressure (RP)" in page.text
    assert "Health hazard (high)" in page.text
    [entry] = audit_entries(app, acme, "device.created")
    assert entry.changes["serial"] == {"before": None, "after": "AB 1234"}
    assert entry.changes["next_test_due"]["after"] == "2026-04-30"


def test_a_device_never_tested_is_due_from_its_installation(app, acme, records):
    device = records.device(acme, install_date=dt.date(2024, 6, 1))
    assert device.next_test_due == dt.date(2024, 6, 1)
    assert records.device(acme).next_test_due is None


@pytest.mark.parametrize("changes, message", [
    ({"device_type": "XYZ"}, "Not a valid choice."),
    ({"device_type": ""}, "Choose the assembly type."),
    ({"manufacturer": ""}, "This field is required."),
    ({"manufacturer": "m" * 101}, "Field cannot be longer than 100 characters."),
    ({"serial": ""}, "This field is required."),
    ({"serial": "AB<script>"}, "Letters, digits, spaces and . / # - only."),
    ({"serial": "S" * 65}, "Field cannot be longer than 64 characters."),
    ({"size": "5/8"}, "Not a valid choice."),
    ({"hazard": "extreme"}, "Not a valid choice."),
    ({"install_date": "yesterday"}, "Not a valid date value."),
    ({"install_date": (dt.date.today() + dt.timedelta(days=2)).isoformat(), "last_test_on": ""},
     "An installation date cannot be in the future."),
    ({"last_test_on": (dt.date.today() + dt.timedelta(days=2)).isoformat()}, "A test date cannot be in the future."),
    ({"install_date": "2025-05-01", "last_test_on": "2025-04-01"}, "The last test cannot be before the installation."),
    ({"where_installed": "w" * 201}, "Field cannot be longer than 200 characters."),
])
def test_every_field_is_checked_on_the_server(app, acme, office, records, changes, message):
    location = records.location(acme)
    response = office.submit(f"/locations/{location.id}/devices/new", {**DEVICE, **changes})
    assert response.status_code == 422
    assert message in response.text
    assert 'value="LF909"' in response.text
    assert device_rows(app, acme) == []


def test_a_serial_is_unique_per_company_whatever_its_case_and_spacing(app, acme, bravo, office, records, login):
    records.device(acme, serial="AB 1234")
    location = records.location(acme)
    response = office.submit(f"/locations/{location.id}/devices/new", {**DEVICE, "serial": " ab  1234 "})
    assert response.status_code == 422
    assert "Serial AB 1234 is already recorded for another device." in response.text
    assert len(device_rows(app, acme)) == 1
    bravo_location = records.location(bravo)
    assert login(bravo, "manager").submit(f"/locations/{bravo_location.id}/devices/new", DEVICE).status_code == 303


def test_two_saves_of_one_serial_at_once_give_the_second_a_form_error_not_a_crash(app, acme, records, monkeypatch):
    records.device(acme, serial="RACE-1")
    location = records.location(acme)
    # The second request checked before the first committed: only the unique index can tell.
    monkeypatch.setattr(services, "serial_taken", lambda *args, **kwargs: False)
    with records.session(acme) as s:
        with pytest.raises(services.SerialTaken):
            services.create_device(s, s.get(type(location), location.id), device_type="DC", manufacturer="Ames",
                                   serial="race-1")
        s.rollback()


def test_editing_records_before_and_after_and_a_removed_device_is_no_longer_due(app, acme, office, records):
    device = records.device(acme, serial="ED-1", last_test_on=dt.date(2025, 1, 10))
    assert device.next_test_due == dt.date(2026, 1, 10)
    form = office.get(f"/devices/{device.id}/edit")
    assert form.status_code == 200 and 'value="ED-1"' in form.text
    response = office.submit(f"/devices/{device.id}/edit", {
        "device_type": "RP", "manufacturer": "Watts", "serial": "ED-1", "last_test_on": "2025-01-10",
        "status": "removed"})
    assert response.status_code == 303
    [stored] = device_rows(app, acme)
    assert (stored.status, stored.next_test_due) == ("removed", None)
    [entry] = audit_entries(app, acme, "device.updated")
    assert entry.changes["status"] == {"before": "active", "after": "removed"}
    assert entry.changes["next_test_due"] == {"before": "2026-01-10", "after": None}
    refused = office.submit(f"/devices/{device.id}/edit", {
        "device_type": "RP", "manufacturer": "Watts", "serial": "ED-1", "status": "replaced"})
    assert refused.status_code == 422 and "Not a valid choice." in refused.text


def test_a_replacement_keeps_the_old_device_marked_replaced_by_the_new_one(app, acme, office, records):
    old = records.device(acme, serial="OLD-1", device_type="DC", size="1", where_installed="Basement",
                         last_test_on=dt.date(2025, 2, 1))
    form = office.get(f"/devices/{old.id}/replace")
    assert form.status_code == 200 and 'value="Basement"' in form.text
    response = office.submit(f"/devices/{old.id}/replace", {**DEVICE, "serial": "NEW-1", "last_test_on": ""})
    assert response.status_code == 303
    old_row, new_row = device_rows(app, acme)
    assert (old_row.status, old_row.replaced_by_device_id, old_row.next_test_due) == ("replaced", new_row.id, None)
    assert (new_row.location_id, new_row.status) == (old.location_id, "active")
    page = office.get(f"/devices/{old.id}").text
    assert re.search(r"replaced by <a href=\"/devices/[0-9a-f-]+\">NEW-1</a>", page)
    assert "Record a replacement" not in page
    assert audit_entries(app, acme, "device.replaced")[0].changes["status"]["after"] == "replaced"
    assert office.get(f"/devices/{old.id}/replace").status_code == 303


def test_the_device_list_searches_serials_as_you_type_and_pages_by_serial(acme, office, technician, records):
    location = records.location(acme)
    with records.session(acme) as s:
        s.add_all(Device(location_id=location.id, device_type="DC", manufacturer="Ames", serial=f"K{n:03d}",
                         status="active") for n in range(60))
    records.device(acme, location, serial="ZZ-9")
    found = office.htmx("GET", "/devices/?q=k00")
    assert "<html" not in found.text
    assert re.findall(r">(K\d{3})</a>", found.text) == [f"K00{n}" for n in range(10)]
    first = office.get("/devices/")
    assert len(re.findall(r">(K\d{3}|ZZ-9)</a>", first.text)) == 50
    more = re.search(r'hx-get="(/devices/\?after=[^"]+)"', first.text).group(1)
    second = office.htmx("GET", more.replace("&amp;", "&"))
    assert re.findall(r">(K\d{3}|ZZ-9)</a>", second.text) == ["K050", "K051", "K052", "K053", "K054", "K055", "K056",
                                                             "K057", "K058", "K059", "ZZ-9"]
    assert technician.get("/devices/?q=zz").status_code == 200


def test_a_technician_sees_only_the_devices_where_work_is_booked_for_them(acme, technician, records, planner,
                                                                          factory):
    booked = records.device(acme, serial="MINE-1")
    elsewhere = records.device(acme, serial="OTHER-1")
    theirs = records.device(acme, serial="COLLEAGUE-1")
    planner.assign(acme, booked)
    planner.assign(acme, theirs, technician=factory.member(acme.id, "technician"))
    listing = technician.get("/devices/").text
    assert "MINE-1" in listing and "OTHER-1" not in listing and "COLLEAGUE-1" not in listing
    assert technician.get(f"/devices/{booked.id}").status_code == 200
    assert technician.get(f"/locations/{booked.location_id}").status_code == 200
    for device in (elsewhere, theirs):
        assert technician.get(f"/devices/{device.id}").status_code == 404
        assert technician.get(f"/locations/{device.location_id}").status_code == 404
        assert technician.get(f"/devices/{device.id}/tests/new").status_code == 404


def test_a_technician_reads_a_device_but_sees_no_way_to_change_it(acme, technician, records, planner):
    device = records.device(acme, serial="TECH-1")
    planner.assign(acme, device)
    page = technician.get(f"/devices/{device.id}")
    assert page.status_code == 200 and "TECH-1" in page.text
    assert "Edit" not in page.text and "Record a replacement" not in page.text
    assert technician.get(f"/devices/{device.id}/edit").status_code == 403
