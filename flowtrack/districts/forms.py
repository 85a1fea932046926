import calendar
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
    URLField,
)
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from flowtrack.core.forms import EmailAddress, WholeNumberField, add_error, phone
from flowtrack.core.money import AmountField
from flowtrack.devices.due_dates import FIXED_DATE, LAST_TEST, valid_day_of_year
from flowtrack.models.customers import REQUIRABLE_LABELS, SubmissionMethod

MONTHS = [("", "—")] + [(str(n), calendar.month_name[n]) for n in range(1, 13)]


class DistrictForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    contact_name = StringField("Contact", validators=[Optional(), Length(max=200)])
    contact_phone = TelField("Contact phone", validators=[Optional(), Length(max=40), phone])
    report_email = EmailField("Email for test reports", validators=[Optional(), Length(max=254),
                                                                     EmailAddress()],
                              render_kw={"autocapitalize": "none"})
    requires_customer_signature = BooleanField("Reports carry the customer's signature",
                                               description="The technician has the customer sign on the phone "
                                                           "before the test can be submitted.")
    test_interval_months = WholeNumberField("Test every (months)", default=12,
                                        validators=[InputRequired(), NumberRange(min=1, max=120)])
    due_anchor = RadioField("Next test is due", default=LAST_TEST, choices=[
        (LAST_TEST, "on the anniversary of the last passing test"),
        (FIXED_DATE, "by a fixed date every year"),
    ])
    fixed_due_month = SelectField("Fixed date: month", choices=MONTHS, default="",
                                  coerce=lambda value: int(value) if value else None)
    fixed_due_day = WholeNumberField("Fixed date: day", validators=[Optional(), NumberRange(min=1, max=31)])
    early_window_days = WholeNumberField("Early-test window (days)", default=0,
                                     validators=[InputRequired(), NumberRange(min=0, max=365)],
                                     description="A test this many days before the due date keeps the original "
                                                 "schedule (anniversary rule).")
    due_end_of_month = BooleanField("Due at the end of the month")
    # Not required: a form from before the choice existed files on paper, as a new district does.
    submission_method = RadioField("The district takes test reports", default=SubmissionMethod.paper.value,
                                   choices=[(method.value, method.label) for method in SubmissionMethod],
                                   validate_choice=False)
    portal_url = URLField("The district's portal (its address)", validators=[Optional(), Length(max=500), URL()],
                          render_kw={"autocapitalize": "none"})
    deadline_days = WholeNumberField("Deadline (days after the test)", validators=[Optional(), NumberRange(0, 365)],
                                     description="Leave it empty if the district sets none.")
    fee = AmountField("Fee per test report ($)", maximum=Decimal(1000), optional=True)
    fee_passed_on = BooleanField("Bill the fee to the customer",
                                 description="It is added to the work order of the test, and so to its invoice.")
    required_fields = SelectMultipleField("Each report must carry", choices=list(REQUIRABLE_LABELS.items()),
                                          option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False),
                                          validators=[Optional()],
                                          description="A test missing one is held back, with the reason, not sent.")
    wants_failed = BooleanField("The district wants failed tests too", default=True)
    auto_accept = BooleanField("Accept clean reports by themselves (district view)",
                               description="Passed, no remarks, the assembly matched and active, the test kit and "
                                           "the tester's certification valid that day.")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        self.submission_method.data = self.submission_method.data or SubmissionMethod.paper.value
        if self.submission_method.data not in {method.value for method in SubmissionMethod}:
            add_error(self.submission_method, "Choose how the district takes reports.")
            valid = False
        if valid and self.submission_method.data == SubmissionMethod.email.value and not self.report_email.data:
            add_error(self.report_email, "Give the address the test reports are emailed to.")
            valid = False
        # Across fields, and also when the day is left empty (which ends the day field's own validators).
        if valid and self.due_anchor.data == FIXED_DATE:
            month, day = self.fixed_due_month.data, self.fixed_due_day.data
            if month is None or day is None:
                add_error(self.fixed_due_day, "Choose the month and day the tests are due by.")
                valid = False
            elif not valid_day_of_year(month, day):
                add_error(self.fixed_due_day, "That month has no such day (February 29 is not every year's).")
                valid = False
        return valid


class ReportFormForm(FlaskForm):
    """The district's own test report form, as a template (its size and syntax are checked by the service)."""

    report_template = TextAreaField("Form template (HTML with Jinja placeholders)",
                                    render_kw={"rows": 24, "spellcheck": "false", "autocapitalize": "none",
                                               "autocomplete": "off", "class": "code-editor"},
                                    description="Leave it empty to use the standard form.")
