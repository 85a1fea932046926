"""Typed input that every feature checks the same way."""
from __future__ import annotations

from typing import Any

from wtforms.validators import Regexp

# Digits with the usual separators, an optional leading + and an optional extension ("x12", "ext. 12").
phone = Regexp(r"^\+?[0-9()./\- ]{7,30}( *(x|ext\.?) *[0-9]{1,6})?$",
               message="Enter a phone number: digits, spaces, dashes or brackets, optionally “ext. 12”.")


def clean(value: Any) -> Any:
    """Strip text; empty text is no value."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value
