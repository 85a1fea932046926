"""Parts, stock places and stock for tests, made through the inventory's services as the pages make them."""
from __future__ import annotations

import secrets

import sqlalchemy as sa

from flowtrack.inventory import services
from flowtrack.models.inventory import Part, StockLevel, StockMovement, StockPlace
from tests.customers.factories import Records
from tests.factories import Member, Tenant


class Stock:
    def __init__(self, app):
        self.app = app
        self.records = Records(app)

    def part(self, tenant: Tenant, **fields) -> Part:
        fields = {"sku": f"P-{secrets.token_hex(3).upper()}", "name": "Watts 009 total rubber kit",
                  "kind": "repair_kit", "unit_cost_cents": 1850, "unit_price_cents": 4200, "device_types": ["RP"],
                  **fields}
        with self.records.session(tenant) as session:
            return services.create_part(session, **fields)

    def place(self, tenant: Tenant, name: str | None = None, *, van_of: Member | None = None) -> StockPlace:
        with self.records.session(tenant) as session:
            if van_of is not None:
                return services.create_place(session, name=name or f"Van {secrets.token_hex(2)}", kind="van",
                                             technician_id=van_of.user_id)
            return services.create_place(session, name=name or f"Warehouse {secrets.token_hex(2)}",
                                         kind="warehouse")

    def receive(self, tenant: Tenant, part: Part, place: StockPlace, quantity: int) -> None:
        with self.records.session(tenant) as session:
            services.receive(session, session.get(Part, part.id), session.get(StockPlace, place.id), quantity,
                             by=None)

    def on_hand(self, place: StockPlace, part: Part) -> int | None:
        with self.app.extensions["flowtrack.db"].service() as session:
            return session.scalar(sa.select(StockLevel.on_hand).where(StockLevel.place_id == place.id,
                                                                     StockLevel.part_id == part.id))

    def movements(self, part: Part) -> list[StockMovement]:
        with self.app.extensions["flowtrack.db"].service() as session:
            return list(session.scalars(sa.select(StockMovement).where(StockMovement.part_id == part.id)
                                        .order_by(StockMovement.created_at, StockMovement.quantity)))


def _part(app, factory, tenant):
    return {"part_id": Stock(app).part(tenant).id}


INVENTORY_URLS = {endpoint: _part for endpoint in ("inventory.part", "inventory.edit_part", "inventory.threshold")}
