"""Two repairs take the van's last part at the same moment, on two connections: both are recorded and the stock
reads -1, flagged for the inventory manager; neither change is lost."""
import threading
import uuid

import sqlalchemy as sa

from flowtrack.core.db import bind_company
from flowtrack.inventory import services
from flowtrack.models.field_tests import TestRecord
from flowtrack.models.inventory import Part, StockMovement
from tests.field_tests.factories import recorded_test
from tests.inventory.factories import Stock


def test_two_repairs_taking_the_last_part_at_once_both_succeed_and_leave_minus_one(app, acme, records):
    stock = Stock(app)
    part = stock.part(acme, device_types=[])
    technician = acme.members["technician"]
    van = stock.place(acme, "Theo's van", van_of=technician)
    stock.receive(acme, part, van, 1)
    tests = [recorded_test(app, None, acme).id for _ in range(2)]
    db = app.extensions["flowtrack.db"]
    ready = threading.Barrier(2)
    failures: list[BaseException] = []

    def take(test_id: uuid.UUID) -> None:
        try:
            with db.service() as session:
                bind_company(session, acme.id)
                # Each has read the van's stock (1) before either takes: a write-back of "what I read minus one"
                # would leave 0 and lose one of the two.
                assert session.scalar(sa.text("SELECT on_hand FROM stock_levels WHERE place_id = :p"),
                                      {"p": van.id}) == 1
                ready.wait(timeout=10)
                record = session.get(TestRecord, test_id)
                services.take_for_test(session, record.id, record.device_id, technician.user_id,
                                       [(session.get(Part, part.id), 1)], None)
                session.commit()
        except BaseException as failure:  # noqa: BLE001 (reported by the test's thread)
            failures.append(failure)

    threads = [threading.Thread(target=take, args=(test_id,)) for test_id in tests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert stock.on_hand(van, part) == -1
    with db.service() as session:
        afters = sorted(session.scalars(sa.select(StockMovement.on_hand_after).where(StockMovement.kind == "used",
                                                                                     StockMovement.part_id == part.id)))
    assert afters == [-1, 0]
    with records.session(acme) as session:
        [flagged] = [level for level in services.reorder_list(session) if level.part.id == part.id]
        assert flagged.negative and flagged.on_hand == -1
