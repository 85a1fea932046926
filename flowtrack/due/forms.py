from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField
from wtforms.validators import UUID, AnyOf, InputRequired, Optional

from flowtrack.core.forms import DayField
from flowtrack.due.services import DEFAULT_WINDOW, NO_DISTRICT, WINDOWS
from flowtrack.models.scheduling import WorkKind


class DueFilterForm(FlaskForm):
    """The list's window and filters (a GET form: reading needs no CSRF token)."""

    class Meta:
        csrf = False

    window = SelectField("Due", choices=list(WINDOWS.items()), default=DEFAULT_WINDOW)
    district = SelectField("Water district", choices=[], validators=[Optional()])
    customer = HiddenField(validators=[Optional(), UUID(message="Not a customer of this company.")])
    unbooked = BooleanField("Only those not yet booked", description="On no unfinished work order.")

    def with_districts(self, districts: list[tuple[str, str]]) -> "DueFilterForm":
        self.district.choices = [("", "Every district"), (NO_DISTRICT, "No district")] + districts
        return self


AUTO_ASSIGN = "auto"


class FromDueForm(FlaskForm):
    """Devices chosen on the due list, to become one work order per location, optionally booked on a day."""

    devices = SelectMultipleField(choices=[], validate_choice=False,
                                  validators=[InputRequired(message="Choose at least one device.")])
    book_on = DayField("Book them on", validators=[Optional()], description="Leave empty to book on the board.")
    technician = SelectField("For", choices=[], validators=[Optional()])
    # The due list plans tests; the list of failed devices plans repairs and retests.
    kind = HiddenField(default=WorkKind.test.value,
                       validators=[AnyOf((WorkKind.test.value, WorkKind.repair.value), message="Not a kind of work.")])

    def with_technicians(self, profiles) -> "FromDueForm":
        self.technician.choices = [(AUTO_ASSIGN, "Whoever has the fewest jobs")] + [
            (str(p.user_id), p.full_name) for p in profiles]
        return self
