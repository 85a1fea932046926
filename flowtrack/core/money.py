"""Money is integer cents with a currency; this is how people read it."""
from __future__ import annotations

from decimal import Decimal

from wtforms import DecimalField
from wtforms.validators import InputRequired, NumberRange, Optional, StopValidation, ValidationError
from wtforms.widgets import TextInput

from flowtrack.core.forms import DECIMAL_NUMBER


def format_cents(cents: int, currency: str = "USD") -> str:
    """12345 -> "$123.45"; -500 -> "-$5.00"; other currencies by code: "123.45 CAD"."""
    sign = "-" if cents < 0 else ""
    number = f"{abs(cents) // 100:,}.{abs(cents) % 100:02d}"
    return f"{sign}${number}" if currency == "USD" else f"{sign}{number} {currency}"


def cents(amount: Decimal) -> int:
    """A typed amount of dollars (at most two decimals, see `whole_cents`) in cents."""
    return int(amount * 100)


def whole_cents(form, field) -> None:
    """A form check: an amount of money typed with at most two decimals."""
    if field.data is not None and field.data.as_tuple().exponent < -2:
        raise ValidationError("Whole cents only (at most two decimals).")


class AmountField(DecimalField):
    """Dollars and cents typed as text ("85", "85.00", "$1,250.50"). A number input would let the browser erase
    what it cannot read; as text, what was typed stays in the field when it is refused, with one message that
    says why in plain words: digits and a decimal point only (no "1e309", "NaN" or "inf", which Decimal would
    take), within the field's limits (at most $1,000,000.00 unless told, as the price columns' checks allow)."""

    widget = TextInput()

    def __init__(self, label: str, *, minimum: Decimal = Decimal(0), maximum: Decimal = Decimal(1_000_000),
                 required: str = "Enter an amount, like 85.00.", optional: bool = False, **kwargs):
        """`optional`: left empty, the field holds None (no amount) instead of being refused."""
        limits = f"from {format_cents(cents(minimum))} to {format_cents(cents(maximum))}"
        self.optional = optional
        super().__init__(label, validators=[Optional() if optional else InputRequired(message=required),
                                            NumberRange(min=minimum, max=maximum, message=f"Enter an amount {limits}."),
                                            whole_cents],
                         render_kw={"inputmode": "decimal", "autocomplete": "off"}, **kwargs)

    def process_formdata(self, valuelist):
        if self.optional and valuelist and not valuelist[0].strip():
            self.data = None
            return
        typed = [valuelist[0].strip().removeprefix("$").replace(",", "")] if valuelist and valuelist[0] else valuelist
        try:
            if typed and not DECIMAL_NUMBER.fullmatch(typed[0]):
                raise ValueError(typed[0])
            super().process_formdata(typed)
        except ValueError:
            self.data = None
            raise ValueError("Enter a number of dollars and cents, like 85.00.") from None

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # the message above says it all; the range check would only repeat it
