"""Test kits: serial unique per company, calibration dates checked, and expired kits shown as such; a kit that
tests were recorded with is retired, not deleted: it stays on its tests and is no longer offered for new ones."""
import datetime as dt
import zoneinfo

import sqlalchemy as sa

from flowtrack.models.customers import Gauge
from tests.customers.test_customers import audit_entries

# "Today" is the company's (Acme is in Los Angeles), which need not be the server's.
TODAY = dt.datetime.now(zoneinfo.ZoneInfo("America/Los_Angeles")).date()
GAUGE = {"make": "Midwest", "model": "845", "serial": "mw-845-001",
         "last_calibrated_on": (TODAY - dt.timedelta(days=10)).isoformat(),
         "calibration_due_on": (TODAY + dt.timedelta(days=355)).isoformat()}


def gauges_of(app, tenant) -> list[Gauge]:
    with app.extensions["flowtrack.db"].service() as s:
        return list(s.scalars(sa.select(Gauge).where(Gauge.company_id == tenant.id)))


def test_the_office_adds_a_test_kit(app, acme, office):
    assert office.submit("/gauges/new", GAUGE).status_code == 303
    [gauge] = gauges_of(app, acme)
    assert gauge.serial == "MW-845-001"
    listing = office.get("/gauges/").text
    assert "MW-845-001" in listing and "badge-valid" in listing
    [entry] = audit_entries(app, acme, "gauge.created")
    assert entry.changes["serial"]["after"] == "MW-845-001"


def test_a_kit_past_its_calibration_due_date_shows_expired(acme, technician, records):
    assert acme.company.timezone == "America/Los_Angeles"
    records.gauge(acme, serial="OLD-KIT", last_calibrated_on=TODAY - dt.timedelta(days=400),
                  calibration_due_on=TODAY - dt.timedelta(days=1))
    records.gauge(acme, serial="SOON-KIT", last_calibrated_on=TODAY - dt.timedelta(days=350),
                  calibration_due_on=TODAY + dt.timedelta(days=10))
    records.gauge(acme, serial="TODAY-KIT", last_calibrated_on=TODAY - dt.timedelta(days=365),
                  calibration_due_on=TODAY + dt.timedelta(days=40))
    listing = technician.get("/gauges/")
    assert listing.status_code == 200
    rows = listing.text.split('<tr id="gauge-')[1:]
    assert "OLD-KIT" in rows[0] and ">expired</span>" in rows[0]
    assert "SOON-KIT" in rows[1] and ">due soon</span>" in rows[1]
    assert "TODAY-KIT" in rows[2] and ">valid</span>" in rows[2]
    assert "New test kit" not in listing.text and "Remove" not in listing.text


def test_calibration_dates_and_serials_are_checked(app, acme, office, records):
    records.gauge(acme, serial="TAKEN-1")
    for changes, message in (
        ({"calibration_due_on": (TODAY - dt.timedelta(days=11)).isoformat()},
         "Calibration cannot fall due before it was done."),
        ({"last_calibrated_on": (TODAY + dt.timedelta(days=1)).isoformat()},
         "A calibration date cannot be in the future."),
        ({"last_calibrated_on": ""}, "This field is required."),
        ({"calibration_due_on": "31/12/2026"}, "Not a valid date value."),
        ({"make": ""}, "This field is required."),
        ({"serial": "taken-1"}, "Serial TAKEN-1 is already recorded for another device."),
    ):
        response = office.submit("/gauges/new", {**GAUGE, **changes})
        assert response.status_code == 422 and message in response.text, changes
    assert [g.serial for g in gauges_of(app, acme)] == ["TAKEN-1"]


def test_a_recalibrated_kit_is_edited_and_one_added_by_mistake_removed(app, acme, office, records):
    gauge = records.gauge(acme, serial="KIT-7")
    new_dates = {**GAUGE, "serial": "KIT-7", "last_calibrated_on": TODAY.isoformat(),
                 "calibration_due_on": (TODAY + dt.timedelta(days=365)).isoformat()}
    assert office.submit(f"/gauges/{gauge.id}/edit", new_dates).status_code == 303
    [stored] = gauges_of(app, acme)
    assert stored.last_calibrated_on == TODAY
    [entry] = audit_entries(app, acme, "gauge.updated")
    assert entry.changes["last_calibrated_on"]["after"] == TODAY.isoformat()
    assert office.submit(f"/gauges/{gauge.id}/delete").status_code == 303
    assert gauges_of(app, acme) == []
    assert len(audit_entries(app, acme, "gauge.deleted")) == 1


