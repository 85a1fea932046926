"""What a visit costs. A work order's lines are its price: adding a device adds its test fee from the company's
price list (by assembly type and size), a repair the technician records adds its price, each part fitted its
own price (from the parts inventory), and the trip charge is added once per visit. The office may change any line;
the invoice copies them as they are, so no test is billed twice.

A price missing from the list makes a $0.00 line marked `price_missing`, shown to the office on the work order
and the draft invoice (never to the customer); the invoice is not sent while such a line still asks $0.00.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.models.customers import Device
from flowtrack.models.inventory import Part
from flowtrack.models.invoicing import PriceItem, PriceKind
from flowtrack.models.scheduling import LineKind, WorkOrder, WorkOrderLine


@dataclass
class PriceBook:
    """The company's price list, looked up the way a visit needs it."""

    items: list[PriceItem]

    @classmethod
    def of(cls, session: so.Session) -> PriceBook:
        return cls(price_list(session))

    def test_fee(self, device_type: str, size: str | None) -> PriceItem | None:
        tests = [i for i in self.items if i.kind == PriceKind.test.value and i.device_type == device_type]
        return next((i for i in tests if i.size == (size or "")), None) or next((i for i in tests if not i.size), None)

    def repair(self, part: str) -> PriceItem | None:
        return next((i for i in self.items if i.kind == PriceKind.repair.value and i.part == part.lower()), None)

    def trip(self) -> PriceItem | None:
        return next((i for i in self.items if i.kind == PriceKind.trip.value), None)


def price_list(session: so.Session) -> list[PriceItem]:
    return list(session.scalars(sa.select(PriceItem).order_by(PriceItem.kind, PriceItem.device_type, PriceItem.size,
                                                             PriceItem.part)))


def _priced(kind: LineKind, description: str, price: PriceItem | None, device: Device | None = None) -> WorkOrderLine:
    return WorkOrderLine(kind=kind.value, device_id=device.id if device else None, description=description,
                         quantity=1, unit_price_cents=price.unit_price_cents if price else 0,
                         taxable=price.taxable if price else True, price_missing=price is None)


def device_test_line(book: PriceBook, device: Device) -> WorkOrderLine:
    size = f" {device.size}″" if device.size else ""
    return _priced(LineKind.test, f"Backflow test, {device.device_type}{size}, serial {device.serial}",
                   book.test_fee(device.device_type, device.size), device)


def repair_line(book: PriceBook, device: Device, repair: str) -> WorkOrderLine:
    return _priced(LineKind.repair, f"Repair: {repair} (serial {device.serial})", book.repair(repair), device)


def part_line(part: Part, device: Device, quantity: int) -> WorkOrderLine:
    """A part fitted on a repair, at the part's own price."""
    description = f"Part: {part.name[:200 - len(part.sku) - 9]} ({part.sku})"
    return WorkOrderLine(kind=LineKind.repair.value, device_id=device.id, description=description, quantity=quantity,
                         unit_price_cents=part.unit_price_cents, taxable=True, price_missing=False)


def trip_line(book: PriceBook) -> WorkOrderLine | None:
    """The trip charge, when the list has one (a company that charges none leaves it off the list)."""
    trip = book.trip()
    return _priced(LineKind.trip, "Trip charge", trip) if trip is not None else None


def billing_order(order: WorkOrder) -> list[WorkOrderLine]:
    """The lines as a bill reads them: each device's test and then its repairs, in the order the devices are
    visited; then the trip charge; then what the office added, oldest first."""
    position = {item.device_id: item.position for item in order.devices}
    rank = {LineKind.test.value: 0, LineKind.repair.value: 1}

    def key(indexed: tuple[int, WorkOrderLine]):
        index, line = indexed  # lines come in the order they were added
        if line.device_id is not None:
            return (0, position.get(line.device_id, len(position)), rank.get(line.kind, 2), index)
        return (1 if line.kind == LineKind.trip.value else 2, 0, 0, index)

    return [line for _, line in sorted(enumerate(order.lines), key=key)]
