import uuid

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from flowtrack.core.forms import WholeNumberField
from flowtrack.core.money import AmountField
from flowtrack.inventory.services import MOST
from flowtrack.models.customers import DeviceType
from flowtrack.models.inventory import PartKind, PlaceKind


class OneOf:
    """A choice among those the form was given (this company's parts and places), refused in words otherwise."""

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field) -> None:
        if field.data not in {value for value, *_ in field.choices if value}:
            raise ValidationError(self.message)


def chosen_id(field) -> uuid.UUID | None:
    try:
        return uuid.UUID(field.data or "")
    except ValueError:
        return None


class PartForm(FlaskForm):
    sku = StringField("SKU", validators=[InputRequired(message="Enter the part's SKU."), Length(max=40)],
                      render_kw={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"})
    name = StringField("Name", validators=[InputRequired(message="Enter the part's name."), Length(max=200)])
    kind = SelectField("Kind", choices=[(k.value, k.label) for k in PartKind], default=PartKind.repair_kit.value)
    unit_cost = AmountField("Unit cost ($)", required="Enter what one costs you, like 12.50.")
    unit_price = AmountField("Unit price ($)", required="Enter what the customer pays for one, like 24.00.")
    device_types = SelectMultipleField("Fits these assembly types (none ticked: any)",
                                       choices=[(t.value, t.value) for t in DeviceType],
                                       option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False),
                                       validators=[Optional()])


class PlaceForm(FlaskForm):
    name = StringField("Name", validators=[InputRequired(message="Name the place, like “Main warehouse”."),
                                           Length(max=100)])
    kind = SelectField("Kind", choices=[(k.value, k.label) for k in PlaceKind], default=PlaceKind.warehouse.value)
    technician = SelectField("Technician (for a van)", choices=[], validate_choice=False)


class StockForm(FlaskForm):
    """A movement of one part at a place. A new key each time the form is shown: sent twice (a double click), it
    moves the stock once."""

    part = SelectField("Part", choices=[], validate_choice=False, validators=[OneOf("Choose a part.")])
    place = SelectField("Place", choices=[], validate_choice=False, validators=[OneOf("Choose a place.")])
    reason = StringField("Note (supplier, invoice number)", validators=[Optional(), Length(max=500)])
    form_key = HiddenField(default=lambda: str(uuid.uuid4()))

    def key(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(self.form_key.data or "")
        except ValueError:
            return None  # not a key this form made: moved without one


def _quantity(label: str, low: int, message: str) -> WholeNumberField:
    return WholeNumberField(label, validators=[InputRequired(message=message),
                                               NumberRange(low, MOST, message=message)])


class ReceiveForm(StockForm):
    quantity = _quantity("Quantity received", 1, f"Enter a quantity from 1 to {MOST:,}.")


class TransferForm(StockForm):
    place = SelectField("From", choices=[], validate_choice=False, validators=[OneOf("Choose where they come from.")])
    target = SelectField("To", choices=[], validate_choice=False, validators=[OneOf("Choose where they go.")])
    quantity = _quantity("Quantity", 1, f"Enter a quantity from 1 to {MOST:,}.")
    reason = StringField("Note", validators=[Optional(), Length(max=500)])

    def validate_target(self, field) -> None:
        if field.data and field.data == self.place.data:
            raise ValidationError("Choose two different places.")


class CountForm(StockForm):
    quantity = _quantity("Counted on the shelf", 0, f"Enter the number counted, from 0 to {MOST:,}.")
    reason = StringField("Note", validators=[Optional(), Length(max=500)])


class AdjustForm(StockForm):
    quantity = WholeNumberField("Change (negative takes away)", validators=[
        InputRequired(message="Enter the change, like -2 or 3."),
        NumberRange(-MOST, MOST, message=f"Enter a change from -{MOST:,} to {MOST:,}.")],
        render_kw={"inputmode": "text"})  # a minus sign: not every phone's number pad has one
    reason = StringField("Reason", validators=[InputRequired(message="Say why the stock changes."),
                                               Length(max=500)])

    def validate_quantity(self, field) -> None:
        if field.data == 0:
            raise ValidationError("A change of 0 changes nothing.")


class ThresholdForm(FlaskForm):
    place = SelectField("Place", choices=[], validate_choice=False, validators=[OneOf("Choose a place.")])
    low_threshold = WholeNumberField("Reorder at or below", validators=[
        InputRequired(message="Enter a level, 0 for none."),
        NumberRange(0, MOST, message=f"Enter a level from 0 to {MOST:,}.")])
