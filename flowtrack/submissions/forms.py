from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from flowtrack.core.forms import add_error


class SubmittedForm(FlaskForm):
    confirmation_number = StringField("The district's confirmation number", validators=[Optional(), Length(max=100)])


class OutcomeForm(FlaskForm):
    """The district's answer: accepted, or rejected with its reason."""

    outcome = RadioField("The district", choices=[("accepted", "Accepted it"), ("rejected", "Rejected it")],
                         validators=[DataRequired(message="Choose accepted or rejected.")])
    reason = TextAreaField("Why it was rejected", validators=[Optional(), Length(max=1000)])


class DistrictListForm(FlaskForm):
    # Size and shape are the service's to judge (submissions.assemblies.read_list).
    file = FileField("The district's list (CSV)", validators=[
        FileRequired(message="Choose the CSV file the district gave you."),
        FileAllowed(["csv", "txt"], message="Upload a .csv file: in your spreadsheet, Save As or Download as CSV."),
    ], render_kw={"accept": ".csv,.txt,text/csv"},
        description="Up to 20 MB, a serial number and an address on each row, and the water account and meter numbers "
                    "if the district gives them. Columns named like “Serial”, “Service address”, “Water account” or "
                    "“Meter” are recognised; otherwise you say which column holds what. A new list replaces the old "
                    "one.")


class ListColumnsForm(FlaskForm):
    """Which of the file's columns holds what, where their names were not recognised; the choices are the file's
    columns, set by the view."""

    token = HiddenField(validators=[DataRequired(), Regexp(r"^[A-Za-z0-9_-]{16,64}$")])
    filename = HiddenField(validators=[Optional(), Length(max=255)])
    serial = SelectField("Serial number", validators=[DataRequired(message="Choose the column with the serials.")])
    address = SelectField("Address", validators=[DataRequired(message="Choose the column with the addresses.")])
    water_account_number = SelectField("Water account number", validators=[Optional()])
    meter_number = SelectField("Meter number", validators=[Optional()])

    def set_choices(self, columns: list[tuple[str, str]]) -> None:
        for name in ("serial", "address", "water_account_number", "meter_number"):
            self[name].choices = [("", "—")] + columns

    def columns(self) -> dict[str, int]:
        return {name: int(self[name].data) for name in ("serial", "address", "water_account_number", "meter_number")
                if self[name].data}

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        chosen = [self[name] for name in ("serial", "address", "water_account_number", "meter_number")
                  if self[name].data]
        for number, field in enumerate(chosen):
            if any(other.data == field.data for other in chosen[:number]):
                add_error(field, "This column is chosen for something else already.")
                return False
        return True
