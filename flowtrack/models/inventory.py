"""Parts and where they are: the warehouse and each technician's van, how many of each part each holds, and the
ledger of every movement that changed those numbers."""
from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import ARRAY

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow
from flowtrack.models.customers import _check_in


class PartKind(str, enum.Enum):
    repair_kit = "repair_kit"
    spring = "spring"
    disc = "disc"
    seat = "seat"
    module = "module"
    relief_valve = "relief_valve"
    other = "other"

    @property
    def label(self) -> str:
        return {"repair_kit": "Repair kit", "spring": "Spring", "disc": "Check disc", "seat": "Seat",
                "module": "Check module", "relief_valve": "Relief valve", "other": "Other"}[self.value]


class Part(TenantScoped, Base):
    """A part the company stocks and fits: its SKU (one per company), what it costs and what the customer pays."""

    __tablename__ = "parts"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "sku", name="parts_sku_key"),
        _check_in("kind", PartKind, "parts_kind_check"),
        sa.CheckConstraint("unit_cost_cents BETWEEN 0 AND 100000000", name="parts_cost_check"),
        sa.CheckConstraint("unit_price_cents BETWEEN 0 AND 100000000", name="parts_price_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    sku: so.Mapped[str] = so.mapped_column(sa.String(40))
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    kind: so.Mapped[str] = so.mapped_column(sa.String(16), default=PartKind.other.value)
    unit_cost_cents: so.Mapped[int] = so.mapped_column(default=0)
    unit_price_cents: so.Mapped[int] = so.mapped_column(default=0)
    # The assembly types it fits (RP, DC, ...); none listed: it fits any.
    device_types: so.Mapped[list[str]] = so.mapped_column(ARRAY(sa.String(8)), default=list)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    @property
    def kind_label(self) -> str:
        return PartKind(self.kind).label

    @property
    def label(self) -> str:
        return f"{self.name} ({self.sku})"

    def fits(self, device_type: str) -> bool:
        return not self.device_types or device_type in self.device_types


class PlaceKind(str, enum.Enum):
    warehouse = "warehouse"
    van = "van"

    @property
    def label(self) -> str:
        return {"warehouse": "Warehouse", "van": "Van"}[self.value]


class StockPlace(TenantScoped, Base):
    """Where parts are kept: a warehouse, or a technician's van (one van each)."""

    __tablename__ = "stock_places"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "name", name="stock_places_name_key"),
        sa.Index("stock_places_technician_key", "company_id", "technician_id", unique=True,
                 postgresql_where=sa.text("technician_id IS NOT NULL")),
        sa.Index("ix_stock_places_technician_id", "technician_id"),
        _check_in("kind", PlaceKind, "stock_places_kind_check"),
        sa.CheckConstraint("(kind = 'van') = (technician_id IS NOT NULL)", name="stock_places_van_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    name: so.Mapped[str] = so.mapped_column(sa.String(100))
    kind: so.Mapped[str] = so.mapped_column(sa.String(12), default=PlaceKind.warehouse.value)
    technician_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    @property
    def kind_label(self) -> str:
        return PlaceKind(self.kind).label


class StockLevel(TenantScoped, Base):
    """How many of a part a place holds. It may go below zero (a technician fitted a part the books did not know
    the van had): the inventory manager is shown it to count or correct. At or below `low_threshold` the part is
    on the reorder list."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        sa.UniqueConstraint("part_id", "place_id", name="stock_levels_part_place_key"),
        sa.Index("ix_stock_levels_place_id", "place_id"),
        sa.CheckConstraint("low_threshold BETWEEN 0 AND 100000", name="stock_levels_threshold_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    part_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("parts.id"))
    place_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("stock_places.id"))
    on_hand: so.Mapped[int] = so.mapped_column(default=0)
    low_threshold: so.Mapped[int] = so.mapped_column(default=0)
    updated_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    part: so.Mapped[Part] = so.relationship(lazy="raise")
    place: so.Mapped[StockPlace] = so.relationship(lazy="raise")

    @property
    def negative(self) -> bool:
        return self.on_hand < 0

    @property
    def low(self) -> bool:
        return self.on_hand <= self.low_threshold


class MovementKind(str, enum.Enum):
    received = "received"
    transfer_out = "transfer_out"
    transfer_in = "transfer_in"
    counted = "counted"
    adjusted = "adjusted"
    used = "used"

    @property
    def label(self) -> str:
        return {"received": "Received", "transfer_out": "Transferred out", "transfer_in": "Transferred in",
                "counted": "Counted", "adjusted": "Adjusted", "used": "Used on a repair"}[self.value]


class StockMovement(TenantScoped, Base):
    """One change of a place's stock of a part, never changed or removed (the app may only add them): `quantity`
    is the change (negative for what left), `on_hand_after` the place's stock right after it."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        sa.Index("stock_movements_part_idx", "part_id", "created_at"),
        sa.Index("ix_stock_movements_place_id", "place_id"),
        sa.Index("ix_stock_movements_other_place_id", "other_place_id"),
        sa.Index("ix_stock_movements_work_order_id", "work_order_id"),
        sa.Index("ix_stock_movements_device_id", "device_id"),
        sa.Index("ix_stock_movements_by_user_id", "by_user_id"),
        # A test takes each part once, however often it is sent.
        sa.Index("stock_movements_test_part_key", "test_record_id", "part_id", unique=True,
                 postgresql_where=sa.text("test_record_id IS NOT NULL")),
        # A form sent twice (a double click) moves the stock once.
        sa.Index("stock_movements_form_key", "company_id", "form_key", "place_id", unique=True,
                 postgresql_where=sa.text("form_key IS NOT NULL")),
        _check_in("kind", MovementKind, "stock_movements_kind_check"),
        sa.CheckConstraint("(kind = 'used') = (test_record_id IS NOT NULL)", name="stock_movements_used_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    part_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("parts.id"))
    place_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("stock_places.id"))
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    quantity: so.Mapped[int]
    on_hand_after: so.Mapped[int]
    reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    # The transfer's other end.
    other_place_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("stock_places.id"))
    test_record_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("test_records.id"))
    work_order_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("work_orders.id"))
    device_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("devices.id"))
    form_key: so.Mapped[uuid.UUID | None]
    by_user_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)

    part: so.Mapped[Part] = so.relationship(lazy="raise")
    place: so.Mapped[StockPlace] = so.relationship(lazy="raise", foreign_keys=[place_id])
    other_place: so.Mapped[StockPlace | None] = so.relationship(lazy="raise", foreign_keys=[other_place_id])

    @property
    def kind_label(self) -> str:
        return MovementKind(self.kind).label
