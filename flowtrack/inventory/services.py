"""Parts inventory: parts, the places that hold them (the warehouse, each technician's van), and every movement of
stock, each written to the ledger and audited.

A place's stock of a part changes only by one statement that adds to it in the database
(`INSERT ... ON CONFLICT DO UPDATE SET on_hand = on_hand + :change RETURNING on_hand`), never by writing back a
number read earlier: two technicians fitting the van's last part at the same moment both succeed, and the stock
reads -1, not 0. Stock below zero is allowed (the books were wrong, the part was fitted) and shown to the inventory
manager, on the reorder list first.

A form sent twice (a double click) moves stock once: each form carries a key, the change takes the company's
audit lock before it looks for the key, and a unique index on (key, place) stands behind that.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from flowtrack.audit import services as audit
from flowtrack.core.db import lock_company_chain, new_id, utcnow
from flowtrack.core.permissions import Role
from flowtrack.models.accounts import Profile
from flowtrack.models.inventory import MovementKind, Part, PlaceKind, StockLevel, StockMovement, StockPlace

PART_FIELDS = ("sku", "name", "kind", "unit_cost_cents", "unit_price_cents", "device_types")
MOST = 100_000  # of one part in one movement, and a low-stock level
MOVEMENTS_SHOWN = 200


class StockRefused(Exception):
    """The change does not hold together; `field` is the form field the message belongs under."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# --- parts ------------------------------------------------------------------------------------------------------

def normal_sku(text: str) -> str:
    """SKUs compare without case or extra spaces: "w-009 rk" and "W-009  RK" are one part."""
    return " ".join(text.split()).upper()


def parts(session: so.Session) -> list[Part]:
    return list(session.scalars(sa.select(Part).order_by(Part.name, Part.sku)))


def get_part(session: so.Session, part_id: uuid.UUID | None) -> Part | None:
    if part_id is None:
        return None
    return session.scalar(sa.select(Part).where(Part.id == part_id))


def parts_fitting(session: so.Session, device_type: str) -> list[Part]:
    """The parts that fit an assembly type (those that list no type fit any)."""
    return [part for part in parts(session) if part.fits(device_type)]


def _snapshot(part: Part) -> dict[str, Any]:
    return {"sku": part.sku, "name": part.name, "kind": part.kind, "unit_cost_cents": part.unit_cost_cents,
            "unit_price_cents": part.unit_price_cents, "device_types": list(part.device_types or [])}


def _apply_part(session: so.Session, part: Part, values: dict[str, Any]) -> None:
    unknown = set(values) - set(PART_FIELDS)
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    values = {**values, "sku": normal_sku(values.get("sku", part.sku) or ""), "name": (values.get("name", part.name)
                                                                                      or "").strip()}
    taken = session.scalar(sa.select(Part.id).where(Part.sku == values["sku"], Part.id != part.id))
    if taken is not None:
        raise StockRefused(f"SKU {values['sku']} is already another part's.", "sku")
    for field, value in values.items():
        setattr(part, field, value)
    part.device_types = sorted(set(part.device_types or []))


