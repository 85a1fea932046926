import uuid

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from flowtrack.core.forms import DayField, EmailAddress
from flowtrack.team.services import INVITABLE_ROLES

ROLE_CHOICES = [(role.value, role.label) for role in INVITABLE_ROLES]


class DistrictChoice:
    """A district admin's water district, from the company's districts (the service checks it is needed)."""

    district = SelectField("Water district (district admins only)", choices=[], validators=[Optional()])

    def with_districts(self, districts: list[tuple[str, str]]):
        self.district.choices = [("", "None")] + districts
        return self

    @property
    def district_id(self) -> uuid.UUID | None:
        return uuid.UUID(self.district.data) if self.district.data else None


class InviteForm(DistrictChoice, FlaskForm):
    full_name = StringField("Name", validators=[DataRequired(), Length(max=200)], render_kw={"autocomplete": "off"})
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), EmailAddress()],
                       render_kw={"autocapitalize": "none", "autocomplete": "off"})
    role = SelectField("Role", choices=ROLE_CHOICES, default="manager")


class RoleForm(DistrictChoice, FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class RequireMfaForm(FlaskForm):
    require_mfa = BooleanField("Require two-step sign-in for everyone in the company")


class TechnicianForm(FlaskForm):
    """What scheduling and the test form check of a technician: their tester certification and working hours."""

    certification_number = StringField("Tester certification no.", validators=[Optional(), Length(max=64)])
    certification_expires_on = DayField("Certification expires", validators=[Optional()])
    workday_starts = TimeField("Working day starts", validators=[InputRequired()])
    workday_ends = TimeField("Working day ends", validators=[InputRequired()])
