"""The next-due rule, one row per case: anniversary, fixed date, early-test window, end of month."""
import datetime as dt

import pytest

from flowtrack.devices.due_dates import DueRule, add_months, next_due

D = dt.date
YEARLY = DueRule()
FIXED_JUNE_30 = DueRule(anchor="fixed_date", fixed_month=6, fixed_day=30)

CASES = [
    # (what it shows, last passing test, rule, due when it passed, next due)
    ("anniversary of the test", D(2025, 3, 10), YEARLY, None, D(2026, 3, 10)),
    ("a late test restarts the clock", D(2025, 5, 1), YEARLY, D(2025, 3, 10), D(2026, 5, 1)),
    ("a test on the due date", D(2025, 3, 10), YEARLY, D(2025, 3, 10), D(2026, 3, 10)),
    ("other intervals", D(2025, 3, 10), DueRule(interval_months=36), None, D(2028, 3, 10)),
    ("six months", D(2025, 8, 31), DueRule(interval_months=6), None, D(2026, 2, 28)),
    ("leap day to a common year", D(2024, 2, 29), YEARLY, None, D(2025, 2, 28)),
    ("early without a window moves the schedule forward", D(2025, 2, 20), YEARLY, D(2025, 3, 10), D(2026, 2, 20)),
    ("early within the window keeps the original due date",
     D(2025, 2, 20), DueRule(early_window_days=30), D(2025, 3, 10), D(2026, 3, 10)),
    ("the window's first day counts", D(2025, 2, 8), DueRule(early_window_days=30), D(2025, 3, 10), D(2026, 3, 10)),
    ("earlier than the window moves the schedule",
     D(2025, 2, 7), DueRule(early_window_days=30), D(2025, 3, 10), D(2026, 2, 7)),
    ("the window needs the date it was due", D(2025, 2, 20), DueRule(early_window_days=30), None, D(2026, 2, 20)),
    ("end of month", D(2025, 3, 10), DueRule(end_of_month=True), None, D(2026, 3, 31)),
    ("end of month in February", D(2023, 2, 3), DueRule(end_of_month=True), None, D(2024, 2, 29)),
    ("end of month with the window",
     D(2025, 3, 2), DueRule(early_window_days=45, end_of_month=True), D(2025, 3, 31), D(2026, 3, 31)),
    ("fixed date: a test before the deadline counts for it", D(2025, 1, 5), FIXED_JUNE_30, None, D(2026, 6, 30)),
    ("fixed date: a test on the deadline", D(2025, 6, 30), FIXED_JUNE_30, None, D(2026, 6, 30)),
    ("fixed date: a late test counts for the next deadline", D(2025, 7, 5), FIXED_JUNE_30, None, D(2027, 6, 30)),
    ("fixed date, two years", D(2025, 1, 5), DueRule(anchor="fixed_date", fixed_month=6, fixed_day=30,
                                                     interval_months=24), None, D(2027, 6, 30)),
    ("fixed date ignores the early window",
     D(2025, 1, 5), DueRule(anchor="fixed_date", fixed_month=6, fixed_day=30, early_window_days=200),
     D(2025, 6, 30), D(2026, 6, 30)),
    ("fixed date at end of month", D(2025, 1, 5), DueRule(anchor="fixed_date", fixed_month=4, fixed_day=15,
                                                         end_of_month=True), None, D(2026, 4, 30)),
]


@pytest.mark.parametrize("last_pass, rule, due_before, expected",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_next_due(last_pass, rule, due_before, expected):
    assert next_due(last_pass, rule, due_before=due_before) == expected


@pytest.mark.parametrize("fields", [
    {"interval_months": 0}, {"interval_months": 121}, {"anchor": "whenever"},
    {"anchor": "fixed_date"}, {"anchor": "fixed_date", "fixed_month": 2, "fixed_day": 29},
    {"anchor": "fixed_date", "fixed_month": 13, "fixed_day": 1}, {"early_window_days": -1},
])
def test_rules_that_make_no_sense_are_refused(fields):
    with pytest.raises(ValueError):
        DueRule(**fields)


def test_months_are_calendar_months():
    assert add_months(D(2025, 1, 31), 1) == D(2025, 2, 28)
    assert add_months(D(2025, 12, 15), 1) == D(2026, 1, 15)
    assert add_months(D(2025, 1, 15), -1) == D(2024, 12, 15)