def _flush_sku(session: so.Session, part: Part) -> None:
    """Flush, turning a unique-SKU violation (someone saved the same SKU just now) into a message."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        if "parts_sku_key" not in str(error.orig):
            raise
        raise StockRefused(f"SKU {part.sku} is already another part's.", "sku") from None


def create_part(session: so.Session, **values: Any) -> Part:
    part = Part(id=new_id())
    with session.no_autoflush:
        _apply_part(session, part, values)
    session.add(part)
    _flush_sku(session, part)
    audit.record(session, "part.created", entity_type="part", entity_id=part.id,
                 changes=audit.changes_between(None, _snapshot(part)))
    return part


def update_part(session: so.Session, part: Part, **values: Any) -> dict[str, Any]:
    before = _snapshot(part)
    with session.no_autoflush:
        _apply_part(session, part, values)
    changes = audit.changes_between(before, _snapshot(part))
    if changes:
        _flush_sku(session, part)
        audit.record(session, "part.updated", entity_type="part", entity_id=part.id, changes=changes)
    return changes


# --- places -----------------------------------------------------------------------------------------------------

def places(session: so.Session) -> list[StockPlace]:
    """Warehouses first, then the vans, each by name."""
    return list(session.scalars(sa.select(StockPlace).order_by(StockPlace.kind.desc(), StockPlace.name)))


def get_place(session: so.Session, place_id: uuid.UUID | None) -> StockPlace | None:
    if place_id is None:
        return None
    return session.scalar(sa.select(StockPlace).where(StockPlace.id == place_id))


def van_of(session: so.Session, technician_user_id: uuid.UUID) -> StockPlace | None:
    return session.scalar(sa.select(StockPlace).where(StockPlace.technician_id == technician_user_id))


def technicians_without_a_van(session: so.Session) -> list[Profile]:
    vans = sa.select(StockPlace.technician_id).where(StockPlace.technician_id.is_not(None))
    return list(session.scalars(sa.select(Profile).where(Profile.role == Role.technician.value,
                                                         Profile.user_id.not_in(vans))
                                .order_by(Profile.full_name)))


def create_place(session: so.Session, *, name: str, kind: str, technician_id: uuid.UUID | None = None) -> StockPlace:
    """A warehouse, or a technician's van (one each)."""
    name = " ".join(name.split())
    kind = PlaceKind(kind).value
    if kind == PlaceKind.van.value and technician_id is None:
        raise StockRefused("Choose the technician whose van it is.", "technician")
    if kind == PlaceKind.warehouse.value:
        technician_id = None
    lock_company_chain(session, session.info["company_id"])  # two people adding the same place take turns
    if session.scalar(sa.select(StockPlace.id).where(StockPlace.name == name)) is not None:
        raise StockRefused(f"There is a stock place called {name} already.", "name")
    if technician_id is not None:
        if session.scalar(sa.select(Profile.id).where(Profile.user_id == technician_id)) is None:
            raise StockRefused("Choose the technician whose van it is.", "technician")
        if van_of(session, technician_id) is not None:
            raise StockRefused("That technician has a van already.", "technician")
    place = StockPlace(id=new_id(), name=name, kind=kind, technician_id=technician_id)
    session.add(place)
    session.flush()
    audit.record(session, "stock_place.created", entity_type="stock_place", entity_id=place.id,
                 changes={"name": place.name, "kind": place.kind,
                          **({"technician": str(technician_id)} if technician_id else {})})
    return place


def van_for(session: so.Session, technician_user_id: uuid.UUID) -> StockPlace:
    """The technician's van; the first parts they record start it, named after them, should the inventory manager
    not have set it up yet (the repair is not lost for want of a place in the books)."""
    van = van_of(session, technician_user_id)
    if van is not None:
        return van
    who = session.scalar(sa.select(Profile.full_name).where(Profile.user_id == technician_user_id)) or "Technician"
    name, number = f"Van: {who}", 1
    while session.scalar(sa.select(StockPlace.id).where(StockPlace.name == name)) is not None:
        number += 1
        name = f"Van: {who} ({number})"
    return create_place(session, name=name, kind=PlaceKind.van.value, technician_id=technician_user_id)


# --- levels -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Level:
    """A part's stock at a place, as the pages show it."""

    part: Part
    place: StockPlace
    on_hand: int
    low_threshold: int

    @property
    def negative(self) -> bool:
        return self.on_hand < 0

    @property
    def low(self) -> bool:
        return self.on_hand <= self.low_threshold


def _levels(session: so.Session, *where) -> list[Level]:
    rows = session.execute(sa.select(StockLevel, Part, StockPlace).join(Part, Part.id == StockLevel.part_id)
                           .join(StockPlace, StockPlace.id == StockLevel.place_id).where(*where)
                           .order_by(Part.name, Part.sku, StockPlace.kind.desc(), StockPlace.name)
                           .execution_options(populate_existing=True))
    return [Level(part, place, level.on_hand, level.low_threshold) for level, part, place in rows]


