"""The admin keeps every company setting on one page: the company's details, the tax rate, payment terms, trip
charge and logo invoices are billed with, and the test-due reminders. Each section saves on its own, comes back to
the page with a message, keeps what was typed when refused, and is audited; the office reads what applies where it
works, and changes none of it."""
import sqlalchemy as sa

from flowtrack.models.companies import CompanySettings
from flowtrack.models.invoicing import PriceItem
from tests.customers.test_customers import audit_entries

EVERY_SETTING = ("Company name", "Time zone", "Address", "Phone", "Email for customers", "Mail checks to",
                 "Sales tax (%)", "Payment due after (days)", "Amount per visit ($)", "Logo on invoices",
                 "Send test-due reminders", "Days before the due date", "And once more when a device is overdue")


def saved_settings(app, tenant) -> CompanySettings:
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(CompanySettings).where(CompanySettings.company_id == tenant.id))


def trip_items(app, tenant) -> list[PriceItem]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(PriceItem).where(PriceItem.company_id == tenant.id,
                                                               PriceItem.kind == "trip")))


def test_the_admin_finds_every_company_setting_on_one_page_and_each_save_comes_back_to_it(app, admin, acme):
    page = admin.get("/settings/").text
    assert all(label in page for label in EVERY_SETTING)

    saved = admin.submit("/settings/invoicing", {"tax_rate": "8.25", "payment_terms_days": "15"})
    assert saved.status_code == 303 and saved.location.endswith("/settings/")
    page = admin.get("/settings/").text
    assert "Tax rate and payment terms saved" in page and 'value="8.25"' in page and 'value="15"' in page
    assert (saved_settings(app, acme).tax_rate_bp, saved_settings(app, acme).payment_terms_days) == (825, 15)

    page = admin.submit("/settings/trip-charge", {"trip_charge": "45", "trip_taxable": ""}, follow_redirects=True).text
    assert "Trip charge saved" in page and 'value="45.00"' in page
    assert [(t.unit_price_cents, t.taxable) for t in trip_items(app, acme)] == [(4500, False)]
    assert "Nothing changed." in admin.submit("/settings/trip-charge", {"trip_charge": "45.00"},
                                              follow_redirects=True).text

    page = admin.submit("/settings/reminders", {"enabled": "y", "lead_days": "90, 30"}, follow_redirects=True).text
    assert "Reminder settings saved." in page and 'value="90, 30"' in page
    assert (saved_settings(app, acme).reminder_lead_days, saved_settings(app, acme).remind_when_overdue) == ([90, 30],
                                                                                                            False)

    page = admin.submit("/settings/trip-charge", {"trip_charge": ""}, follow_redirects=True).text
    assert "Trip charge removed" in page and trip_items(app, acme) == []

    assert audit_entries(app, acme, "invoices.settings_changed")[-1].changes["tax_rate_bp"] == {"before": 0,
                                                                                                "after": 825}
    assert audit_entries(app, acme, "price.set")[-1].changes["unit_price_cents"] == {"before": None, "after": 4500}
    assert audit_entries(app, acme, "price.removed")[-1].changes["kind"] == "trip"
    assert audit_entries(app, acme, "reminders.settings_changed")[-1].changes["lead_days"] == {
        "before": [60, 30], "after": [90, 30]}


def test_a_refused_setting_shows_why_beside_what_was_typed_and_the_rest_of_the_page_stays(app, admin, acme):
    admin.submit("/settings/", {"name": "Acme Backflow", "timezone": "America/Denver", "address": "12 Valve Way"})
    refused = admin.submit("/settings/invoicing", {"tax_rate": "8.255", "payment_terms_days": "30"})
    assert refused.status_code == 422
    assert "At most two decimals" in refused.text and 'value="8.255"' in refused.text
    assert "12 Valve Way" in refused.text and "Send test-due reminders" in refused.text  # the other sections
    assert 'The tax rate and payment terms were not saved: see <a href="#invoicing">Invoices</a>' in refused.text
    refused = admin.submit("/settings/trip-charge", {"trip_charge": "a lot"})
    assert refused.status_code == 422 and "Enter a number of dollars and cents" in refused.text
    assert 'value="a lot"' in refused.text
    assert saved_settings(app, acme).tax_rate_bp == 0 and trip_items(app, acme) == []


def test_the_office_reads_the_billing_settings_on_the_price_list_and_changes_none_of_them(app, admin, office, acme):
    admin.submit("/settings/invoicing", {"tax_rate": "8.25", "payment_terms_days": "15"})
    admin.submit("/settings/trip-charge", {"trip_charge": "45", "trip_taxable": ""})
    prices = office.get("/invoices/prices").text
    assert "Sales tax 8.25%, payment due after 15 days" in prices
    assert "Trip charge $45.00 per visit (not taxed)" in prices
    assert "Your company admin changes these in Company settings." in prices
    assert 'href="/settings/#invoicing"' in admin.get("/invoices/prices").text

    assert office.get("/settings/").status_code == 403
    for url, form in (("/settings/invoicing", {"tax_rate": "0", "payment_terms_days": "30"}),
                      ("/settings/trip-charge", {"trip_charge": ""}),
                      ("/settings/reminders", {"lead_days": "7"}), ("/settings/logo/delete", {})):
        assert office.submit(url, form).status_code == 403, url
    assert office.submit("/invoices/prices", {"kind": "trip", "unit_price": "1"}).status_code == 422
    [trip] = trip_items(app, acme)
    assert office.submit(f"/invoices/prices/{trip.id}/delete").status_code == 404
    assert (saved_settings(app, acme).tax_rate_bp, trip_items(app, acme)[0].unit_price_cents) == (825, 4500)


def test_the_admin_chooses_how_far_from_its_location_a_test_is_flagged(app, admin, office, acme):
    refused = admin.submit("/settings/field-tests", {"far_from_location_m": "20"})
    assert refused.status_code == 422 and "from 50 to 50,000 metres" in refused.text and 'value="20"' in refused.text
    assert "The field test setting was not saved" in refused.text
    saved = admin.submit("/settings/field-tests", {"far_from_location_m": "800"}, follow_redirects=True).text
    assert "Field test setting saved." in saved and 'value="800"' in saved
    assert saved_settings(app, acme).far_from_location_m == 800
    assert audit_entries(app, acme, "settings.changed")[-1].changes == {
        "far_from_location_m": {"before": 300, "after": 800}}
    assert office.submit("/settings/field-tests", {"far_from_location_m": "900"}).status_code == 403
