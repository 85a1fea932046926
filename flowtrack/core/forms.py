"""Typed input that every feature checks the same way."""
from __future__ import annotations

from typing import Any

from flask import current_app
from wtforms import DateField
from wtforms.validators import Email, Regexp, StopValidation

# Digits with the usual separators, an optional leading + and an optional extension ("x12", "ext. 12").
phone = Regexp(r"^\+?[0-9()./\- ]{7,30}( *(x|ext\.?) *[0-9]{1,6})?$",
               message="Enter a phone number: digits, spaces, dashes or brackets, optionally “ext. 12”.")


def clean(value: Any) -> Any:
    """Strip text; empty text is no value."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


class DayField(DateField):
    """A calendar day (the browser's date picker sends 2026-12-07). One that is no day (2026-13-45) is refused
    with one message in words, and what was typed stays in the field."""

    def process_formdata(self, valuelist):
        if not valuelist or not "".join(valuelist).strip():
            self.data = None  # nothing chosen: whether that may be is the validators' to say
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Not a date: choose one from the calendar, like 2026-12-07.") from None

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


class EmailAddress:
    """An email address. Addresses at `.test` (the demo's, and a trial's on one's own machine) are taken
    outside production; in production a `.test` address could never receive its invitation or reset link."""

    def __init__(self, message: str = "Enter an email address like name@example.com."):
        self.message = message

    def __call__(self, form, field) -> None:
        trying = current_app.config.get("ENV_NAME") != "production"
        Email(message=self.message, test_environment=trying)(form, field)
