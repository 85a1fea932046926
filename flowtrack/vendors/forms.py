from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from flowtrack.core.forms import DayField, EmailAddress


class VendorForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(message="Give the vendor's name."), Length(max=200)])
    contact_email = EmailField("Contact email", validators=[Optional(), Length(max=320), EmailAddress()])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)])


class VendorPersonForm(FlaskForm):
    """One of the vendor's testers: the certification is what their tests are checked against."""

    full_name = StringField("Name", validators=[DataRequired(message="Give their name."), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(message="Give their email address."), Length(max=254),
                                            EmailAddress()])
    certification_number = StringField("Tester certification number", validators=[Optional(), Length(max=64)])
    certification_expires_on = DayField("Certification expires", validators=[Optional()])


class AssignForm(FlaskForm):
    vendor = SelectField("Subcontract to", choices=[], validate_choice=False)
