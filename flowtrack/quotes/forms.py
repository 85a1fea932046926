import uuid

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from flowtrack.core.forms import DayField, WholeNumberField, add_error, clean
from flowtrack.core.money import AmountField
from flowtrack.core.signatures import signature_png
from flowtrack.quotes.services import SIGN_BY_HAND


class QuoteForm(FlaskForm):
    form_key = HiddenField(default=lambda: str(uuid.uuid4()))
    expires_on = DayField("Valid until", validators=[InputRequired(message="Choose the last day it may be approved.")])
    notes = TextAreaField("Notes for the customer", validators=[Optional(), Length(max=2000)])


class LineForm(FlaskForm):
    """A line from the price list or the parts list (their price unless another is typed), or one typed in full."""

    form_key = HiddenField(default=lambda: str(uuid.uuid4()))
    source = SelectField("From the price list or parts", choices=[], validate_choice=False)
    description = StringField("Or describe it", validators=[Optional(), Length(max=200)])
    quantity = WholeNumberField("Quantity", validators=[InputRequired(message="Enter how many, like 1."),
                                                        NumberRange(min=1, max=10000,
                                                                    message="Enter a quantity from 1 to 10000.")],
                                default=1)
    unit_price = AmountField("Unit price ($, empty: the list's)", optional=True)
    taxable = BooleanField("Taxable", default=True)
    optional = BooleanField("Optional: the customer may leave it out")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.source.data and self.source.data not in {value for value, _ in self.source.choices if value}:
            add_error(self.source, "Choose an item of the list.")
            return False
        if not self.source.data:
            if not self.description.data or not self.description.data.strip():
                add_error(self.description, "Choose an item of the list, or describe the line.")
                valid = False
            if self.unit_price.data is None and not self.unit_price.errors:
                add_error(self.unit_price, "Enter the price of a line you describe, like 85.00.")
                valid = False
        return valid


class ApproveForm(FlaskForm):
    version = HiddenField()
    name = StringField("Your full name", validators=[DataRequired(message="Type your full name to approve."),
                                                     Length(max=200)], filters=[clean],
                       render_kw={"autocomplete": "name"})
    # The signature pad's PNG data URL, where the company asks customers to sign by hand (or one was drawn).
    signature = HiddenField()
    signature_required = False
    drawn: bytes | None = None  # the signature as a checked PNG, once the form validates

    def validate_signature(self, field: HiddenField) -> None:
        if not self.signature_required and not (field.data or "").strip():
            return
        try:
            self.drawn = signature_png(field.data, missing=SIGN_BY_HAND)
        except ValueError as problem:
            field.data = ""  # what was refused is not drawn on the pad again
            raise ValidationError(str(problem)) from None


class QuoteSettingsForm(FlaskForm):
    signature_required = BooleanField(
        "Ask customers to sign quotes by hand",
        description="Besides typing their name, a customer approving a quote signs on a signature pad with a finger "
                    "or the mouse (or signs with the typed name, lettered, when they cannot draw). The signature is "
                    "kept with the approval and printed on the quote.")


class DeclineForm(FlaskForm):
    version = HiddenField()
    reason = TextAreaField("Why you decline", filters=[clean], validators=[
        DataRequired(message="Tell the company why you decline, so they can help."), Length(max=1000)])
