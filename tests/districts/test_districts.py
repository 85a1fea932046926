"""Water districts: contacts, where reports go, and a due-date rule that reschedules devices when it changes."""
import datetime as dt

import pytest
import sqlalchemy as sa

from flowtrack.models.customers import Device, District
from tests.customers.test_customers import audit_entries

DISTRICT = {"name": "Eugene Water & Electric Board", "contact_name": "Cross-connection desk",
            "contact_phone": "541-555-0190", "report_email": "Backflow@EWEB.example", "test_interval_months": "12",
            "due_anchor": "last_test", "fixed_due_month": "", "fixed_due_day": "", "early_window_days": "30"}


def districts_of(app, tenant) -> list[District]:
    with app.extensions["flowtrack.db"].service() as s:
        return list(s.scalars(sa.select(District).where(District.company_id == tenant.id)))


def test_the_office_adds_a_district_with_its_rule(app, acme, office):
    response = office.submit("/districts/new", {**DISTRICT, "due_end_of_month": "y"})
    assert response.status_code == 303
    [district] = districts_of(app, acme)
    assert (district.report_email, district.test_interval_months, district.early_window_days,
            district.due_end_of_month, district.submission_method, district.report_template) == \
        ("backflow@eweb.example", 12, 30, True, "paper", None)
    listing = office.get("/districts/").text
    assert "Eugene Water &amp; Electric Board" in listing and "every year, from the last test" in listing
    assert "30-day early window; end of month" in listing
    [entry] = audit_entries(app, acme, "district.created")
    assert entry.changes["test_interval_months"] == {"before": None, "after": 12}


def test_a_fixed_yearly_date_is_stated_and_checked(app, acme, office):
    response = office.submit("/districts/new", {**DISTRICT, "due_anchor": "fixed_date", "fixed_due_month": "6",
                                                "fixed_due_day": "30"})
    assert response.status_code == 303
    assert "by June 30" in office.get("/districts/").text
    for month, day, message in (("", "", "Choose the month and day"), ("2", "29", "That month has no such day"),
                                ("4", "31", "That month has no such day"), ("13", "1", "Not a valid choice")):
        refused = office.submit("/districts/new", {**DISTRICT, "name": f"Other {month}-{day}",
                                                   "due_anchor": "fixed_date", "fixed_due_month": month,
                                                   "fixed_due_day": day})
        assert refused.status_code == 422 and message in refused.text, (month, day)
    assert len(districts_of(app, acme)) == 1


@pytest.mark.parametrize("changes, message", [
    ({"name": ""}, "This field is required."),
    ({"test_interval_months": "0"}, "Number must be between 1 and 120."),
    ({"test_interval_months": "twelve"}, "Enter a whole number, like 12."),
    ({"early_window_days": "400"}, "Number must be between 0 and 365."),
    ({"due_anchor": "whenever"}, "Not a valid choice."),
    ({"report_email": "reports at district"}, "Enter an email address like name@example.com."),
    ({"contact_phone": "ask for Bob"}, "Enter a phone number"),
])
def test_every_field_is_checked_on_the_server(app, acme, office, changes, message):
    response = office.submit("/districts/new", {**DISTRICT, **changes})
    assert response.status_code == 422 and message in response.text
    assert districts_of(app, acme) == []


def test_names_are_unique_in_a_company_whatever_the_case(app, acme, bravo, office, records, login):
    records.district(acme, name="Springfield Utility Board")
    refused = office.submit("/districts/new", {**DISTRICT, "name": "springfield utility board"})
    assert refused.status_code == 422 and "There is already a district with this name." in refused.text
    other = records.district(acme, name="Other")
    renamed = office.submit(f"/districts/{other.id}/edit", {**DISTRICT, "name": "SPRINGFIELD Utility Board"})
    assert renamed.status_code == 422 and "There is already a district with this name." in renamed.text
    assert login(bravo, "manager").submit("/districts/new",
                                         {**DISTRICT, "name": "Springfield Utility Board"}).status_code == 303


def test_a_new_rule_reschedules_the_devices_in_the_district(app, acme, office, records):
    district = records.district(acme, name="Lane County")
    location = records.location(acme, district_id=district.id)
    device = records.device(acme, location, last_test_on=dt.date(2025, 3, 10))
    removed = records.device(acme, location, last_test_on=dt.date(2025, 3, 10))
    office.submit(f"/devices/{removed.id}/edit", {"device_type": "RP", "manufacturer": "Watts",
                                                  "serial": removed.serial, "status": "removed"})
    response = office.submit(f"/districts/{district.id}/edit", {**DISTRICT, "name": "Lane County",
                                                                "test_interval_months": "24", "early_window_days": "0",
                                                                "due_end_of_month": "y"})
    assert response.status_code == 303
    assert "1 device rescheduled by the new rule." in office.get("/districts/").text
    with app.extensions["flowtrack.db"].service() as s:
        assert s.get(Device, device.id).next_test_due == dt.date(2027, 3, 31)
        assert s.get(Device, removed.id).next_test_due is None
    [entry] = audit_entries(app, acme, "district.updated")
    assert entry.changes["test_interval_months"] == {"before": 12, "after": 24}
    assert entry.changes["devices_rescheduled"] == 1


def test_a_district_in_use_is_not_removed(app, acme, office, records):
    used = records.district(acme, name="In Use")
    records.location(acme, district_id=used.id)
    unused = records.district(acme, name="Unused")
    response = office.submit(f"/districts/{used.id}/delete")
    assert response.status_code == 303
    assert "In Use is the district of 1 service location. Move them to another district first." in \
        office.get("/districts/").text
    assert office.submit(f"/districts/{unused.id}/delete").status_code == 303
    assert [d.name for d in districts_of(app, acme)] == ["In Use"]
    [entry] = audit_entries(app, acme, "district.deleted")
    assert entry.changes["name"] == {"before": "Unused", "after": None}


def test_a_district_a_district_admin_belongs_to_is_not_removed_and_says_who_refers_to_it(app, acme, office, records,
                                                                                        factory):
    district = records.district(acme, name="Lane County")
    factory.member(acme.id, "district_admin", district_id=district.id)
    response = office.submit(f"/districts/{district.id}/delete", follow_redirects=True)
    assert response.status_code == 200
    assert ("Lane County is the district of 1 district admin. Give them another district on the team page first."
            in response.text)
    assert "Lane County" in [d.name for d in districts_of(app, acme)]
