from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class SubmittedForm(FlaskForm):
    confirmation_number = StringField("The district's confirmation number", validators=[Optional(), Length(max=100)])


class OutcomeForm(FlaskForm):
    """The district's answer: accepted, or rejected with its reason."""

    outcome = RadioField("The district", choices=[("accepted", "Accepted it"), ("rejected", "Rejected it")],
                         validators=[DataRequired(message="Choose accepted or rejected.")])
    reason = TextAreaField("Why it was rejected", validators=[Optional(), Length(max=1000)])
