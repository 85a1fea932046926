"""Amounts and numbers typed into a form (flowtrack/core/money.py's AmountField, flowtrack/core/forms.py's
WholeNumberField and DecimalNumberField): one that is no number as people type numbers (NaN, infinity, 1e309,
"twelve") or one beyond what the field allows (forty nines, 10**30) is refused with one message on its field,
what was typed stays in the field, and nothing is saved. Before, "NaN" made a money field compare text with a
number (a 500) on every price, line, payment and credit form."""
import datetime as dt
import html

import pytest
import sqlalchemy as sa

from flowtrack.invoices import services as invoicing
from flowtrack.models.customers import Customer, District
from flowtrack.models.invoicing import Invoice, PriceItem
from flowtrack.models.scheduling import WorkOrderLine
from tests.customers.factories import Records, records  # noqa: F401  (the fixture)
from tests.invoices.factories import sent_invoice
from tests.scheduling.factories import planner  # noqa: F401  (the fixture)
from tests.security.test_error_pages import assert_our_page

NOT_AMOUNTS = ["NaN", "sNaN", "inf", "-Infinity", "1e309", "1e2", "1_000", "١٢", "12,5x", "--5"]
TOO_MUCH = ["9" * 40, str(10**30), "1000000.01", "-0.01"]
NO_AMOUNT = "Enter a number of dollars and cents, like 85.00."
OUT_OF_RANGE = "Enter an amount from"


def _draft(app, tenant) -> Invoice:
    made = Records(app)
    customer = made.customer(tenant)
    with made.session(tenant) as session:
        invoice = invoicing.blank_invoice(session, session.get(Customer, customer.id))
        invoicing.add_line(session, invoice, "Annual test", 1, 8500, True)
    return invoice


def _stored(app, model, **where) -> list:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(model).filter_by(**where)))


def _assert_refused_once(response, typed: str, *messages: str):
    assert response.status_code == 422, response.status_code
    page = response.text
    assert sum(page.count(message) for message in messages) == 1, [m for m in messages if m in page]
    assert f'value="{html.escape(typed)}"' in page  # what was typed stays in the field


@pytest.mark.parametrize("typed", NOT_AMOUNTS + TOO_MUCH)
def test_the_office_types_no_amount_on_each_money_form_and_gets_one_message(app, office, acme, planner,  # noqa: F811
                                                                            typed):
    today = dt.date.today().isoformat()
    messages = (NO_AMOUNT, OUT_OF_RANGE)
    prices = office.submit("/invoices/prices", {"kind": "test", "device_type": "DC", "unit_price": typed})
    _assert_refused_once(prices, typed, *messages)
    assert _stored(app, PriceItem, company_id=acme.id) == []

    draft = _draft(app, acme)
    line = office.submit(f"/invoices/{draft.id}/lines", {"description": "Permit", "quantity": "1",
                                                         "unit_price": typed})
    _assert_refused_once(line, typed, *messages)
    assert len(_stored(app, Invoice, id=draft.id)[0].lines) == 1

    sent = sent_invoice(app, acme)
    for path, fields in ((f"/invoices/{sent.id}/credit", {"reason": "Waived"}),
                         (f"/invoices/{sent.id}/payments", {"method": "cash", "received_on": today})):
        refused = office.submit(path, {"amount": typed, **fields})
        _assert_refused_once(refused, typed, *messages)
    assert _stored(app, Invoice, id=sent.id)[0].paid_cents == 0

    order = planner.work_order(acme)
    before = len(_stored(app, WorkOrderLine, work_order_id=order.id))
    work = office.submit(f"/work-orders/{order.id}/lines", {"description": "Permit", "quantity": "1",
                                                            "unit_price": typed})
    _assert_refused_once(work, typed, *messages)
    assert len(_stored(app, WorkOrderLine, work_order_id=order.id)) == before


def test_a_price_the_price_list_lacked_set_to_no_amount_is_not_saved_and_says_why(app, office, acme):
    draft = _draft(app, acme)
    refused = office.submit(f"/invoices/{draft.id}/lines/0/price", {"unit_price": "NaN"}, follow_redirects=True)
    assert f"Price not saved: {NO_AMOUNT}" in refused.text
    assert _stored(app, Invoice, id=draft.id)[0].lines[0]["unit_price_cents"] == 8500


