"""Each role's start page: the office's shows the day's work, what is owed, and a new company's first steps."""
import datetime as dt

from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.invoices.factories import sent_invoice
from tests.scheduling.factories import company_today, planner  # noqa: F401 (the fixture)


def test_a_signed_in_admin_sees_their_dashboard(admin, acme):
    page = admin.get("/dashboard/")
    assert page.status_code == 200
    assert acme.company.name in page.text


def test_a_new_company_is_shown_what_to_set_up_first_until_it_has(admin, office, acme, records):  # noqa: F811
    steps = ("Your company&#39;s address, phone and email", "Water districts and their rules",
             "Test kits and their calibration", "Your price list", "Customers, their places and assemblies")
    page = admin.get("/dashboard/").text
    assert "Setting up" in page and all(step in page for step in steps)
    assert 'href="/settings/"' in page and 'href="/settings/"' not in office.get("/dashboard/").text  # admin's step
    admin.submit("/settings/", {"name": acme.company.name, "timezone": "America/Los_Angeles", "address": "1 Main"})
    records.district(acme)
    records.gauge(acme)
    office.submit("/invoices/prices", {"kind": "test", "device_type": "RP", "unit_price": "95"})
    records.customer(acme)
    assert "Setting up" not in admin.get("/dashboard/").text


def test_the_office_sees_todays_jobs_money_owed_and_kits_due(office, acme, records, planner):  # noqa: F811
    planner.job(acme, day=company_today(acme))
    records.gauge(acme, calibration_due_on=dt.date.today() + dt.timedelta(days=10))
    sent_invoice(office.application, acme, amount_cents=20000, today=dt.date.today() - dt.timedelta(days=45))
    page = office.get("/dashboard/").text
    assert "Technician Person: 1 job" in page
    assert "1 invoice</strong> past due, $200.00 still owed" in page
    assert "1 test kit due for calibration within 30 days" in page


def test_ones_own_account_and_the_public_security_page_are_two_names_not_one(office):
    page = office.get("/dashboard/").text
    assert ">My account</a>" in page
    assert '<a href="/security/">How FlowTrack protects your data</a>' in page
    assert ">Security</a>" not in page
