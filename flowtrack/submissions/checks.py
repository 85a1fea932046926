"""The checks a test report passes before it is sent to its water district (the commonest reasons districts
reject reports): the fields the district requires are there, the test kit's calibration and the tester's
certification were valid on the day of the test, and, where the district gave us its list of assemblies, the
device is on it. A report that fails one is held back with the reasons, in words the office can act on."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from flowtrack.models.customers import REQUIRABLE_LABELS, District
from flowtrack.models.field_tests import TestRecord

# How each requirable field is read off a test, its device and its place.
_READ: dict[str, Callable[[TestRecord], object]] = {
    "water_account_number": lambda record: record.device.location.water_account_number,
    "meter_number": lambda record: record.device.meter_number,
    "hazard": lambda record: record.device.hazard,
    "cross_connection": lambda record: record.device.cross_connection,
    "line_pressure": lambda record: record.line_pressure_psi,
    "where_installed": lambda record: record.device.where_installed,
    "model": lambda record: record.device.model,
    "size": lambda record: record.device.size,
}


def missing_fields(record: TestRecord, district: District) -> list[str]:
    return [f"{REQUIRABLE_LABELS[name]} is missing: {district.name} requires it."
            for name in district.required_fields if name in _READ and _READ[name](record) in (None, "")]


def kit_and_tester(record: TestRecord, tested_on: dt.date) -> list[str]:
    """What was out of date on the day of the test, as the report froze it."""
    facts, reasons = record.facts or {}, []
    gauge = facts.get("gauge")
    if gauge is None:
        reasons.append("No test kit is named on the report.")
    elif dt.date.fromisoformat(gauge["calibration_due_on"]) < tested_on:
        reasons.append(f"The test kit {gauge['serial']} was due for calibration on {gauge['calibration_due_on']}, "
                       "before the test.")
    expires = facts.get("certification_expires_on")
    if not facts.get("certification_number") or not expires:
        reasons.append("The tester's certification is not on the report.")
    elif dt.date.fromisoformat(expires) < tested_on:
        reasons.append(f"{facts.get('tester', 'The tester')}'s certification expired on {expires}, before the test.")
    return reasons


def reasons_to_hold(record: TestRecord, district: District, tested_on: dt.date,
                    not_on_district_list: str | None) -> list[str]:
    """Every reason the report may not be sent now; empty when it may."""
    reasons = missing_fields(record, district) + kit_and_tester(record, tested_on)
    return reasons + ([not_on_district_list] if not_on_district_list else [])
