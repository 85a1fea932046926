from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import IPAddress, Length, Optional, ValidationError

from flowtrack.audit.filters import AuditFilters
from flowtrack.core.forms import DayField


class AuditFilterForm(FlaskForm):
    """The viewer's filters (a GET form: no CSRF token needed to read)."""

    class Meta:
        csrf = False

    date_from = DayField("From", validators=[Optional()])
    date_to = DayField("To", validators=[Optional()])
    actor = StringField("Who", validators=[Optional(), Length(max=254)], description="Email, or its beginning")
    action = StringField("Action", validators=[Optional(), Length(max=64)],
                         description="e.g. login or customer.updated")
    entity_type = StringField("Record type", validators=[Optional(), Length(max=64)])
    entity_id = StringField("Record id", validators=[Optional(), Length(max=64)])
    ip = StringField("IP address", validators=[Optional(), IPAddress(ipv4=True, ipv6=True)])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")

    def filters(self) -> AuditFilters:
        return AuditFilters(**{name: (getattr(self, name).data or None) for name in
                               ("date_from", "date_to", "actor", "action", "entity_type", "entity_id", "ip")})


class AuditReportForm(AuditFilterForm):
    class Meta:
        csrf = True

    format = RadioField("Format", choices=[("csv", "CSV"), ("pdf", "PDF")], default="csv")
