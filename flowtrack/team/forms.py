from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from flowtrack.team.services import INVITABLE_ROLES

ROLE_CHOICES = [(role.value, role.label) for role in INVITABLE_ROLES]


class InviteForm(FlaskForm):
    full_name = StringField("Name", validators=[DataRequired(), Length(max=200)], render_kw={"autocomplete": "off"})
    email = EmailField("Email", validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)],
                       render_kw={"autocapitalize": "none", "autocomplete": "off"})
    role = SelectField("Role", choices=ROLE_CHOICES, default="office", validators=[DataRequired()])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])


class RequireMfaForm(FlaskForm):
    require_mfa = BooleanField("Require two-step sign-in for everyone in the company")
