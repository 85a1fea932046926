"""When a device's next test falls due: one pure function of the last passing test and the district's rule.

- Anniversary (`last_test`): `interval` months after the last passing test. A test
  taken early, within `early_window_days` before the date it was due, keeps the
  original schedule: the next one is due `interval` months after that original
  date, so testing a little early never pulls every later test forward.
- Fixed date (`fixed_date`): the district's day of the year (say June 30) is a
  deadline; a test counts for the first deadline on or after it, and the next
  is due `interval` months after that deadline. A test taken late, after a
  deadline, counts for the following one (it is the test of that compliance year).
- End of month: the date found above moves to the last day of its month.

Months are calendar months; a day that a month lacks becomes its last day
(January 31 + 1 month = February 28, or 29).
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

LAST_TEST = "last_test"
FIXED_DATE = "fixed_date"


@dataclass(frozen=True)
class DueRule:
    interval_months: int = 12
    anchor: str = LAST_TEST
    fixed_month: int | None = None
    fixed_day: int | None = None
    early_window_days: int = 0
    end_of_month: bool = False

    def __post_init__(self):
        if not 1 <= self.interval_months <= 120:
            raise ValueError("the interval is 1 to 120 months")
        if self.anchor not in (LAST_TEST, FIXED_DATE):
            raise ValueError(f"unknown anchor {self.anchor!r}")
        if self.anchor == FIXED_DATE and not valid_day_of_year(self.fixed_month, self.fixed_day):
            raise ValueError("a fixed date needs a month and a day that every year has")
        if not 0 <= self.early_window_days <= 365:
            raise ValueError("the early-test window is 0 to 365 days")


def valid_day_of_year(month: int | None, day: int | None) -> bool:
    """A day that every year has (February 29 is not one)."""
    if month is None or day is None or not 1 <= month <= 12:
        return False
    return 1 <= day <= calendar.monthrange(2001, month)[1]


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def end_of_month(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _first_fixed_date_on_or_after(day: dt.date, month: int, day_of_month: int) -> dt.date:
    this_year = dt.date(day.year, month, day_of_month)
    return this_year if this_year >= day else dt.date(day.year + 1, month, day_of_month)


def next_due(last_pass: dt.date, rule: DueRule, *, due_before: dt.date | None = None) -> dt.date:
    """The date the next test is due after a passing test on `last_pass`.

    `due_before` is the date the device was due when it passed (its stored next
    due date at that moment); the early-test window needs it.
    """
    if rule.anchor == FIXED_DATE:
        base = _first_fixed_date_on_or_after(last_pass, rule.fixed_month, rule.fixed_day)
    else:
        base = last_pass
        window_opens = due_before - dt.timedelta(days=rule.early_window_days) if due_before else None
        if window_opens is not None and window_opens <= last_pass < due_before:
            base = due_before
    due = add_months(base, rule.interval_months)
    return end_of_month(due) if rule.end_of_month else due