def test_amounts_as_people_type_them_are_taken(app, office, acme):
    for typed, saved in (("85", 8500), ("$1,250.50", 125050), ("0.5", 50), ("-0", 0), (".99", 99)):
        office.submit("/invoices/prices", {"kind": "repair", "part": f"Part {typed}", "unit_price": typed})
        [item] = _stored(app, PriceItem, company_id=acme.id, part=f"part {typed}")
        assert item.unit_price_cents == saved, typed


@pytest.mark.parametrize("typed, message", [
    ("NaN", "Enter a whole number, like 12."),
    ("1e3", "Enter a whole number, like 12."),
    ("2.5", "Enter a whole number, like 12."),
    ("9" * 5000, "Enter a whole number, like 12."),  # beyond the digits Python's int() reads
    (str(10**30), "Enter a quantity from 1 to 10,000."),
    ("0", "Enter a quantity from 1 to 10,000."),
])
def test_a_quantity_that_is_no_whole_number_or_too_many_is_one_message(app, office, acme, planner,  # noqa: F811
                                                                       typed, message):
    order = planner.work_order(acme)
    refused = office.submit(f"/work-orders/{order.id}/lines", {"description": "Permit", "quantity": typed,
                                                               "unit_price": "10"})
    _assert_refused_once(refused, typed, message)
    draft = _draft(app, acme)
    refused = office.submit(f"/invoices/{draft.id}/lines", {"description": "Permit", "quantity": typed,
                                                            "unit_price": "10"})
    _assert_refused_once(refused, typed, message)


def test_the_admins_tax_rate_and_terms_refuse_what_is_no_number(admin):
    for tax_rate, terms, message, typed in (("NaN", "30", "Enter a percentage, like 8.25.", "NaN"),
                                            ("1e309", "30", "Enter a percentage, like 8.25.", "1e309"),
                                            ("8.25", str(10**30), "Number must be between 0 and 365.", str(10**30))):
        refused = admin.submit("/settings/invoicing", {"tax_rate": tax_rate, "payment_terms_days": terms})
        _assert_refused_once(refused, typed, message)
    far = admin.submit("/settings/field-tests", {"far_from_location_m": str(10**30)})
    _assert_refused_once(far, str(10**30), "Give a distance from 50 to 50,000 metres.")


def test_a_location_placed_at_no_latitude_is_refused(app, office, acme, records):  # noqa: F811
    location = records.location(acme)
    address = {"address_line1": "12 Harbor St", "city": "Springfield", "state": "OR", "postal_code": "97477",
               "district_id": ""}
    for latitude in ("NaN", "sNaN", "1e-999999999", "Infinity"):
        refused = office.submit(f"/locations/{location.id}/edit", {**address, "latitude": latitude,
                                                                   "longitude": "-123.0868"})
        _assert_refused_once(refused, latitude, "Enter a latitude in degrees, like 44.0521.")


def test_a_districts_interval_in_words_or_beyond_reason_is_one_message(app, office, acme):
    district = {"name": "Eugene Water", "test_interval_months": "12", "due_anchor": "last_test",
                "early_window_days": "0"}
    for field, typed, message in (("test_interval_months", "twelve", "Enter a whole number, like 12."),
                                  ("test_interval_months", str(10**30), "Number must be between 1 and 120."),
                                  ("early_window_days", "NaN", "Enter a whole number, like 12.")):
        refused = office.submit("/districts/new", {**district, field: typed})
        _assert_refused_once(refused, typed, message)
    assert _stored(app, District, company_id=acme.id) == []


@pytest.mark.parametrize("url", [f"/invoices/?after={10**30}", "/invoices/?after=-5", "/invoices/?after=1e3",
                                 f"/audit/?before={'9' * 40}", "/audit/?before=NaN"])
def test_a_list_page_after_no_row_there_could_be_is_a_400_that_says_so(admin, url):
    assert_our_page(admin.get(url), 400, "Not a page of this list.")
