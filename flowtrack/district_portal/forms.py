from flask_wtf import FlaskForm
from wtforms import SearchField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from flowtrack.core.forms import DayField
from flowtrack.district_portal.services import RESULTS
from flowtrack.models.customers import DeviceType

# The codes, as districts write them (the long names do not fit a phone-width column).
TYPE_CHOICES = [("", "Every type")] + [(t.value, t.value) for t in DeviceType]


class DeviceFilterForm(FlaskForm):
    """The device list's filters (a GET form: reading needs no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField("Serial or address", validators=[Optional(), Length(max=100)],
                    render_kw={"autocomplete": "off", "placeholder": "e.g. RP-1001 or 123 Main St"})
    device_type = SelectField("Assembly type", choices=TYPE_CHOICES, default="")


class TestFilterForm(DeviceFilterForm):
    """The test list's filters: the device's, and when and how the test went."""

    tested_from = DayField("Tested from", validators=[Optional()])
    tested_to = DayField("Tested to", validators=[Optional()])
    result = SelectField("Result", choices=[("", "Any result")] + list(RESULTS.items()), default="")

    def validate_tested_to(self, field):
        if field.data and self.tested_from.data and field.data < self.tested_from.data:
            raise ValidationError("The end date comes before the start date.")


class RejectForm(FlaskForm):
    reason = TextAreaField("Why it is rejected", validators=[
        DataRequired(message="Say why: the testing company fixes the report from it."), Length(max=1000)])