def _tested_with(app, tenant, kit, device=None):
    """A passing test of a double check (a new one unless given), recorded with the kit by the technician."""
    from flowtrack.field_tests import services as testing
    from flowtrack.models.customers import Device
    from tests.customers.factories import Records
    from tests.field_tests.factories import DC_PASSING, SIGNED, file_storage_of

    made = Records(app)
    device = device or made.device(tenant, device_type="DC")
    submission = testing.Submission(test_type="annual", gauge_id=kit.id, readings=DC_PASSING, **SIGNED)
    with made.session(tenant) as session:
        return testing.record_test(session, session.get(Device, device.id), tenant.members["technician"].user_id,
                                   submission, storage=file_storage_of(app))


def test_a_kit_that_tests_were_recorded_with_is_not_removed_and_the_office_is_told_to_retire_it(
        app, acme, office, records):
    kit = records.gauge(acme, serial="KIT-9")
    _tested_with(app, acme, kit)
    _tested_with(app, acme, kit)
    response = office.submit(f"/gauges/{kit.id}/delete")
    assert response.status_code == 303
    page = office.get(response.headers["Location"]).text
    assert ("2 tests were recorded with test kit KIT-9, so it stays on them and their reports. Retire it instead: "
            "it is then no longer offered on the test form.") in page
    assert [g.serial for g in gauges_of(app, acme)] == ["KIT-9"]
    assert audit_entries(app, acme, "gauge.deleted") == []


def test_a_retired_kit_stays_on_its_tests_and_is_no_longer_offered_for_new_ones(
        app, acme, office, technician, records, planner):
    kit = records.gauge(acme, serial="KIT-OLD")
    records.gauge(acme, serial="KIT-NEW")
    device = records.device(acme, device_type="DC")
    planner.assign(acme, device)
    earlier = _tested_with(app, acme, kit, device)

    assert office.submit(f"/gauges/{kit.id}/retire").status_code == 303
    listing = office.get("/gauges/").text
    rows = listing.split('<tr id="gauge-')[1:]
    assert "KIT-NEW" in rows[0] and "KIT-OLD" in rows[1]  # retired kits last
    assert f"retired {TODAY:%b %-d, %Y}" in rows[1] and "Return to service" in rows[1] and "Retire" not in rows[1]
    [entry] = audit_entries(app, acme, "gauge.retired")
    assert entry.changes["retired_on"] == {"before": None, "after": TODAY.isoformat()}

    form = technician.get(f"/devices/{device.id}/tests/new").text
    assert "KIT-NEW" in form and "KIT-OLD" not in form
    refused = technician.submit(f"/devices/{device.id}/tests/new", {
        "test_type": "annual", "gauge_id": str(kit.id), "r_check1_psid": "2.4", "r_check2_psid": "1.8",
        "technician_signature": "Pat Tester"})
    assert refused.status_code == 422
    assert f"Test kit KIT-OLD was retired on {TODAY:%b %-d, %Y}. Choose the kit you used" in refused.text
    assert "KIT-OLD" in office.get(f"/tests/{earlier.id}").text  # it stays on the tests recorded with it
    assert "KIT-OLD" in office.get(f"/tests/{earlier.id}/amend").text  # and on their amendments
    amended = office.submit(f"/tests/{earlier.id}/amend", {
        "test_type": "annual", "gauge_id": str(kit.id), "r_check1_psid": "2.5", "r_check2_psid": "1.8",
        "amendment_reason": "Check 1 was misread"})
    assert amended.status_code == 303, amended.text[:500]

    assert office.submit(f"/gauges/{kit.id}/return").status_code == 303
    assert "KIT-OLD" in technician.get(f"/devices/{device.id}/tests/new").text
    assert audit_entries(app, acme, "gauge.returned_to_service")


def test_a_retired_kit_no_longer_asks_for_calibration_on_the_dashboard(acme, office, records):
    kit = records.gauge(acme, serial="KIT-DUE", last_calibrated_on=TODAY - dt.timedelta(days=350),
                        calibration_due_on=TODAY + dt.timedelta(days=10))
    assert "1 test kit due for calibration" in office.get("/dashboard/").text
    office.submit(f"/gauges/{kit.id}/retire")
    assert "due for calibration" not in office.get("/dashboard/").text
