import uuid
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from flowtrack.core.forms import DayField, DecimalNumberField, WholeNumberField
from flowtrack.core.money import AmountField
from flowtrack.devices.services import SIZES
from flowtrack.models.customers import DeviceType
from flowtrack.models.invoicing import InvoiceStatus, PriceKind


class InvoiceFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField("Status", choices=[("", "Every status")] + [(s.value, s.label) for s in InvoiceStatus],
                         validators=[Optional()])


class LineForm(FlaskForm):
    description = StringField("Description", validators=[InputRequired(), Length(max=200)])
    quantity = WholeNumberField("Qty", default=1, validators=[InputRequired(), NumberRange(
        min=1, max=10000, message="Enter a quantity from 1 to 10,000.")])
    unit_price = AmountField("Unit price ($)")
    taxable = BooleanField("Taxable", default=True)


class PaymentForm(FlaskForm):
    amount = AmountField("Amount ($)", minimum=Decimal("0.01"))
    method = SelectField("Paid by", choices=[("check", "Check"), ("cash", "Cash")])
    reference = StringField("Check number or note", validators=[Optional(), Length(max=100)])
    received_on = DayField("Received on", validators=[InputRequired()])
    # A new key each time the form is shown: sent twice (a double click), it records one payment.
    form_key = HiddenField(default=lambda: str(uuid.uuid4()))

    def key(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(self.form_key.data or "")
        except ValueError:
            return None  # not a key this form made: recorded without one


class CreditForm(FlaskForm):
    amount = AmountField("Credit ($)", minimum=Decimal("0.01"), id="credit-amount")  # beside the payment's amount
    reason = StringField("Reason", validators=[InputRequired(), Length(max=150)])


class PriceForm(FlaskForm):
    # The trip charge is a company setting (TripChargeForm, on the admin's settings page), not a line of this list.
    kind = SelectField("What", choices=[(PriceKind.test.value, "Test fee"), (PriceKind.repair.value, "Repair part")])
    device_type = SelectField("Assembly type", choices=[("", "—")] + [(t.value, t.value) for t in DeviceType],
                              validators=[Optional()])
    size = SelectField("Size", choices=[("", "Every size")] + [(s, f"{s}″") for s in SIZES], validators=[Optional()])
    part = StringField("Repair", validators=[Optional(), Length(max=40)],
                       description="As technicians record it, e.g. “replaced disc”.")
    unit_price = AmountField("Price ($)")
    taxable = BooleanField("Taxable", default=True)

    def validate_device_type(self, field):
        if self.kind.data == PriceKind.test.value and not field.data:
            raise ValidationError("A test fee is for one assembly type.")

    def validate_part(self, field):
        if self.kind.data == PriceKind.repair.value and not (field.data or "").strip():
            raise ValidationError("Name the repair.")


class BillingSettingsForm(FlaskForm):
    tax_rate = DecimalNumberField("Sales tax (%)", places=2, validators=[InputRequired(), NumberRange(min=0, max=50)],
                                  message="Enter a percentage, like 8.25.")
    payment_terms_days = WholeNumberField("Payment due after (days)", validators=[InputRequired(),
                                                                                 NumberRange(min=0, max=365)])

    def validate_tax_rate(self, field):
        if field.data is not None and field.data.as_tuple().exponent < -2:
            raise ValidationError("At most two decimals (8.25).")


class TripChargeForm(FlaskForm):
    trip_charge = AmountField("Amount per visit ($)", optional=True,
                              description="Added once to each visit's work order. Leave empty to charge none.")
    trip_taxable = BooleanField("Taxable")
