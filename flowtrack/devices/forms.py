import datetime as dt

from flask_wtf import FlaskForm
from wtforms import DateField, SearchField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from flowtrack.devices.services import DEVICE_FIELDS, SIZES, STATUSES
from flowtrack.models.customers import CrossConnection, DeviceType, Hazard

serial = Regexp(r"^[A-Za-z0-9][A-Za-z0-9 ./#-]*$", message="Letters, digits, spaces and . / # - only.")


def strip(value):
    return value.strip() if isinstance(value, str) else value


class OptionalSelectField(SelectField):
    """A select whose choice "" means no answer; nothing stored or nothing sent is that answer too."""

    def pre_validate(self, form):
        if self.data is None:
            self.data = ""
        super().pre_validate(form)


class NotAfter:
    """A date not later than the form's `today` (the company's today, set by the view)."""

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        if field.data and field.data > form.today:
            raise ValidationError(self.message)


class DeviceForm(FlaskForm):
    today: dt.date

    device_type = SelectField("Type", choices=[("", "Choose…")] + [(t.value, t.label) for t in DeviceType],
                              validators=[DataRequired(message="Choose the assembly type.")])
    manufacturer = StringField("Manufacturer", validators=[DataRequired(), Length(max=100)])
    model = StringField("Model", validators=[Optional(), Length(max=100)])
    serial = StringField("Serial number", validators=[DataRequired(), Length(max=64), serial], filters=[strip],
                         render_kw={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"})
    size = OptionalSelectField("Size (inches)", choices=[("", "—")] + [(s, f"{s}″") for s in SIZES])
    where_installed = StringField("Where installed", validators=[Optional(), Length(max=200)],
                                  description="e.g. front yard by the meter, mechanical room B2")
    hazard = OptionalSelectField("Hazard", choices=[("", "—")] + [(h.value, h.label) for h in Hazard])
    cross_connection = OptionalSelectField("Protects", choices=[("", "—")] + [(c.value, c.label)
                                                                            for c in CrossConnection])
    meter_number = StringField("Water meter number", validators=[Optional(), Length(max=40)],
                               render_kw={"autocomplete": "off"})
    install_date = DateField("Installed on", validators=[
        Optional(), NotAfter("An installation date cannot be in the future.")])
    last_test_on = DateField("Last passing test", validators=[
        Optional(), NotAfter("A test date cannot be in the future.")],
        description="From earlier records; tests done in FlowTrack set it themselves. The next due date follows "
                    "from it and the district's rule.")
    status = SelectField("Status", choices=[("active", "Active"), ("removed", "Removed")])

    def validate_last_test_on(self, field):
        if field.data and self.install_date.data and field.data < self.install_date.data:
            raise ValidationError("The last test cannot be before the installation.")

    def values(self) -> dict:
        """The submitted fields as the service takes them."""
        data = {name: self[name].data for name in DEVICE_FIELDS}
        if "status" in self:
            data["status"] = self.status.data
        return data


class DeviceFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = SearchField("Serial begins with", validators=[Optional(), Length(max=64)],
                    render_kw={"autocomplete": "off", "autocapitalize": "characters"})
    status = SelectField("Show", choices=[(s, s.capitalize()) for s in STATUSES], default="active")


class GaugeForm(FlaskForm):
    today: dt.date

    make = StringField("Make", validators=[DataRequired(), Length(max=100)])
    model = StringField("Model", validators=[Optional(), Length(max=100)])
    serial = StringField("Serial number", validators=[DataRequired(), Length(max=64), serial], filters=[strip],
                         render_kw={"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"})
    last_calibrated_on = DateField("Last calibrated on", validators=[
        InputRequired(), NotAfter("A calibration date cannot be in the future.")])
    calibration_due_on = DateField("Calibration due on", validators=[InputRequired()])
    # The company's own testers' kit, or one of a vendor's (only that vendor's people test with it). The view sets
    # the choices from the company's vendors, so an id of anyone else's is refused as no choice.
    vendor_id = SelectField("Used by", choices=[], default="")

    def validate_calibration_due_on(self, field):
        if field.data and self.last_calibrated_on.data and field.data < self.last_calibrated_on.data:
            raise ValidationError("Calibration cannot fall due before it was done.")
