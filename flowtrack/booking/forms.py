import uuid

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from flowtrack.core.forms import DayField, WholeNumberField
from flowtrack.models.booking import MAX_CAPACITY, DayPart

WEEKDAYS = [("0", "Mon"), ("1", "Tue"), ("2", "Wed"), ("3", "Thu"), ("4", "Fri"), ("5", "Sat"), ("6", "Sun")]


class OpenWindowsForm(FlaskForm):
    """Windows for a range of days at once: "mornings, Monday to Friday, the next two weeks, for Ana"."""

    technician = SelectField("Technician", choices=[], validators=[InputRequired(message="Choose the technician.")])
    first = DayField("From", validators=[InputRequired(message="Choose the first day.")])
    last = DayField("To", validators=[InputRequired(message="Choose the last day.")])
    weekdays = SelectMultipleField("On", choices=WEEKDAYS, default=["0", "1", "2", "3", "4"],
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                                   validators=[DataRequired(message="Tick at least one day of the week.")])
    parts = SelectMultipleField("Windows", choices=[(p.value, p.label) for p in DayPart], default=["morning"],
                                widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
                                validators=[DataRequired(message="Tick morning, afternoon or all day.")],
                                description="Morning: from the start of the technician's working day to noon; "
                                            "afternoon: from noon to its end.")
    capacity = WholeNumberField("Visits per window", default=1,
                                validators=[InputRequired(message="How many visits fit in each window?"),
                                            NumberRange(min=1, max=MAX_CAPACITY)])
    area = StringField("Only for places in (optional)", validators=[Optional(), Length(max=1000)],
                       description="Cities or ZIP codes, separated by commas, e.g. “Eugene, 97477”. Empty: any "
                                   "place.")

    def with_technicians(self, profiles) -> "OpenWindowsForm":
        self.technician.choices = [("", "Choose the technician"), *((str(p.user_id), p.full_name) for p in profiles)]
        if len(profiles) == 1 and not self.is_submitted():
            self.technician.data = str(profiles[0].user_id)
        return self


class ConfirmationForm(FlaskForm):
    mode = RadioField("When a customer books online", choices=[
        ("board", "It goes straight on the board"),
        ("confirm", "It waits for the office to confirm or decline it")],
        validators=[InputRequired(message="Choose one.")])


class DeclineForm(FlaskForm):
    reason = TextAreaField("Why (the customer reads this)", validators=[
        DataRequired(message="Say why, for the customer."), Length(max=500)])


class BookForm(FlaskForm):
    """A customer's booking: a place, its assemblies ticked, a window. The ids are the customer's own (the page
    lists them); anyone else's is not found rather than refused, so the form does not check them."""

    location = HiddenField(validators=[DataRequired()])
    window = StringField(validators=[DataRequired(message="Choose a time.")])
    devices = SelectMultipleField(choices=[], validate_choice=False)
    # A new key each time the page is shown: sent twice (a double click), it makes one booking.
    form_key = HiddenField(default=lambda: str(uuid.uuid4()))

    def key(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(self.form_key.data or "")
        except ValueError:
            return None
