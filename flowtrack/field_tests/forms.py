from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from flowtrack.core.forms import WholeNumberField
from flowtrack.field_tests.services import REPAIR_CHOICES
from flowtrack.models.field_tests import TestType


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class FieldTestForm(FlaskForm):
    """The fixed part of the test form; the readings an assembly needs are fields of their own
    (`r_<key>`, `retest_r_<key>`), judged by the rules module rather than by WTForms."""

    # Not marked `required` in the page: a required select must start with an empty choice, and this one starts
    # with a kind of test (the server still refuses none).
    test_type = SelectField("Kind of test", choices=[(t.value, t.label) for t in TestType], default="annual",
                            validators=[DataRequired(message="Choose the kind of test.")],
                            render_kw={"required": False})
    gauge_id = SelectField("Test kit", choices=[], validate_choice=False)
    line_pressure_psi = WholeNumberField("Line pressure (psi)", validators=[
        Optional(), NumberRange(0, 400, message="Line pressure is between 0 and 400 psi.")],
        render_kw={"inputmode": "numeric"})
    shutoff1_tight = RadioField("Shutoff valve 1", choices=[("yes", "Tight"), ("no", "Leaking")],
                                validators=[Optional()], validate_choice=False)
    repairs = CheckboxesField("Repairs made", choices=[(c, c.capitalize()) for c in REPAIR_CHOICES],
                              validate_choice=False)
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)])
