"""Service locations: each place once per company, whatever its spelling, in its water district."""
import datetime as dt

import sqlalchemy as sa

from flowtrack.models.customers import CustomerLocation, Device
from tests.customers.test_customers import audit_entries

ADDRESS = {"address_line1": "123 Main Street", "address_line2": "", "city": "Eugene", "state": "or",
           "postal_code": "97401", "district_id": "", "site_contact_name": "Pat at the front desk",
           "site_contact_phone": "541-555-0142", "access_notes": "Gate code 2468; dog in the yard"}


def locations_of(app, tenant) -> list[CustomerLocation]:
    with app.extensions["flowtrack.db"].service() as s:
        return list(s.scalars(sa.select(CustomerLocation).where(CustomerLocation.company_id == tenant.id)))


def test_the_office_adds_a_service_location_in_a_district(app, acme, office, records):
    customer = records.customer(acme, name="Harbor View")
    district = records.district(acme, name="Eugene Water & Electric Board")
    form = office.get(f"/customers/{customer.id}/locations/new")
    assert form.status_code == 200 and "Eugene Water &amp; Electric Board" in form.text
    response = office.submit(f"/customers/{customer.id}/locations/new", {**ADDRESS, "district_id": str(district.id)})
    assert response.status_code == 303
    page = office.get(response.headers["Location"])
    assert "123 Main Street, Eugene, OR 97401" in page.text and "Gate code 2468" in page.text
    assert "Eugene Water &amp; Electric Board" in page.text
    [location] = locations_of(app, acme)
    assert (location.state, location.district_id, location.address_key) == \
        ("OR", district.id, "123 main st|eugene|or|97401")
    [entry] = audit_entries(app, acme, "location.created")
    assert entry.changes["address_line1"]["after"] == "123 Main Street"
    assert "123 Main Street" in office.get(f"/customers/{customer.id}").text


def test_the_same_place_spelt_differently_is_refused_with_a_clear_message(app, acme, bravo, office, records, login):
    first_owner = records.customer(acme, name="Harbor View")
    records.location(acme, first_owner, address_line1="123 Main Street", city="Eugene", state="OR",
                     postal_code="97401")
    other = records.customer(acme, name="Someone Else")
    response = office.submit(f"/customers/{other.id}/locations/new",
                             {**ADDRESS, "address_line1": "123  main st.", "city": "EUGENE",
                              "postal_code": "97401-1234", "access_notes": "typed with care"})
    assert response.status_code == 422
    assert "This address is already a service location of Harbor View" in response.text
    assert "typed with care" in response.text
    assert len(locations_of(app, acme)) == 1
    # Another company may serve the same address.
    bravo_customer = records.customer(bravo)
    assert login(bravo, "manager").submit(f"/customers/{bravo_customer.id}/locations/new",
                                         ADDRESS).status_code == 303


def test_an_edit_that_lands_on_another_location_is_refused_too(app, acme, office, records):
    customer = records.customer(acme)
    records.location(acme, customer, address_line1="1 Oak Avenue", city="Eugene", state="OR", postal_code="97401")
    second = records.location(acme, customer, address_line1="2 Oak Avenue", city="Eugene", state="OR",
                              postal_code="97401")
    response = office.submit(f"/locations/{second.id}/edit", {**ADDRESS, "address_line1": "1 Oak Ave"})
    assert response.status_code == 422 and "already a service location" in response.text
    assert sorted(loc.address_line1 for loc in locations_of(app, acme)) == ["1 Oak Avenue", "2 Oak Avenue"]


def test_every_field_is_checked_on_the_server(acme, bravo, office, records):
    customer = records.customer(acme)
    foreign_district = records.district(bravo)
    response = office.submit(f"/customers/{customer.id}/locations/new", {
        **ADDRESS, "address_line1": "", "state": "Oregon", "postal_code": "9740", "city": "x" * 101,
        "site_contact_phone": "ring twice", "district_id": str(foreign_district.id)})
    assert response.status_code == 422
    for message in ("This field is required.", "Two letters, like OR.", "A ZIP code like 97477",
                    "Field cannot be longer than 100 characters.", "Enter a phone number", "Not a valid choice."):
        assert message in response.text, message


def test_moving_a_location_to_another_district_reschedules_its_devices(app, acme, office, records):
    yearly = records.district(acme, name="Yearly")
    every_three_years = records.district(acme, name="Triennial", test_interval_months=36)
    customer = records.customer(acme)
    location = records.location(acme, customer, district_id=yearly.id)
    device = records.device(acme, location, last_test_on=dt.date(2025, 4, 2))
    assert device.next_test_due == dt.date(2026, 4, 2)
    response = office.submit(f"/locations/{location.id}/edit", {
        "address_line1": location.address_line1, "city": location.city, "state": location.state,
        "postal_code": location.postal_code, "district_id": str(every_three_years.id)})
    assert response.status_code == 303
    with app.extensions["flowtrack.db"].service() as s:
        assert s.get(Device, device.id).next_test_due == dt.date(2028, 4, 2)
    [entry] = audit_entries(app, acme, "location.updated")
    assert entry.changes["district_id"] == {"before": str(yearly.id), "after": str(every_three_years.id)}
    assert entry.changes["devices_rescheduled"] == 1


def test_a_technician_reads_the_location_page_but_cannot_change_it(acme, technician, records, planner):
    location = records.location(acme, access_notes="Key under the mat")
    planner.assign(acme, location=location)
    page = technician.get(f"/locations/{location.id}")
    assert page.status_code == 200 and "Key under the mat" in page.text
    assert "Edit location" not in page.text and "Add device" not in page.text
    assert f"/customers/{location.customer_id}" not in page.text
    assert technician.get(f"/locations/{location.id}/edit").status_code == 403


def test_the_office_places_a_location_on_the_map_for_tests_far_from_it_to_be_flagged(app, acme, office, records):
    customer = records.customer(acme, name="Harbor View")
    half = office.submit(f"/customers/{customer.id}/locations/new", {**ADDRESS, "latitude": "44.0521"})
    assert half.status_code == 422 and "Give both the latitude and the longitude, or neither." in half.text
    assert 'value="44.0521"' in half.text
    wrong = office.submit(f"/customers/{customer.id}/locations/new",
                          {**ADDRESS, "latitude": "95", "longitude": "-123.0868"})
    assert wrong.status_code == 422 and "A latitude is from -90 to 90." in wrong.text
    placed = office.submit(f"/customers/{customer.id}/locations/new",
                           {**ADDRESS, "latitude": "44.0521", "longitude": "-123.0868"})
    assert placed.status_code == 303
    [location] = locations_of(app, acme)
    assert (location.latitude, location.longitude, location.coordinates_source) == (44.0521, -123.0868, "office")
    cleared = office.submit(f"/locations/{location.id}/edit", {**ADDRESS, "latitude": "", "longitude": ""})
    assert cleared.status_code == 303
    [location] = locations_of(app, acme)
    assert (location.latitude, location.coordinates_source) == (None, None)
    assert audit_entries(app, acme, "location.updated")[-1].changes["latitude"] == {"before": "44.0521", "after": None}
