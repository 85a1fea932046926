"""Test kits: serial unique per company, calibration dates checked, and expired kits shown as such."""
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


def test_a_recalibrated_kit_is_edited_and_a_retired_one_removed(app, acme, office, records):
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
