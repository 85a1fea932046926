from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import UUID, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from flowtrack.core.forms import WholeNumberField
from flowtrack.core.money import AmountField
from flowtrack.models.scheduling import WorkKind, WorkOrderStatus


class WorkOrderFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField("Status", choices=[("", "Every status")] + [(s.value, s.label) for s in WorkOrderStatus],
                         validators=[Optional()])
    customer = HiddenField(validators=[Optional(), UUID(message="Not a customer of this company.")])


class WorkOrderForm(FlaskForm):
    """A work order at one location: which of its devices, what kind of work, notes for the technician."""

    kind = SelectField("Work", choices=[(k.value, k.label) for k in WorkKind], default=WorkKind.test.value)
    devices = SelectMultipleField("Devices", choices=[], option_widget=CheckboxInput(),
                                  widget=ListWidget(prefix_label=False), validators=[Optional()])
    notes = TextAreaField("Notes for the technician", validators=[Optional(), Length(max=2000)])


class LineForm(FlaskForm):
    description = StringField("Description", validators=[InputRequired(), Length(max=200)])
    quantity = WholeNumberField("Qty", default=1, validators=[InputRequired(), NumberRange(
        min=1, max=10000, message="Enter a quantity from 1 to 10,000.")])
    unit_price = AmountField("Unit price ($)")


class LinePriceForm(FlaskForm):
    """A line's price set by the office: one the price list lacked, or a changed one."""

    unit_price = AmountField("Unit price ($)", required="Enter a price, 0 for no charge.")
