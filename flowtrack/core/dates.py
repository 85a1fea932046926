"""Dates and times as people read them, in their company's time zone.

Moments are stored in UTC; `date`, `local_time` and `clock` take the zone to show a moment in and refuse to
guess it. A calendar day (a `date`: a due date, an invoice date) is the same everywhere and needs none.
"""
from __future__ import annotations

import datetime as dt
import zoneinfo

# The days a person may type: any other is a typing mistake, and 9999-12-31 plus a day (the day after a range, the
# week of a board) is beyond what Python's dates hold.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)
OUT_OF_RANGE = "Choose a day from 1900 to 2199."


def typed_day(text: str) -> dt.date:
    """A calendar day as the browser's date picker sends it (2026-12-07), from 1900 to 2199; ValueError for text
    that is no such day."""
    day = dt.date.fromisoformat(text.strip())
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(OUT_OF_RANGE)
    return day


def _zone(zone: str | dt.tzinfo) -> dt.tzinfo:
    return zoneinfo.ZoneInfo(zone) if isinstance(zone, str) else zone


def _local(value: dt.datetime | dt.date, zone: str | dt.tzinfo | None) -> dt.datetime | dt.date:
    if isinstance(value, dt.datetime):
        if zone is None:
            raise ValueError("a moment is shown in the company's time zone: pass it")
        return value.astimezone(_zone(zone))
    return value


def date(value: dt.datetime | dt.date, zone: str | dt.tzinfo | None = None, *, long: bool = False) -> str:
    """A day as people read it: "Dec 7, 2026" ("December 7, 2026" with long=True); a moment in the given zone."""
    day = _local(value, zone)
    return f"{day:%B} {day.day}, {day.year}" if long else f"{day:%b} {day.day}, {day.year}"


def local_time(value: dt.datetime, zone: str | dt.tzinfo) -> str:
    """A moment as people of the company read it: "July 30, 2026 at 04:00 PDT"."""
    local = value.astimezone(_zone(zone))
    return f"{local:%B} {local.day}, {local:%Y} at {local:%H:%M %Z}"


def utc(moment: dt.datetime) -> str:
    """A moment in UTC to the second, for auditors who compare logs across places: "2026-12-07 00:12:33"."""
    return f"{moment.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M:%S}"


def clock(moment: dt.datetime, zone: str | dt.tzinfo) -> str:
    """The wall-clock time of a moment in the company's zone: "09:30"."""
    return f"{moment.astimezone(_zone(zone)):%H:%M}"
