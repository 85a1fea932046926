from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    RadioField,
    SearchField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from flowtrack.core.forms import DecimalNumberField, EmailAddress, add_error, phone
from flowtrack.customers.services import SORTS, STATUSES


class CustomerForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    billing_address = TextAreaField("Billing address", validators=[Optional(), Length(max=500)],
                                    render_kw={"rows": 3})
    email = EmailField("Email", validators=[Optional(), Length(max=254), EmailAddress()],
                       render_kw={"autocapitalize": "none"})
    phone = TelField("Phone", validators=[Optional(), Length(max=40), phone])
    sms_consent = BooleanField("Agreed to test-due reminders by text message at this phone number")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})


class ContactForm(FlaskForm):
    """The phone and email edited in place on the list."""

    email = EmailField("Email", validators=[Optional(), Length(max=254), EmailAddress()],
                       render_kw={"autocapitalize": "none"})
    phone = TelField("Phone", validators=[Optional(), Length(max=40), phone])


class CustomerFilterForm(FlaskForm):
    """The list's search, filter and order (a GET form: reading needs no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField("Search by name", validators=[Optional(), Length(max=100)],
                    render_kw={"placeholder": "Name begins with…", "autocomplete": "off"})
    status = SelectField("Show", choices=[(s, s.capitalize()) for s in STATUSES], default="active")
    sort = SelectField("Order", choices=list(SORTS.items()), default="name")


class LocationForm(FlaskForm):
    address_line1 = StringField("Street address", validators=[DataRequired(), Length(max=200)],
                                render_kw={"autocomplete": "address-line1"})
    address_line2 = StringField("Unit, suite, building", validators=[Optional(), Length(max=200)],
                                render_kw={"autocomplete": "address-line2"})
    city = StringField("City", validators=[DataRequired(), Length(max=100)],
                       render_kw={"autocomplete": "address-level2"})
    state = StringField("State", validators=[DataRequired(), Regexp(r"^[A-Za-z]{2}$", message="Two letters, like OR.")],
                        render_kw={"autocomplete": "address-level1", "maxlength": 2, "autocapitalize": "characters"})
    postal_code = StringField("ZIP code", validators=[
        DataRequired(),
        Regexp(r"^(\d{5}(-\d{4})?|[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d)$", message="A ZIP code like 97477 or 97477-1234."),
    ], render_kw={"autocomplete": "postal-code", "inputmode": "numeric"})
    # Choices are the company's own districts, set by the view; an id that is not one of them is refused.
    district_id = SelectField("Water district", choices=[], validate_choice=True)
    water_account_number = StringField("Water account number", validators=[Optional(), Length(max=40)],
                                       description="The district's number for this service, as its forms ask it.",
                                       render_kw={"autocomplete": "off"})
    site_contact_name = StringField("Contact on site", validators=[Optional(), Length(max=200)])
    site_contact_phone = TelField("Their phone", validators=[Optional(), Length(max=40), phone])
    access_notes = TextAreaField("Access notes", validators=[Optional(), Length(max=2000)],
                                 description="Gate codes, dogs, where the assembly is, when to come.",
                                 render_kw={"rows": 3})
    # Where the assemblies are: a test sent from a phone far from here is flagged. Left empty, the location takes
    # them from its first test with a good position.
    latitude = DecimalNumberField("Latitude", places=None, validators=[
        Optional(), NumberRange(-90, 90, message="A latitude is from -90 to 90.")],
        message="Enter a latitude in degrees, like 44.0521.", description="Like 44.0521.")
    longitude = DecimalNumberField("Longitude", places=None, validators=[
        Optional(), NumberRange(-180, 180, message="A longitude is from -180 to 180.")],
        message="Enter a longitude in degrees, like -123.0868.", description="Like -123.0868.")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and (self.latitude.data is None) != (self.longitude.data is None):
            add_error(self.longitude, "Give both the latitude and the longitude, or neither.")
            return False
        return valid


class PortalInviteForm(FlaskForm):
    full_name = StringField("Name", validators=[DataRequired(), Length(max=200)], render_kw={"autocomplete": "off"})
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), EmailAddress()],
                       render_kw={"autocapitalize": "none", "autocomplete": "off"})
    access = RadioField("What they may do", default="customer", choices=[
        ("customer", "Customer portal (everything): invoices and paying them, certificates, service requests"),
        ("requester", "Requester (service requests; invoices only if ticked): a property manager or site contact")])
    may_see_invoices = BooleanField("A requester may see and pay the customer's invoices")
