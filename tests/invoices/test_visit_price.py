"""What a visit costs has one source: the work order's lines. Adding a device adds its test fee from the price list,
a repair the technician records adds its part, the trip charge comes once, and the invoice copies the lines as
they are, so no test is billed twice and a price the list lacks is the office's to settle, never the customer's
to read."""
import datetime as dt
import io
import random
import zoneinfo

import sqlalchemy as sa
from pypdf import PdfReader

from flowtrack.invoices import services as invoices
from flowtrack.models.customers import CustomerLocation
from flowtrack.models.invoicing import Invoice
from flowtrack.models.scheduling import NotTestedReason, WorkOrder, WorkOrderStatus
from flowtrack.work_orders import services as work_orders
from flowtrack.work_orders.pricing import billing_order
from tests.customers.test_customers import audit_entries
from tests.field_tests.factories import SIGNED, recorded_test

TODAY = dt.datetime.now(zoneinfo.ZoneInfo("America/Los_Angeles")).date()
PRICES = (
    {"kind": "test", "device_type": "RP", "size": "3/4", "unit_price": "95.00", "taxable": "y"},
    {"kind": "test", "device_type": "RP", "unit_price": "120.00", "taxable": "y"},
    {"kind": "test", "device_type": "DC", "unit_price": "75.00", "taxable": "y"},
    {"kind": "repair", "part": "replaced disc", "unit_price": "32.50", "taxable": "y"},
)


def set_prices(office, admin, tax_rate="8.25"):
    """The office's price list; the admin's tax rate, terms and trip charge (company settings)."""
    for price in PRICES:
        assert office.submit("/invoices/prices", price).status_code == 303
    assert admin.submit("/settings/trip-charge", {"trip_charge": "45", "trip_taxable": ""}).status_code == 303
    assert admin.submit("/settings/invoicing", {"tax_rate": tax_rate, "payment_terms_days": "30"}).status_code == 303


def lines_of(app, order_id):
    with app.extensions["flowtrack.db"].service() as session:
        order = work_orders.get_work_order(session, order_id)
        return [(line.kind, line.description, line.quantity, line.unit_price_cents, line.price_missing)
                for line in billing_order(order)]


def work_orders_of(app, tenant) -> list[WorkOrder]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(WorkOrder).where(WorkOrder.company_id == tenant.id)
                                    .order_by(WorkOrder.created_at)))


def invoice_of(app, order_id) -> Invoice:
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(Invoice).where(Invoice.work_order_id == order_id))


def test_the_visit_is_priced_from_the_list_and_invoiced_to_the_cent_without_billing_a_test_twice(
        app, office, admin, technician, acme, records, planner):
    set_prices(office, admin)
    location = records.location(acme)
    rp = records.device(acme, location, device_type="RP", size="3/4", serial="RP-3001")
    dc = records.device(acme, location, device_type="DC", size="1", serial="DC-3002")
    response = office.submit(f"/locations/{location.id}/work-orders/new",
                             {"kind": "test", "devices": [str(rp.id), str(dc.id)]})
    assert response.status_code == 303, response.text
    order = work_orders_of(app, acme)[-1]
    # The list's fee for an RP of 3/4" and, for the DC of 1" with no sized price, the DC's any-size fee.
    assert lines_of(app, order.id) == [
        ("test", "Backflow test, DC 1″, serial DC-3002", 1, 7500, False),
        ("test", "Backflow test, RP 3/4″, serial RP-3001", 1, 9500, False),
        ("trip", "Trip charge", 1, 4500, False)]
    page = office.get(f"/work-orders/{order.id}")
    assert "Backflow test, RP 3/4″, serial RP-3001" in page.text and "$215.00" in page.text

    job = planner.job(acme, day=TODAY, order=order)
    kit = records.gauge(acme)
    technician.submit(f"/jobs/{job.id}/start")
    failed_then_repaired = technician.submit(f"/devices/{rp.id}/tests/new", {
        "test_type": "annual", "gauge_id": str(kit.id), "r_check1_psid": "4.1", "r_relief_opened_psid": "2.8",
        "r_check2_psid": "1.6", "r_check2_closed_tight": "yes", "r_shutoff2_held": "yes", "repairs": "replaced disc",
        **{f"retest_r_{k}": v for k, v in {"check1_psid": "6.2", "relief_opened_psid": "2.8", "check2_psid": "1.6",
                                            "check2_closed_tight": "yes", "shutoff2_held": "yes"}.items()},
        **SIGNED})
    assert failed_then_repaired.status_code == 303, failed_then_repaired.text
    with records.session(acme) as session:
        item = next(i for i in work_orders.get_work_order(session, order.id).devices if i.device_id == dc.id)
        work_orders.mark_not_tested(session, item, NotTestedReason.no_access)
    assert technician.submit(f"/jobs/{job.id}/complete").status_code == 303
    # The DC was not tested: its fee left the bill. The repair joined it.
    assert [line[:2] for line in lines_of(app, order.id)] == [
        ("test", "Backflow test, RP 3/4″, serial RP-3001"), ("repair", "Repair: replaced disc (serial RP-3001)"),
        ("trip", "Trip charge")]

    office.submit(f"/work-orders/{order.id}/invoice")
    invoice = invoice_of(app, order.id)
    assert [(line["description"], line["unit_price_cents"]) for line in invoice.lines] == [
        ("Backflow test, RP 3/4″, serial RP-3001", 9500), ("Repair: replaced disc (serial RP-3001)", 3250),
        ("Trip charge", 4500)]
    # 95.00 + 32.50 taxed at 8.25% = 10.51875 -> 10.52; the trip is not taxed.
    assert (invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents) == (17250, 1052, 18302)
    assert invoice.total_cents == sum(line["amount_cents"] for line in invoice.lines) + invoice.tax_cents
    assert audit_entries(app, acme, "work_order.lines_added") and audit_entries(app, acme, "invoice.created")
    # Once invoiced, the work order's lines stay as they were billed.
    refused = office.submit(f"/work-orders/{order.id}/lines", {"description": "Late", "quantity": "1",
                                                               "unit_price": "5"})
    assert refused.status_code == 422 and f"on Invoice {invoice.number}" in refused.text


