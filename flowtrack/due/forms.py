from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.validators import Optional, UUID

from flowtrack.due.services import DEFAULT_WINDOW, NO_DISTRICT, WINDOWS


class DueFilterForm(FlaskForm):
    """The list's window and filters (a GET form: reading needs no CSRF token)."""

    class Meta:
        csrf = False

    window = SelectField("Due", choices=list(WINDOWS.items()), default=DEFAULT_WINDOW)
    district = SelectField("Water district", choices=[], validators=[Optional()])
    customer = HiddenField(validators=[Optional(), UUID(message="Not a customer of this company.")])

    def with_districts(self, districts: list[tuple[str, str]]) -> "DueFilterForm":
        self.district.choices = [("", "Every district"), (NO_DISTRICT, "No district")] + districts
        return self