def levels_of_part(session: so.Session, part: Part) -> list[Level]:
    return _levels(session, StockLevel.part_id == part.id)


def levels_at(session: so.Session, place: StockPlace) -> list[Level]:
    return _levels(session, StockLevel.place_id == place.id)


def stock_table(session: so.Session) -> tuple[list[Part], list[StockPlace], dict[tuple[uuid.UUID, uuid.UUID], Level]]:
    """Every part against every place: (parts, places, {(part id, place id): level}) for the parts list."""
    levels = {(level.part.id, level.place.id): level for level in _levels(session)}
    return parts(session), places(session), levels


def reorder_list(session: so.Session) -> list[Level]:
    """Levels at or below their low-stock level: those below zero first (the books are wrong there), then by part."""
    listed = _levels(session, StockLevel.on_hand <= StockLevel.low_threshold)
    return sorted(listed, key=lambda level: not level.negative)


def below_zero() -> sa.Select:
    """How many levels are below zero (a statement, for the dashboard's summary too)."""
    return sa.select(sa.func.count()).select_from(StockLevel).where(StockLevel.on_hand < 0)


def at_or_below_low() -> sa.Select:
    """How many levels are on the reorder list, those below zero among them."""
    return sa.select(sa.func.count()).select_from(StockLevel).where(StockLevel.on_hand <= StockLevel.low_threshold)


def attention_counts(session: so.Session) -> dict[str, int]:
    """{"stock_negative": levels below zero, "stock_low": levels on the reorder list}, in one statement."""
    row = session.execute(sa.select(below_zero().scalar_subquery().label("stock_negative"),
                                    at_or_below_low().scalar_subquery().label("stock_low"))).one()
    return dict(row._mapping)


def _change(session: so.Session, part_id: uuid.UUID, place_id: uuid.UUID, change: int) -> int:
    """Add `change` to a place's stock of a part in one statement (the row is made at the first movement), and
    return the stock after it: concurrent changes wait for each other's row and add up, none is lost."""
    table = StockLevel.__table__
    now = utcnow()
    statement = insert(table).values(id=new_id(), company_id=session.info["company_id"], part_id=part_id,
                                     place_id=place_id, on_hand=change, low_threshold=0, updated_at=now)
    statement = statement.on_conflict_do_update(
        constraint="stock_levels_part_place_key",
        set_={"on_hand": table.c.on_hand + statement.excluded.on_hand, "updated_at": now},
    ).returning(table.c.on_hand)
    return session.execute(statement).scalar_one()


def _locked_on_hand(session: so.Session, part_id: uuid.UUID, place_id: uuid.UUID) -> int:
    """The stock now, its row locked until the transaction ends (a count or a transfer decides on it)."""
    found = session.scalar(sa.select(StockLevel.on_hand).where(StockLevel.part_id == part_id,
                                                              StockLevel.place_id == place_id).with_for_update())
    return found or 0


def _movement(session: so.Session, kind: MovementKind, part: Part, place: StockPlace, change: int, *,
              by: uuid.UUID | None, reason: str | None = None, other_place: StockPlace | None = None,
              form_key: uuid.UUID | None = None, **where_used: uuid.UUID | None) -> StockMovement:
    after = _change(session, part.id, place.id, change)
    movement = StockMovement(id=new_id(), part_id=part.id, place_id=place.id, kind=kind.value, quantity=change,
                             on_hand_after=after, reason=(reason or "").strip() or None,
                             other_place_id=other_place.id if other_place else None, form_key=form_key,
                             by_user_id=by, **where_used)
    session.add(movement)
    return movement


def _sent_before(session: so.Session, form_key: uuid.UUID | None) -> StockMovement | None:
    """The movement a form with this key made already (a double click), after taking the company's audit lock, so
    that the second of two clicks waits for the first and finds what it did."""
    lock_company_chain(session, session.info["company_id"])
    if form_key is None:
        return None
    return session.scalar(sa.select(StockMovement).where(StockMovement.form_key == form_key)
                          .order_by(StockMovement.quantity).limit(1))


