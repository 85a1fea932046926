from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TimeField
from wtforms.validators import UUID, DataRequired, InputRequired, NumberRange, Optional

from flowtrack.core.forms import DayField, WholeNumberField
from flowtrack.models.scheduling import NotTestedReason


class JobForm(FlaskForm):
    """Book a work order or move its job: the keyboard's way to do what the board's drag does."""

    technician = SelectField("Technician", choices=[], validators=[InputRequired()])
    day = DayField("Day", validators=[InputRequired(message="Choose the day.")])
    starts = TimeField("From", validators=[InputRequired(message="Choose when the window starts.")])
    ends = TimeField("To", validators=[InputRequired(message="Choose when the window ends.")])
    position = WholeNumberField("Order in the day", validators=[Optional(), NumberRange(min=1, max=99)],
                            description="1 is the first stop; empty keeps it last.")

    def with_technicians(self, profiles) -> "JobForm":
        self.technician.choices = [(str(p.user_id), p.full_name) for p in profiles]
        return self


class PlaceForm(FlaskForm):
    """A card dropped on the board: which work order, into which cell, and the cell's cards in order."""

    work_order = HiddenField(validators=[DataRequired(), UUID()])
    technician = HiddenField(validators=[DataRequired(), UUID()])
    day = DayField(validators=[InputRequired()])
    week = DayField(validators=[Optional()])
    order = StringField(validators=[Optional()])


class NotTestedForm(FlaskForm):
    reason = SelectField("Why", choices=[(r.value, r.label) for r in NotTestedReason], validators=[InputRequired()])
