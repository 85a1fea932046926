from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import InputRequired, ValidationError

from flowtrack.reminders.services import parse_lead_days


class ReminderSettingsForm(FlaskForm):
    enabled = BooleanField("Send test-due reminders")
    lead_days = StringField("Days before the due date", validators=[InputRequired()],
                            description="Up to four, separated by commas, e.g. 60, 30.")
    when_overdue = BooleanField("And once more when a device is overdue")

    def validate_lead_days(self, field):
        try:
            parse_lead_days(field.data)
        except ValueError as problem:
            raise ValidationError(str(problem)) from None


class OptOutForm(FlaskForm):
    """The button on the opt-out page (a link alone must not opt out: mail scanners follow links)."""
