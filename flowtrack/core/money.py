"""Money is integer cents with a currency; this is how people read it."""
from __future__ import annotations

from decimal import Decimal

from wtforms.validators import ValidationError


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