def _quantity(quantity: int, field: str = "quantity") -> None:
    if not 1 <= quantity <= MOST:
        raise StockRefused(f"Enter a quantity from 1 to {MOST:,}.", field)


def _audited(movement: StockMovement, part: Part, place: StockPlace, **more: Any) -> dict[str, Any]:
    return {"part": part.sku, "place": place.name, "quantity": movement.quantity,
            "on_hand_after": movement.on_hand_after, **({"reason": movement.reason} if movement.reason else {}),
            **more}


def receive(session: so.Session, part: Part, place: StockPlace, quantity: int, *, by: uuid.UUID | None,
            reason: str | None = None, form_key: uuid.UUID | None = None) -> StockMovement:
    """Parts come in (from a supplier) to a place."""
    _quantity(quantity)
    done = _sent_before(session, form_key)
    if done is not None:
        return done
    movement = _movement(session, MovementKind.received, part, place, quantity, by=by, reason=reason,
                         form_key=form_key)
    session.flush()
    audit.record(session, "stock.received", entity_type="part", entity_id=part.id,
                 changes=_audited(movement, part, place))
    return movement


def transfer(session: so.Session, part: Part, source: StockPlace, target: StockPlace, quantity: int, *,
             by: uuid.UUID | None, reason: str | None = None, form_key: uuid.UUID | None = None) -> StockMovement:
    """Parts move from one place to another (the warehouse to a van, most often): no more than the source holds."""
    _quantity(quantity)
    if source.id == target.id:
        raise StockRefused("Choose two different places.", "target")
    done = _sent_before(session, form_key)
    if done is not None:
        return done
    held = _locked_on_hand(session, part.id, source.id)
    if quantity > held:
        raise StockRefused(f"{source.name} holds {held} of {part.name}; count it first if it holds more.",
                           "quantity")
    out = _movement(session, MovementKind.transfer_out, part, source, -quantity, by=by, reason=reason,
                    other_place=target, form_key=form_key)
    into = _movement(session, MovementKind.transfer_in, part, target, quantity, by=by, reason=reason,
                     other_place=source, form_key=form_key)
    session.flush()
    audit.record(session, "stock.transferred", entity_type="part", entity_id=part.id,
                 changes={"part": part.sku, "from": source.name, "to": target.name, "quantity": quantity,
                          "from_on_hand_after": out.on_hand_after, "to_on_hand_after": into.on_hand_after,
                          **({"reason": out.reason} if out.reason else {})})
    return out


def count(session: so.Session, part: Part, place: StockPlace, counted: int, *, by: uuid.UUID | None,
          reason: str | None = None, form_key: uuid.UUID | None = None) -> StockMovement:
    """What was found on the shelf: the stock becomes the count, and the difference is the movement."""
    if not 0 <= counted <= MOST:
        raise StockRefused(f"Enter the number counted, from 0 to {MOST:,}.", "quantity")
    done = _sent_before(session, form_key)
    if done is not None:
        return done
    before = _locked_on_hand(session, part.id, place.id)
    movement = _movement(session, MovementKind.counted, part, place, counted - before, by=by, reason=reason,
                         form_key=form_key)
    session.flush()
    audit.record(session, "stock.counted", entity_type="part", entity_id=part.id,
                 changes=_audited(movement, part, place, on_hand_before=before, counted=counted))
    return movement


def adjust(session: so.Session, part: Part, place: StockPlace, change: int, *, by: uuid.UUID | None, reason: str,
           form_key: uuid.UUID | None = None) -> StockMovement:
    """A correction with its reason (damaged, returned to the supplier, found): added to the stock as it is."""
    if change == 0 or not -MOST <= change <= MOST:
        raise StockRefused(f"Enter the change, from -{MOST:,} to {MOST:,}, not 0.", "quantity")
    if not (reason or "").strip():
        raise StockRefused("Say why the stock changes.", "reason")
    done = _sent_before(session, form_key)
    if done is not None:
        return done
    movement = _movement(session, MovementKind.adjusted, part, place, change, by=by, reason=reason,
                         form_key=form_key)
    session.flush()
    audit.record(session, "stock.adjusted", entity_type="part", entity_id=part.id,
                 changes=_audited(movement, part, place))
    return movement


