"""When a cancelled company's grace ends, its invoices are what survive: customer gone, the billed identity
frozen in the snapshot, lines and totals intact. Payments, the price list, the numbering and the printed PDFs go."""
import datetime as dt

import sqlalchemy as sa

from flowtrack.invoices import services
from flowtrack.lifecycle import anonymize
from flowtrack.models.invoicing import Invoice
from flowtrack.models.scheduling import WorkOrder
from flowtrack.work_orders import services as work_orders
from tests.factories import file_store
from tests.invoices.factories import printed_invoice
from tests.invoices.test_invoices import sa_invoices
from tests.lifecycle.helpers import end_subscription

GONE = ("payments", "price_items", "invoice_counters", "customers", "work_orders")


def rows(app, tenant, table) -> int:
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE company_id = :c"), {"c": tenant.id})


def test_invoices_survive_the_sweep_without_their_customer_and_with_the_billed_identity(
        app, acme, bravo, records, planner):
    sent = printed_invoice(app, acme)
    customer = records.customer(acme, name="Lane Dairy", email="ap@lanedairy.example", phone="541-555-0177",
                                billing_address="400 Mill Rd")
    order = planner.work_order(acme, location=records.location(acme, customer))
    with records.session(acme) as session:
        services.record_payment(session, session.get(Invoice, sent.id), amount_cents=5000, method="check",
                                received_on=dt.date.today(), reference="77", recorded_by=None)
        services.set_price(session, kind="trip", unit_price_cents=4500)
        session.get(WorkOrder, order.id).status = "completed"  # as if the technician had closed it
        session.flush()
        draft = services.invoice_from_work_order(session, work_orders.get_work_order(session, order.id))
    kept = printed_invoice(app, bravo)
    pdf_before = rows(app, acme, "invoices")
    store = file_store(app)
    assert store.exists(f"{acme.id}/invoices/{sent.id}.pdf")

    end_subscription(app, acme.id, ago=31 * dt.timedelta(days=1))
    summary = anonymize.sweep(app.extensions["flowtrack.db"], dt.datetime.now(dt.timezone.utc), storage=store)
    [result] = [r for r in summary.by_status("anonymized") if r.company_id == acme.id]
    assert result.counts["invoices_customer_nulled"] == 2

    survivors = {i.id: i for i in sa_invoices(app, acme)}
    assert len(survivors) == pdf_before == 2
    assert all(i.customer_id is None and i.work_order_id is None for i in survivors.values())
    assert survivors[sent.id].customer_snapshot["email"] == "billing@harbor.example"  # frozen when sent
    assert survivors[sent.id].lines[0]["description"] == "Annual backflow test"
    assert (survivors[sent.id].total_cents, survivors[sent.id].paid_cents) == (12500, 5000)
    # A draft had no snapshot yet: the sweep froze the customer's identity into it before the customer went.
    assert survivors[draft.id].customer_snapshot == {"name": "Lane Dairy", "email": "ap@lanedairy.example",
                                                     "phone": "541-555-0177", "billing_address": "400 Mill Rd"}
    for table in GONE:
        assert rows(app, acme, table) == 0, table
    assert list(store.keys(str(acme.id))) == []  # the printed copies went with the rest of its files
    assert [i.customer_id is not None for i in sa_invoices(app, bravo)] == [True]
    assert store.exists(f"{bravo.id}/invoices/{kept.id}.pdf")
