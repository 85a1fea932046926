"""Typed input that every feature checks the same way."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask import current_app
from wtforms import DateField, DecimalField, IntegerField
from wtforms.validators import Email, Regexp, StopValidation
from wtforms.widgets import TextInput

from flowtrack.core.dates import FIRST_DAY, LAST_DAY, OUT_OF_RANGE

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
    """A calendar day (the browser's date picker sends 2026-12-07). One that is no day (2026-13-45) or out of any
    plausible range (9999-12-31) is refused with one message in words, and what was typed stays in the field."""

    def process_formdata(self, valuelist):
        if not valuelist or not "".join(valuelist).strip():
            self.data = None  # nothing chosen: whether that may be is the validators' to say
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Not a date: choose one from the calendar, like 2026-12-07.") from None
        if self.data is not None and not FIRST_DAY <= self.data <= LAST_DAY:
            self.data = None
            raise ValueError(OUT_OF_RANGE)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


def add_error(field, message: str) -> None:
    """Show a refusal under a field, whether its form was validated or not. A field's errors are a list only after
    validation; before (a form made with `formdata=None` to show a refusal of something else), they are WTForms'
    empty tuple, which has no `append`."""
    field.errors = [*field.errors, message]


def first_error(form) -> str:
    """The first message a refused form shows (the CSRF field's included), for a flash or another field."""
    return next((message for messages in form.errors.values() for message in messages
                 if isinstance(message, str)), "The form was not accepted; try again.")


# Numbers as people type them: digits, a sign, a decimal point. No exponent ("1e309"), no NaN or infinity, no
# underscores and no digits of other scripts, which Python's int() and Decimal() would take.
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
DECIMAL_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


class WholeNumberField(IntegerField):
    """A whole number (a quantity, days, metres) typed as text. One that is no whole number ("twelve", "1e309",
    "NaN") is refused with one message, what was typed stays in the field, and the range validator says how big it
    may be (10**30 is a whole number, refused by its range, never left for the database to overflow on)."""

    widget = TextInput()

    def __init__(self, label: str | None = None, validators=None, *, message: str = "Enter a whole number, like 12.",
                 **kwargs):
        kwargs["render_kw"] = {"inputmode": "numeric", "autocomplete": "off", **(kwargs.get("render_kw") or {})}
        super().__init__(label, validators, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        text = valuelist[0].strip() if valuelist else ""
        if not text:
            self.data = None  # nothing typed: whether that may be is the validators' to say
            return
        try:
            if not WHOLE_NUMBER.fullmatch(text):
                raise ValueError(text)
            self.data = int(text)  # more than 4,300 digits is a ValueError too
        except ValueError:
            self.data = None
            raise ValueError(self.message) from None

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()  # the message above says it all; the range check would only repeat it


class DecimalNumberField(DecimalField):
    """A decimal number (a tax rate, a latitude) typed as text, refused like `WholeNumberField` when it is none.
    Money has its own field, `flowtrack.core.money.AmountField`."""

    widget = TextInput()

    def __init__(self, label: str | None = None, validators=None, *, message: str = "Enter a number, like 8.25.",
                 **kwargs):
        kwargs["render_kw"] = {"inputmode": "decimal", "autocomplete": "off", **(kwargs.get("render_kw") or {})}
        super().__init__(label, validators, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        text = valuelist[0].strip() if valuelist else ""
        if not text:
            self.data = None
            return
        if not DECIMAL_NUMBER.fullmatch(text):
            self.data = None
            raise ValueError(self.message)
        self.data = Decimal(text)

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
