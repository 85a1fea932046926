"""The forms of filing on a district's portal: its batch columns and a batch to make (a confirmation number is
`forms.SubmittedForm`)."""
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired

from flowtrack.submissions.batch_fields import MAX_COLUMNS, PRESETS
from flowtrack.submissions.batches import SCOPES


class ColumnRow(Form):
    """One column of the file: its heading as the district writes it, and what goes in it. Checked as a whole
    mapping (`batch_fields.checked`), so that the editor's buttons work on rows not finished yet."""

    header = StringField("Heading")
    field = StringField("What goes in it")  # a select of `batch_fields.grouped_choices()`, by group


class ColumnsForm(FlaskForm):
    columns = FieldList(FormField(ColumnRow), max_entries=MAX_COLUMNS)
    preset = SelectField("Preset", choices=[(key, preset.label) for key, preset in PRESETS.items()],
                         validate_choice=False)


class BatchForm(FlaskForm):
    scope = StringField(validators=[DataRequired(), AnyOf(list(SCOPES), message="Choose which tests go in the file.")])

