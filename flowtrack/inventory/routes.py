"""Parts and stock: the parts list against every place, a part's page and ledger, the stock places, receiving,
transfers, counts and adjustments, the reorder list, and a technician's own van."""
import uuid
from decimal import Decimal

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.companies.services import company_timezone
from flowtrack.core.forms import add_error
from flowtrack.core.money import cents
from flowtrack.core.permissions import INVENTORY_MANAGE, INVENTORY_VAN, INVENTORY_VIEW, requires
from flowtrack.inventory import services
from flowtrack.inventory.forms import (
    AdjustForm,
    CountForm,
    PartForm,
    PlaceForm,
    ReceiveForm,
    StockForm,
    ThresholdForm,
    TransferForm,
    chosen_id,
)
from flowtrack.models.inventory import Part

bp = Blueprint("inventory", __name__, url_prefix="/inventory")


@bp.get("/")
@requires(INVENTORY_VIEW)
def index():
    """Every part against every place, with what is below zero or low marked."""
    all_parts, places, levels = services.stock_table(g.db)
    return render_template("inventory/index.html", parts=all_parts, places=places, levels=levels,
                           attention=services.attention_counts(g.db))


def _part(part_id: uuid.UUID) -> Part:
    part = services.get_part(g.db, part_id)
    if part is None:
        abort(404)
    return part


def _part_page(part: Part, threshold_form: ThresholdForm | None = None, status: int = 200):
    movements = services.movements_of(g.db, part)
    form = threshold_form or ThresholdForm(formdata=None)
    form.place.choices = _place_choices()
    return render_template("inventory/part.html", part=part, levels=services.levels_of_part(g.db, part),
                           movements=movements, threshold_form=form, timezone=company_timezone(g.db).key,
                           people=services.people_named(g.db, {m.by_user_id for m in movements})), status


@bp.get("/parts/<uuid:part_id>")
@requires(INVENTORY_VIEW)
def part(part_id: uuid.UUID):
    """A part: its stock in each place and every movement of it."""
    return _part_page(_part(part_id))


def _part_values(form: PartForm) -> dict:
    return {"sku": form.sku.data, "name": form.name.data, "kind": form.kind.data,
            "unit_cost_cents": cents(form.unit_cost.data), "unit_price_cents": cents(form.unit_price.data),
            "device_types": list(form.device_types.data or [])}


def _part_form_page(form: PartForm, part: Part | None, status: int):
    return render_template("inventory/part_form.html", form=form, part=part), status


@bp.route("/parts/new", methods=["GET", "POST"])
@requires(INVENTORY_MANAGE)
def new_part():
    form = PartForm()
    if not form.validate_on_submit():
        return _part_form_page(form, None, 422 if form.is_submitted() else 200)
    try:
        created = services.create_part(g.db, **_part_values(form))
    except services.StockRefused as refused:
        g.db.rollback()
        add_error(form[refused.field or "sku"], str(refused))
        return _part_form_page(form, None, 422)
    g.db.commit()
    flash(f"{created.name} added.", "success")
    return redirect(url_for("inventory.part", part_id=created.id), code=303)


@bp.route("/parts/<uuid:part_id>/edit", methods=["GET", "POST"])
@requires(INVENTORY_MANAGE)
def edit_part(part_id: uuid.UUID):
    found = _part(part_id)
    form = PartForm(data=None if request.method == "POST" else {
        "sku": found.sku, "name": found.name, "kind": found.kind, "device_types": list(found.device_types),
        "unit_cost": Decimal(found.unit_cost_cents).scaleb(-2),
        "unit_price": Decimal(found.unit_price_cents).scaleb(-2)})
    if not form.validate_on_submit():
        return _part_form_page(form, found, 422 if form.is_submitted() else 200)
    try:
        services.update_part(g.db, found, **_part_values(form))
    except services.StockRefused as refused:
        g.db.rollback()
        add_error(form[refused.field or "sku"], str(refused))
        return _part_form_page(form, found, 422)
    g.db.commit()
    flash("Changes saved.", "success")
    return redirect(url_for("inventory.part", part_id=found.id), code=303)


@bp.post("/parts/<uuid:part_id>/threshold")
@requires(INVENTORY_MANAGE)
def threshold(part_id: uuid.UUID):
    """The stock at a place at or below which the part goes on the reorder list."""
    found = _part(part_id)
    form = ThresholdForm()
    form.place.choices = _place_choices()
    if not form.validate_on_submit():
        return _part_page(found, form, 422)
    services.set_threshold(g.db, found, services.get_place(g.db, chosen_id(form.place)), form.low_threshold.data)
    g.db.commit()
    flash("Low-stock level saved.", "success")
    return redirect(url_for("inventory.part", part_id=found.id), code=303)


# --- places -----------------------------------------------------------------------------------------------------

def _place_choices() -> list[tuple[str, str]]:
    return [("", "Choose…"), *((str(p.id), p.name) for p in services.places(g.db))]


def _places_page(form: PlaceForm, status: int):
    form.technician.choices = [("", "—"), *((str(p.user_id), p.full_name)
                                            for p in services.technicians_without_a_van(g.db))]
    return render_template("inventory/places.html", places=services.places(g.db), form=form), status


