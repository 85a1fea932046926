"""A technician fits parts on a repair: they are chosen on the test form (and travel in the phone's outbox), leave
the technician's van, and go on the work order at the part's price, and so on the invoice; a test sent again or
amended takes nothing more."""
import re
import uuid

import pytest
import sqlalchemy as sa

from flowtrack.models.inventory import StockMovement
from flowtrack.models.scheduling import WorkOrderLine
from tests.customers.test_customers import audit_entries
from tests.field_tests.factories import DC_PASSING, SIGNED, submitted_test_id
from tests.field_tests.test_outbox import phone_test, send
from tests.inventory.factories import Stock
from tests.scheduling.factories import company_today

FAILED_DC = {"r_check1_psid": "0.5", "r_check2_psid": "1.8"}
RETEST = {f"retest_r_{key}": value for key, value in DC_PASSING.items()}


@pytest.fixture
def stock(app) -> Stock:
    return Stock(app)


@pytest.fixture
def van_with_discs(acme, stock):
    """The technician's van holding two Febco check discs (which fit a DC), and a Watts kit (which does not)."""
    disc = stock.part(acme, sku="FEB-765-DISC", name="Febco 765 check disc", kind="disc", unit_price_cents=2650,
                      device_types=["DC", "DCDA"])
    kit = stock.part(acme, sku="W-009-RK", name="Watts 009 total rubber kit", device_types=["RP"])
    van = stock.place(acme, "Theo's van", van_of=acme.members["technician"])
    stock.receive(acme, disc, van, 2)
    return van, disc, kit


def _job_with_a_dc(app, acme, planner):
    order = planner.work_order(acme, devices=1, device_type="DC", size="3/4")
    job = planner.job(acme, day=company_today(acme), order=order)
    with app.extensions["flowtrack.db"].service() as session:
        device_id = session.scalar(sa.text("SELECT device_id FROM work_order_devices WHERE work_order_id = :o"),
                                   {"o": order.id})
    return order, job, device_id


def _used(app, part) -> list[StockMovement]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(StockMovement).where(StockMovement.part_id == part.id,
                                                                   StockMovement.kind == "used")))


def test_a_part_fitted_on_a_repair_leaves_the_van_and_is_billed_at_its_price(
        app, acme, records, planner, technician, office, stock, van_with_discs):
    van, disc, kit = van_with_discs
    order, job, device_id = _job_with_a_dc(app, acme, planner)
    gauge = records.gauge(acme)
    assert technician.submit(f"/jobs/{job.id}/start").status_code == 303
    form = technician.get(f"/devices/{device_id}/tests/new?job={job.id}").text
    assert "Febco 765 check disc (FEB-765-DISC) · 2 in the van" in form
    assert "Watts 009 total rubber kit" not in form  # it does not fit a DC

    response = technician.submit(f"/devices/{device_id}/tests/new?job={job.id}", {
        "test_type": "annual", "gauge_id": str(gauge.id), **FAILED_DC, "repairs": "replaced disc",
        "part_1": str(disc.id), "part_qty_1": "1", **RETEST, **SIGNED})
    test_id = uuid.UUID(submitted_test_id(response))
    assert stock.on_hand(van, disc) == 1
    [used] = _used(app, disc)
    assert (used.quantity, used.on_hand_after, used.test_record_id, used.work_order_id, used.device_id,
            used.by_user_id) == (-1, 1, test_id, order.id, device_id, acme.members["technician"].user_id)
    assert audit_entries(app, acme, "stock.used")[0].changes == {
        "place": "Theo's van", "work_order": str(order.id),
        "parts": [{"part": "FEB-765-DISC", "quantity": 1, "on_hand_after": 1}]}

    page = office.get(f"/work-orders/{order.id}").text
    assert "Part: Febco 765 check disc (FEB-765-DISC)" in page and "$26.50" in page
    assert technician.submit(f"/jobs/{job.id}/complete").status_code == 303
    assert office.submit(f"/work-orders/{order.id}/invoice").status_code == 303
    invoice = office.get(f"/work-orders/{order.id}").text
    invoice_url = re.search(r'href="(/invoices/[0-9a-f-]{36})"', invoice).group(1)
    assert "Part: Febco 765 check disc (FEB-765-DISC)" in office.get(invoice_url).text
    with app.extensions["flowtrack.db"].service() as session:
        [line] = session.scalars(sa.select(WorkOrderLine).where(WorkOrderLine.work_order_id == order.id,
                                                                WorkOrderLine.description.like("Part:%")))
        assert (line.kind, line.device_id, line.quantity, line.unit_price_cents) == ("repair", device_id, 1, 2650)

    # An amendment keeps the parts as recorded: the form names them, and the van gives nothing more.
    amend = technician.get(f"/tests/{test_id}/amend").text
    assert "Parts fitted: 1 × Febco 765 check disc." in amend and 'name="part_1"' not in amend
    amended = technician.submit(f"/tests/{test_id}/amend", {
        "test_type": "annual", "gauge_id": str(gauge.id), **FAILED_DC, "repairs": "replaced disc", **RETEST,
        "part_1": str(disc.id), "amendment_reason": "Line pressure was left out"})
    assert amended.status_code == 303, amended.text
    assert stock.on_hand(van, disc) == 1 and len(_used(app, disc)) == 1


