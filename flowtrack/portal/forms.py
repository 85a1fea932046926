from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired, Regexp


class SaveCardForm(FlaskForm):
    """Sent by the card page's script once Stripe confirmed the card: which SetupIntent, and whether the
    customer also asked for autopay (the consent's words are beside the box)."""

    setup_intent = HiddenField(validators=[DataRequired(), Regexp(r"^seti_\w{1,100}$")])
    autopay = BooleanField("Pay my invoices with this card automatically")


class AutopayForm(FlaskForm):
    consent = BooleanField("I agree", validators=[DataRequired(message="Tick the box to agree to the words above.")])


class CardActionForm(FlaskForm):
    """Turning autopay off and removing the card: a button, with its CSRF token."""