@bp.get("/places")
@requires(INVENTORY_VIEW)
def places():
    """The warehouse and the vans."""
    return _places_page(PlaceForm(formdata=None), 200)


@bp.post("/places")
@requires(INVENTORY_MANAGE)
def new_place():
    form = PlaceForm()
    if not form.validate_on_submit():
        return _places_page(form, 422)
    try:
        place = services.create_place(g.db, name=form.name.data, kind=form.kind.data,
                                      technician_id=chosen_id(form.technician))
    except services.StockRefused as refused:
        g.db.rollback()
        add_error(form[refused.field or "name"], str(refused))
        return _places_page(form, 422)
    g.db.commit()
    flash(f"{place.name} added.", "success")
    return redirect(url_for("inventory.places"), code=303)


# --- movements --------------------------------------------------------------------------------------------------

MOVES = {  # endpoint: (form, title, what the button says, what is said after)
    "receive": (ReceiveForm, "Receive stock", "Receive", "Received {quantity} × {part} into {place}."),
    "transfer": (TransferForm, "Transfer stock", "Transfer", "Moved {quantity} × {part} from {place} to {target}."),
    "count": (CountForm, "Count stock", "Save the count", "{part} at {place} counted: {after}."),
    "adjust": (AdjustForm, "Adjust stock", "Adjust", "{part} at {place} adjusted by {quantity}: {after}."),
}


def _move_form(kind: str) -> StockForm:
    form_class = MOVES[kind][0]
    if request.method == "POST":
        form = form_class()
    else:  # opened from a part's page or the reorder list: the part and place chosen already
        form = form_class(formdata=None, part=request.args.get("part", ""), place=request.args.get("place", ""),
                          target=request.args.get("target", ""))
    form.part.choices = [("", "Choose…"), *((str(p.id), p.label) for p in services.parts(g.db))]
    form.place.choices = _place_choices()
    if isinstance(form, TransferForm):
        form.target.choices = _place_choices()
    return form


def _move_page(kind: str, form: StockForm, status: int):
    _, title, button, _ = MOVES[kind]
    return render_template("inventory/move.html", kind=kind, form=form, title=title, button=button), status


def _move(kind: str, action):
    form = _move_form(kind)
    if not form.validate_on_submit():
        return _move_page(kind, form, 422 if form.is_submitted() else 200)
    part, place = services.get_part(g.db, chosen_id(form.part)), services.get_place(g.db, chosen_id(form.place))
    try:
        movement = action(part, place, form)
    except services.StockRefused as refused:
        g.db.rollback()
        add_error(form[refused.field] if refused.field in form else form.quantity, str(refused))
        return _move_page(kind, form, 422)
    g.db.commit()
    target = form.target.data if isinstance(form, TransferForm) else None
    flash(MOVES[kind][3].format(quantity=form.quantity.data, part=part.name, place=place.name,
                                after=movement.on_hand_after,
                                target=services.get_place(g.db, uuid.UUID(target)).name if target else ""),
          "success")
    return redirect(url_for("inventory.part", part_id=part.id), code=303)


@bp.route("/receive", methods=["GET", "POST"])
@requires(INVENTORY_MANAGE)
def receive():
    """Parts in from a supplier."""
    return _move("receive", lambda part, place, form: services.receive(
        g.db, part, place, form.quantity.data, by=current_user.user_id, reason=form.reason.data,
        form_key=form.key()))


@bp.route("/transfer", methods=["GET", "POST"])
@requires(INVENTORY_MANAGE)
def transfer():
    """Parts from one place to another: the warehouse to a van, a van back to the warehouse."""
    return _move("transfer", lambda part, place, form: services.transfer(
        g.db, part, place, services.get_place(g.db, chosen_id(form.target)), form.quantity.data,
        by=current_user.user_id, reason=form.reason.data, form_key=form.key()))


@bp.route("/count", methods=["GET", "POST"])
@requires(INVENTORY_MANAGE)
def count():
    """What is on the shelf: the stock becomes the count."""
    return _move("count", lambda part, place, form: services.count(
        g.db, part, place, form.quantity.data, by=current_user.user_id, reason=form.reason.data,
        form_key=form.key()))


@bp.route("/adjust", methods=["GET", "POST"])
@requires(INVENTORY_MANAGE)
def adjust():
    """A correction, with its reason."""
    return _move("adjust", lambda part, place, form: services.adjust(
        g.db, part, place, form.quantity.data, by=current_user.user_id, reason=form.reason.data,
        form_key=form.key()))


@bp.get("/reorder")
@requires(INVENTORY_VIEW)
def reorder():
    """What to order or look into: stock below zero first, then what is at or below its low-stock level."""
    return render_template("inventory/reorder.html", levels=services.reorder_list(g.db))


@bp.get("/van")
@requires(INVENTORY_VAN)
def van():
    """A technician's own van: the parts in it, with what runs low."""
    place = services.van_of(g.db, current_user.user_id)
    return render_template("inventory/van.html", place=place,
                           levels=services.levels_at(g.db, place) if place else [])
