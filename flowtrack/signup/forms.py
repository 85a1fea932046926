from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length

from flowtrack.account.services import MIN_PASSWORD_LENGTH
from flowtrack.companies.forms import COMMON_TIMEZONES, TIMEZONES
from flowtrack.core.forms import EmailAddress
from flowtrack.models.companies import Plan

PLANS = [(plan.value, plan.value.capitalize()) for plan in Plan]


class SignUpForm(FlaskForm):
    # The lists check their value with AnyOf rather than DataRequired: a `required` select must open on an empty
    # placeholder (HTML), and these open on a real choice.
    company_name = StringField("Company name", validators=[DataRequired(), Length(max=200)],
                               render_kw={"autocomplete": "organization"})
    # Checked against the zones the server's zoneinfo knows, not only against the list the page showed.
    timezone = SelectField("Time zone", choices=[(name, name.replace("_", " ")) for name in TIMEZONES],
                           default=COMMON_TIMEZONES[0], validate_choice=False,
                           validators=[AnyOf(TIMEZONES, message="Choose a time zone from the list.")],
                           description="Schedules, reminders and reports use the company's local time.")
    plan = SelectField("Plan", choices=PLANS, default=Plan.professional.value, validate_choice=False,
                       validators=[AnyOf([value for value, _ in PLANS],
                                                         message="Choose Basic, Professional or Enterprise.")])
    # The choices are the configured regions (set by the route); a region other than the home one is for Enterprise.
    region = SelectField("Where your data is kept", choices=[], validate_choice=True,
                         description="Every record and file of the company stays in this region. Canada is "
                                     "offered on the Enterprise plan.")
    full_name = StringField("Your name", validators=[DataRequired(), Length(max=200)],
                            render_kw={"autocomplete": "name"})
    email = StringField("Your email", validators=[DataRequired(), Length(max=254),
                                                  EmailAddress()],
                        description="You sign in with it. You will be the company's admin.",
                        render_kw={"type": "email", "inputmode": "email", "autocapitalize": "none",
                                   "autocomplete": "email"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)],
                             description=f"At least {MIN_PASSWORD_LENGTH} characters. A few unrelated words work well.",
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Password again", validators=[DataRequired(),
                                                          EqualTo("password", "The two passwords differ.")],
                            render_kw={"autocomplete": "new-password"})
