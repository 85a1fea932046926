"""The admin's form for the company's own details."""
import zoneinfo

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TelField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional

from flowtrack.core.forms import EmailAddress, WholeNumberField, phone

# Where most backflow-testing companies work first; every other IANA zone follows in alphabetical order.
COMMON_TIMEZONES = ("America/Los_Angeles", "America/Denver", "America/Phoenix", "America/Chicago",
                    "America/New_York", "America/Anchorage", "Pacific/Honolulu")
TIMEZONES = COMMON_TIMEZONES + tuple(sorted(
    name for name in zoneinfo.available_timezones()
    if "/" in name and name not in COMMON_TIMEZONES and not name.startswith("Etc/")) + ["UTC"])


class CompanyDetailsForm(FlaskForm):
    name = StringField("Company name", validators=[DataRequired(), Length(max=200)])
    timezone = SelectField("Time zone", choices=[(name, name.replace("_", " ")) for name in TIMEZONES],
                           validators=[AnyOf(TIMEZONES, message="Choose a time zone from the list.")],
                           description="Every date and time your people and customers read is in this zone.")
    address = TextAreaField("Address", validators=[Optional(), Length(max=500)], render_kw={"rows": 3},
                            description="On your invoices and in the customer portal.")
    phone = TelField("Phone", validators=[Optional(), Length(max=40), phone])
    email = StringField("Email for customers", validators=[Optional(), Length(max=254), EmailAddress()],
                        render_kw={"type": "email", "inputmode": "email"},
                        description="Also where FlowTrack tells the office of customers' service requests and their "
                                    "answers to quotes (without it: the people who handle them).")
    remit_to = TextAreaField("Mail checks to", validators=[Optional(), Length(max=500)], render_kw={"rows": 3},
                             description="Leave empty when checks go to the address above.")


class FieldEvidenceForm(FlaskForm):
    far_from_location_m = WholeNumberField(
        "Flag a test recorded farther from its location than (metres)",
        validators=[InputRequired(message="Give a distance in metres."),
                    NumberRange(50, 50000, message="Give a distance from 50 to 50,000 metres.")],
        render_kw={"inputmode": "numeric"},
        description="Flagged tests are marked for the office and the district to look at; they are never refused.")