def set_threshold(session: so.Session, part: Part, place: StockPlace, low_threshold: int) -> None:
    """The stock at or below which the part is on the reorder list for that place."""
    if not 0 <= low_threshold <= MOST:
        raise StockRefused(f"Enter a level from 0 to {MOST:,}.", "low_threshold")
    lock_company_chain(session, session.info["company_id"])
    _change(session, part.id, place.id, 0)  # the row, made if this is the first thing known of it
    level = session.scalar(sa.select(StockLevel).where(StockLevel.part_id == part.id, StockLevel.place_id == place.id)
                           .with_for_update().execution_options(populate_existing=True))
    before = level.low_threshold
    if before == low_threshold:
        return
    level.low_threshold = low_threshold
    session.flush()
    audit.record(session, "stock.threshold_set", entity_type="part", entity_id=part.id,
                 changes={"part": part.sku, "place": place.name,
                          "low_threshold": {"before": before, "after": low_threshold}})


def movements_of(session: so.Session, part: Part, limit: int = MOVEMENTS_SHOWN) -> list[StockMovement]:
    """A part's movements, newest first, with their places and who made them."""
    return list(session.scalars(sa.select(StockMovement).where(StockMovement.part_id == part.id)
                                .options(so.joinedload(StockMovement.place), so.joinedload(StockMovement.other_place))
                                .order_by(StockMovement.created_at.desc(), StockMovement.quantity).limit(limit)))


def people_named(session: so.Session, user_ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    ids = {user_id for user_id in user_ids if user_id is not None}
    if not ids:
        return {}
    return dict(session.execute(sa.select(Profile.user_id, Profile.full_name).where(Profile.user_id.in_(ids))).all())


# --- parts fitted on a repair -----------------------------------------------------------------------------------

def parts_used_on(session: so.Session, test_record_ids: list[uuid.UUID]) -> list[tuple[Part, int]]:
    """The parts a test took from the van (the test and the record it amends, which took them)."""
    rows = session.execute(sa.select(Part, StockMovement.quantity).join(Part, Part.id == StockMovement.part_id)
                           .where(StockMovement.test_record_id.in_(test_record_ids))
                           .order_by(Part.name))
    return [(part, -quantity) for part, quantity in rows]


def take_for_test(session: so.Session, test_record_id: uuid.UUID, device_id: uuid.UUID,
                  technician_user_id: uuid.UUID, used: list[tuple[Part, int]],
                  work_order_id: uuid.UUID | None) -> list[StockMovement]:
    """Take the parts a technician fitted from their van, once per test and part (a test sent again takes
    nothing more: its movements exist). The van may go below zero; the audit entry names each place that did."""
    if not used:
        return []
    lock_company_chain(session, session.info["company_id"])  # the audit lock before the stock rows, as every writer
    taken = set(session.scalars(sa.select(StockMovement.part_id)
                                .where(StockMovement.test_record_id == test_record_id)))
    van = van_for(session, technician_user_id)
    movements = [_movement(session, MovementKind.used, part, van, -quantity, by=technician_user_id,
                           test_record_id=test_record_id, device_id=device_id, work_order_id=work_order_id)
                 for part, quantity in used if part.id not in taken]
    if not movements:
        return []
    session.flush()
    skus = {part.id: part.sku for part, _ in used}
    audit.record(session, "stock.used", entity_type="test_record", entity_id=test_record_id,
                 changes={"place": van.name, "work_order": str(work_order_id) if work_order_id else None,
                          "parts": [{"part": skus[m.part_id], "quantity": -m.quantity,
                                     "on_hand_after": m.on_hand_after} for m in movements],
                          **({"below_zero": [skus[m.part_id] for m in movements if m.on_hand_after < 0]}
                             if any(m.on_hand_after < 0 for m in movements) else {})})
    return movements