def test_the_last_part_fitted_takes_the_van_below_zero_and_the_inventory_manager_is_told(
        app, acme, records, technician, login, stock, van_with_discs):
    van, disc, _ = van_with_discs
    device = records.device(acme, device_type="DC")
    from tests.scheduling.factories import Planner
    Planner(app).assign(acme, device)
    gauge = records.gauge(acme)
    response = technician.submit(f"/devices/{device.id}/tests/new", {
        "test_type": "annual", "gauge_id": str(gauge.id), **FAILED_DC, "part_1": str(disc.id), "part_qty_1": "2",
        "part_2": str(disc.id), **RETEST, **SIGNED})
    submitted_test_id(response)
    assert stock.on_hand(van, disc) == -1  # two rows of the same part: three discs, one movement
    assert audit_entries(app, acme, "stock.used")[0].changes["below_zero"] == ["FEB-765-DISC"]
    reorder = login(acme, "inventory_manager").get("/inventory/reorder").text
    assert "Febco 765 check disc" in reorder and "below zero" in reorder


def test_a_test_from_the_outbox_sent_twice_takes_its_parts_once(
        app, acme, records, planner, technician, stock, van_with_discs):
    van, disc, _ = van_with_discs
    device = records.device(acme, records.location(acme), device_type="DC")
    job = planner.assign(acme, device, day=company_today(acme))
    data = phone_test(device, records.gauge(acme), job=job, part_1=str(disc.id), part_qty_1="1")
    client_id = uuid.uuid4()
    assert send(technician, client_id, data).status_code == 201
    assert send(technician, client_id, data).status_code == 200  # the answer was lost on the way
    assert stock.on_hand(van, disc) == 1 and len(_used(app, disc)) == 1


def test_parts_that_do_not_hold_together_are_refused_on_the_form(
        app, acme, records, technician, office, stock, van_with_discs):
    van, disc, kit = van_with_discs
    device = records.device(acme, device_type="DC")
    from tests.scheduling.factories import Planner
    Planner(app).assign(acme, device)
    gauge = records.gauge(acme)
    base = {"test_type": "annual", "gauge_id": str(gauge.id), **FAILED_DC, **RETEST, **SIGNED}
    for fields, message in (({"part_1": str(kit.id)}, "Watts 009 total rubber kit does not fit a DC assembly."),
                            ({"part_1": str(disc.id), "part_qty_1": "many"}, "Enter how many, from 1 to 99."),
                            ({"part_qty_2": "2"}, "Choose the part, or clear its quantity."),
                            ({"part_1": str(uuid.uuid4())}, "Choose a part from the list.")):
        refused = technician.submit(f"/devices/{device.id}/tests/new", {**base, **fields})
        assert refused.status_code == 422 and message in refused.text, fields
    # The office records tests too, but has no van to take parts from.
    refused = office.submit(f"/devices/{device.id}/tests/new", {**base, "part_1": str(disc.id)})
    assert refused.status_code == 422 and "Parts are taken from a technician&#39;s van" in refused.text
    assert stock.on_hand(van, disc) == 2 and _used(app, disc) == []
