"""The demo companies come with an office's records to try the pages on."""
from flowtrack.seed import seed_records
from tests.customers.test_sweep import counts


def test_demo_records_fill_every_page(app, factory, login):
    tenant = factory.tenant("Demo")
    seed_records(app.extensions["flowtrack.db"], tenant.company)
    assert counts(app, tenant) == {"districts": 2, "customers": 4, "customer_locations": 5, "devices": 7, "gauges": 2}
    office = login(tenant, "office")
    assert "Harbor View Apartments" in office.get("/customers/").text
    assert ">expired</span>" in office.get("/gauges/").text
    assert "Springfield Utility Board" in office.get("/districts/").text
    assert "Harbor View Apartments" in office.get("/schedule/").text  # booked today
    assert "Maple Street Dental" in office.get("/invoices/").text
    technician = login(tenant, "technician")
    assert "Harbor View Apartments" in technician.get("/my-day/").text