def test_a_price_the_list_lacks_is_the_offices_to_set_and_never_printed_for_the_customer(
        app, office, admin, acme, records, run_worker):
    set_prices(office, admin, tax_rate="0")
    location = records.location(acme)
    avb = records.device(acme, location, device_type="AVB", serial="AVB-77")
    with records.session(acme) as session:
        order = work_orders.create_work_order(session, session.get(CustomerLocation, location.id), [avb.id],
                                              created_by=None)
    page = office.get(f"/work-orders/{order.id}")
    assert "No price on the list" in page.text and "Set price" in page.text

    with records.session(acme) as session:  # the visit is done
        stored = work_orders.get_work_order(session, order.id)
        stored.devices[0].outcome = "tested"
        stored.status = WorkOrderStatus.completed.value
    office.submit(f"/work-orders/{order.id}/invoice")
    invoice = invoice_of(app, order.id)
    draft = office.get(f"/invoices/{invoice.id}")
    assert "No price on the list" in draft.text
    refused = office.submit(f"/invoices/{invoice.id}/send", follow_redirects=True)
    assert "Set a price for Backflow test, AVB, serial AVB-77 (the price list has none)" in refused.text
    assert invoice_of(app, order.id).status == "draft"

    bad = office.submit(f"/invoices/{invoice.id}/lines/0/price", {"unit_price": "12.345"}, follow_redirects=True)
    assert "Price not saved" in bad.text and "Whole cents only" in bad.text
    assert office.submit(f"/invoices/{invoice.id}/lines/0/price", {"unit_price": "55"}).status_code == 303
    sent = office.submit(f"/invoices/{invoice.id}/send", follow_redirects=True)
    assert "sent." in sent.text
    assert audit_entries(app, acme, "invoice.line_priced")
    run_worker()
    pdf = office.get(f"/invoices/{invoice.id}/pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Backflow test, AVB, serial AVB-77" in text and "$100.00" in text  # 55.00 + the 45.00 trip
    assert "price" not in text.lower().replace("unit price", "")


def test_every_invoice_made_from_a_work_order_is_its_lines_to_the_cent(app, acme, records, planner):
    """A property over many work orders made at random: devices of listed and unlisted types and sizes, devices
    tested (with repairs) or not, lines added, removed and repriced by the office."""
    rng = random.Random(20261207)
    with records.session(acme) as session:
        for kind, device_type, size, cents in (("test", "RP", "3/4", 9500), ("test", "RP", "", 12000),
                                               ("test", "DC", "", 7500), ("test", "PVB", "1", 6500)):
            invoices.set_price(session, kind=kind, device_type=device_type, size=size, unit_price_cents=cents)
        invoices.set_price(session, kind="repair", part="replaced disc", unit_price_cents=3250)
        invoices.set_price(session, kind="trip", unit_price_cents=4500, taxable=False)
        invoices.save_settings(session, tax_rate_bp=rng.choice((0, 825, 1000)), payment_terms_days=30)
    for _ in range(8):
        location = records.location(acme)
        made = [records.device(acme, location, device_type=rng.choice(("RP", "DC", "PVB", "AVB")),
                               size=rng.choice(("3/4", "1", "2"))) for _ in range(rng.randint(1, 3))]
        with records.session(acme) as session:
            order = work_orders.create_work_order(session, session.get(CustomerLocation, location.id),
                                                  [d.id for d in made], created_by=None)
        planner.job(acme, day=TODAY, order=order)
        for device in made:
            if rng.random() < 0.7 and device.device_type == "DC":
                recorded_test(app, None, acme, device, repairs=rng.choice(([], ["replaced disc"])))
        with records.session(acme) as session:
            stored = work_orders.get_work_order(session, order.id)
            for item in stored.devices:
                if item.outcome == "pending":
                    if rng.random() < 0.5:
                        work_orders.mark_not_tested(session, item, NotTestedReason.no_access)
                    else:
                        item.outcome = "tested"
            if rng.random() < 0.5:
                work_orders.add_line(session, stored, description="Permit", quantity=rng.randint(1, 3),
                                     unit_price_cents=rng.randint(0, 20000), taxable=rng.random() < 0.5)
            for line in list(stored.lines):
                if line.price_missing:
                    work_orders.set_line_price(session, stored, line.id, rng.randint(0, 15000))
            stored.status = WorkOrderStatus.completed.value
            billed = [(line.description, line.quantity, line.unit_price_cents, line.taxable) for line in stored.lines]
            invoice = invoices.invoice_from_work_order(session, stored)
            tested = [item.device for item in stored.devices if item.outcome == "tested"]

        assert sorted((line["description"], line["quantity"], line["unit_price_cents"], line["taxable"])
                      for line in invoice.lines) == sorted(billed)
        assert invoice.subtotal_cents == sum(line["quantity"] * line["unit_price_cents"] for line in invoice.lines)
        assert invoice.total_cents == invoice.subtotal_cents + invoice.tax_cents
        fees = [line["description"] for line in invoice.lines if line["description"].startswith("Backflow test")]
        assert len(fees) == len(set(fees)) == len(tested)  # each tested device's fee once; none for the others
        assert sum(1 for line in invoice.lines if line["description"] == "Trip charge") == 1

