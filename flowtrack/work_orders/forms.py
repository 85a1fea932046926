from flask_wtf import FlaskForm
from wtforms import (DateField, DecimalField, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import UUID, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from flowtrack.models.scheduling import WorkKind, WorkOrderStatus
from flowtrack.money import whole_cents


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


AUTO_ASSIGN = "auto"


class FromDueForm(FlaskForm):
    """Devices chosen on the due list, to become one work order per location, optionally booked on a day."""

    devices = SelectMultipleField(choices=[], validate_choice=False,
                                  validators=[InputRequired(message="Choose at least one device.")])
    book_on = DateField("Book them on", validators=[Optional()], description="Leave empty to book on the board.")
    technician = SelectField("For", choices=[], validators=[Optional()])

    def with_technicians(self, profiles) -> "FromDueForm":
        self.technician.choices = [(AUTO_ASSIGN, "Whoever has the fewest jobs that day")] + [
            (str(p.user_id), p.full_name) for p in profiles]
        return self


class LineForm(FlaskForm):
    description = StringField("Description", validators=[InputRequired(), Length(max=200)])
    quantity = IntegerField("Qty", default=1, validators=[InputRequired(), NumberRange(min=1, max=10000)])
    unit_price = DecimalField("Unit price ($)", validators=[InputRequired(), NumberRange(min=0, max=1000000),
                                                            whole_cents])
