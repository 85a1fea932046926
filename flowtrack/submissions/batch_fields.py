"""What a district's portal asks of each test, as fields a column mapping names: the one fixed set that both the
batch file (`batches.py`) and the ready-to-copy sheet read, so that the two always agree.

A district's mapping (`District.csv_columns`) is an ordered list of {"header": text, "field": key}; the header is
the district's own wording, the field one of `FIELDS`. No mapping means the Generic preset.

Where a value comes from: what the printed report shows (the tester and their certification, the test kit, the
assembly's type, make, model, serial and size, the readings) is read from the test's frozen facts, so the file says
what the report says; what the report does not carry (the service address in parts, the water account, the meter,
the hazard, the cross-connection) is read from the office's records as they are now, which is where the office
fixes what a district rejected. Every value is text; a value the test does not have is empty.
"""
from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, NamedTuple

from flowtrack.field_tests import rules
from flowtrack.models.customers import CrossConnection, CustomerLocation, Device, DeviceType, District, Hazard
from flowtrack.models.field_tests import TestRecord, TestResult, TestType

MAX_COLUMNS = 100
MAX_HEADER = 100


@dataclass(frozen=True)
class CompanyFacts:
    """The testing company as a district's form names it."""

    name: str
    phone: str | None = None
    address: str | None = None


@dataclass
class Filing:
    """One test as a district's portal asks for it."""

    record: TestRecord
    device: Device
    location: CustomerLocation
    district: District
    company: CompanyFacts
    zone: zoneinfo.ZoneInfo

    @cached_property
    def tested_at(self) -> dt.datetime:
        return self.record.tested_at.astimezone(self.zone)

    @property
    def facts(self) -> dict:
        return self.record.facts or {}

    @property
    def assembly(self) -> dict:
        return self.facts.get("device") or {}

    @property
    def kit(self) -> dict:
        return self.facts.get("gauge") or {}


class Field(NamedTuple):
    key: str
    label: str
    group: str
    read: Callable[[Filing], object]


class Column(NamedTuple):
    header: str
    field: str


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value).strip()


def _us_date(iso: str | None) -> str:
    return dt.date.fromisoformat(iso).strftime("%m/%d/%Y") if iso else ""


def _reading(values: dict | None, key: str) -> str:
    """A reading as the technician typed it; a yes/no answer as Yes or No."""
    raw = (values or {}).get(key)
    if raw is None or rules.is_psid(key):
        return _text(raw)
    try:
        return _text(rules.parse_yes_no(raw))
    except ValueError:
        return _text(raw)


# The words state forms use for why an assembly was tested (the TCEQ-20700's "reason for test").
_REASONS = {TestType.installation.value: "New", TestType.replacement.value: "Replacement"}
_RESULTS = {TestResult.passed.value: "Pass", TestResult.failed.value: "Fail", TestResult.removed.value: "Removed"}


def _label(kind: type, value: str | None) -> str:
    return kind(value).label if value else ""


def _street(location: CustomerLocation) -> str:
    return ", ".join(part for part in (location.address_line1, location.address_line2) if part)


_TEST, _PEOPLE, _ASSEMBLY, _PLACE = "The test", "Tester and test kit", "The assembly", "The place"
_READINGS, _RETEST, _OTHER = "Readings", "Readings after repair", "District and company"

_FIELDS: list[Field] = [
    Field("test_date", "Test date (2026-12-07)", _TEST, lambda f: f.tested_at.date().isoformat()),
    Field("test_date_us", "Test date (12/07/2026)", _TEST, lambda f: f.tested_at.strftime("%m/%d/%Y")),
    Field("test_time", "Test time (2:30 PM)", _TEST, lambda f: f.tested_at.strftime("%-I:%M %p")),
    Field("test_type", "Kind of test (Annual test, Repair and retest, …)", _TEST,
          lambda f: _label(TestType, f.record.test_type)),
    Field("test_reason", "Reason for test (New, Existing, Replacement)", _TEST,
          lambda f: _REASONS.get(f.record.test_type, "Existing")),
    Field("result", "Result (Pass, Fail, Removed)", _TEST, lambda f: _RESULTS.get(f.record.result, "")),
    Field("initial_result", "Result before repairs (Pass, Fail)", _TEST,
          lambda f: _RESULTS.get(f.record.initial_result or "", "")),
    Field("line_pressure", "Line pressure (psi)", _TEST, lambda f: f.record.line_pressure_psi),
    Field("shutoff1_tight", "Shutoff valve 1 tight (Yes, No)", _TEST, lambda f: f.record.shutoff1_tight),
    Field("repairs", "Repairs made", _TEST, lambda f: "; ".join(r.capitalize() for r in f.record.repairs or [])),
    Field("remarks", "Remarks (the test's notes)", _TEST, lambda f: f.record.notes),
    Field("test_id", "FlowTrack's test id", _TEST, lambda f: f.record.id),
    Field("tester_name", "Tester's name", _PEOPLE, lambda f: f.facts.get("tester")),
    Field("tester_certification", "Tester's certification (license) number", _PEOPLE,
          lambda f: f.facts.get("certification_number")),
    Field("tester_certification_expires", "Tester's certification expires (date)", _PEOPLE,
          lambda f: f.facts.get("certification_expires_on")),
    Field("kit_make_model", "Test kit make and model", _PEOPLE,
          lambda f: " ".join(_text(f.kit.get(k)) for k in ("make", "model") if f.kit.get(k))),
    Field("kit_make", "Test kit make", _PEOPLE, lambda f: f.kit.get("make")),
    Field("kit_model", "Test kit model", _PEOPLE, lambda f: f.kit.get("model")),
    Field("kit_serial", "Test kit serial number", _PEOPLE, lambda f: f.kit.get("serial")),
    Field("kit_calibrated_on", "Test kit last calibrated (2026-12-07)", _PEOPLE,
          lambda f: f.kit.get("last_calibrated_on")),
    Field("kit_calibrated_on_us", "Test kit last calibrated (12/07/2026)", _PEOPLE,
          lambda f: _us_date(f.kit.get("last_calibrated_on"))),
    Field("kit_calibration_due", "Test kit calibration due (2026-12-07)", _PEOPLE,
          lambda f: f.kit.get("calibration_due_on")),
    Field("device_type", "Assembly type (RP, DC, PVB, …)", _ASSEMBLY, lambda f: f.assembly.get("type")),
    Field("device_type_name", "Assembly type in words (Reduced pressure (RP), …)", _ASSEMBLY,
          lambda f: _label(DeviceType, f.assembly.get("type"))),
    Field("manufacturer", "Manufacturer", _ASSEMBLY, lambda f: f.assembly.get("manufacturer")),
    Field("model", "Model", _ASSEMBLY, lambda f: f.assembly.get("model")),
    Field("serial", "Serial number", _ASSEMBLY, lambda f: f.assembly.get("serial")),
    Field("size", "Size (inches)", _ASSEMBLY, lambda f: f.assembly.get("size")),
    Field("where_installed", "Where it is installed", _ASSEMBLY, lambda f: f.assembly.get("where_installed")),
    Field("hazard", "Hazard", _ASSEMBLY, lambda f: _label(Hazard, f.device.hazard)),
    Field("cross_connection", "Cross-connection (what it protects)", _ASSEMBLY,
          lambda f: _label(CrossConnection, f.device.cross_connection)),
    Field("meter_number", "Meter number", _ASSEMBLY, lambda f: f.device.meter_number),
    Field("customer_name", "Customer (owner)", _PLACE, lambda f: f.facts.get("customer")),
    Field("address", "Service address, one line", _PLACE, lambda f: f.location.one_line),
    Field("street", "Street address", _PLACE, lambda f: _street(f.location)),
    Field("city", "City", _PLACE, lambda f: f.location.city),
    Field("state", "State", _PLACE, lambda f: f.location.state),
    Field("zip", "ZIP code", _PLACE, lambda f: f.location.postal_code),
    Field("water_account_number", "Water account number", _PLACE, lambda f: f.location.water_account_number),
    *(Field(f"reading_{key}", label, _READINGS, lambda f, key=key: _reading(f.record.readings, key))
      for key, label in rules.LABELS.items()),
    *(Field(f"retest_{key}", f"{label}, after repair", _RETEST,
            lambda f, key=key: _reading(f.record.retest_readings, key))
      for key, label in rules.LABELS.items()),
    Field("district_name", "Water district (public water system) name", _OTHER, lambda f: f.district.name),
    Field("district_contact", "Water district's contact person", _OTHER, lambda f: f.district.contact_name),
    Field("company_name", "Testing company's name", _OTHER, lambda f: f.company.name),
    Field("company_phone", "Testing company's phone", _OTHER, lambda f: f.company.phone),
    Field("company_address", "Testing company's address", _OTHER, lambda f: f.company.address),
    # A column the district's file has and FlowTrack has nothing for: kept, so the layout matches.
    Field("blank", "Nothing (an empty column)", _OTHER, lambda f: None),
]
FIELDS: dict[str, Field] = {field.key: field for field in _FIELDS}


def grouped_choices() -> dict[str, list[tuple[str, str]]]:
    """The fields by group, for a select's option groups."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for field in _FIELDS:
        groups.setdefault(field.group, []).append((field.key, field.label))
    return groups


def value_of(filing: Filing, field: str) -> str:
    """One field of one test ('' for a field that is not one)."""
    return _text(FIELDS[field].read(filing)) if field in FIELDS else ""


def values(filing: Filing, columns: list[Column]) -> list[str]:
    """One test's row in the district's layout."""
    return [_text(FIELDS[column.field].read(filing)) for column in columns]


# --- presets -----------------------------------------------------------------------------------------------

class Preset(NamedTuple):
    label: str
    columns: list[Column]


GENERIC = [Column(*pair) for pair in (
    ("Test Date", "test_date"), ("Tester", "tester_name"), ("Tester Certification", "tester_certification"),
    ("Test Kit Serial", "kit_serial"), ("Test Kit Calibrated", "kit_calibrated_on"),
    ("Assembly Type", "device_type"), ("Manufacturer", "manufacturer"), ("Model", "model"),
    ("Serial Number", "serial"), ("Size", "size"), ("Location on Site", "where_installed"),
    ("Customer", "customer_name"), ("Street Address", "street"), ("City", "city"), ("State", "state"),
    ("ZIP", "zip"), ("Water Account", "water_account_number"), ("Meter Number", "meter_number"),
    ("Hazard", "hazard"), ("Cross-Connection", "cross_connection"), ("Result", "result"),
    ("Line Pressure (psi)", "line_pressure"), ("Check 1 (psid)", "reading_check1_psid"),
    ("Check 2 (psid)", "reading_check2_psid"), ("Relief Valve Opened (psid)", "reading_relief_opened_psid"),
    ("Check Valve (psid)", "reading_check_psid"), ("Air Inlet Opened (psid)", "reading_air_inlet_opened_psid"),
    ("Repairs", "repairs"), ("Remarks", "remarks"), ("FlowTrack Test ID", "test_id"),
)]

# The Texas "Backflow Prevention Assembly Test and Maintenance Report" (TCEQ-20700), its items in the form's order
# as public descriptions of the form give them; docs/district-batches.md says what has no field (kept as empty
# columns where the form has a line for it).
TCEQ_20700 = [Column(*pair) for pair in (
    ("Name of PWS", "district_name"), ("PWS ID#", "blank"), ("PWS Mailing Address", "blank"),
    ("PWS Contact Person", "district_contact"), ("Address of Service", "address"),
    ("Type of Assembly", "device_type_name"), ("Manufacturer", "manufacturer"), ("Model Number", "model"),
    ("Serial Number", "serial"), ("Size", "size"), ("Location of Assembly", "where_installed"),
    ("Assembly Serves", "cross_connection"), ("Reason for Test", "test_reason"),
    ("Installed per Code", "blank"),
    ("Initial Test: 1st Check (psid)", "reading_check1_psid"),
    ("Initial Test: 2nd Check (psid)", "reading_check2_psid"),
    ("Initial Test: 2nd Check Closed Tight", "reading_check2_closed_tight"),
    ("Initial Test: Relief Valve Opened at (psid)", "reading_relief_opened_psid"),
    ("Initial Test: PVB Air Inlet Opened at (psid)", "reading_air_inlet_opened_psid"),
    ("Initial Test: PVB Check Valve Held at (psid)", "reading_check_psid"),
    ("Repairs and Materials Used", "repairs"),
    ("Test after Repair: 1st Check (psid)", "retest_check1_psid"),
    ("Test after Repair: 2nd Check (psid)", "retest_check2_psid"),
    ("Test after Repair: Relief Valve Opened at (psid)", "retest_relief_opened_psid"),
    ("Test after Repair: PVB Air Inlet Opened at (psid)", "retest_air_inlet_opened_psid"),
    ("Test after Repair: PVB Check Valve Held at (psid)", "retest_check_psid"),
    ("Test Gauge Make/Model", "kit_make_model"), ("Test Gauge Serial Number", "kit_serial"),
    ("Date Tested for Accuracy", "kit_calibrated_on_us"), ("Result", "result"), ("Remarks", "remarks"),
    ("Tester Name", "tester_name"), ("BPAT License Number", "tester_certification"),
    ("Date", "test_date_us"), ("Time", "test_time"),
)]

PRESETS: dict[str, Preset] = {
    "generic": Preset("Generic", GENERIC),
    "tceq_20700": Preset("Texas TCEQ-20700 (Test and Maintenance Report)", TCEQ_20700),
}


def columns_of(district: District) -> list[Column]:
    """The district's batch columns: its own mapping, or the Generic preset."""
    if not district.csv_columns:
        return list(GENERIC)
    return [Column(column["header"], column["field"]) for column in district.csv_columns]


def preset_named(columns: list[Column]) -> str | None:
    """The preset these columns are, unchanged (None: the company's own)."""
    return next((preset.label for preset in PRESETS.values() if preset.columns == columns), None)


# --- checking a mapping ------------------------------------------------------------------------------------

class MappingError(Exception):
    """A mapping that cannot be saved; `rows` holds each row's message by its index, `general` the rest."""

    def __init__(self, general: str | None, rows: dict[int, str]):
        super().__init__(general or "; ".join(rows.values()))
        self.general, self.rows = general, rows


def checked(rows: list[tuple[str | None, str | None]]) -> list[Column]:
    """The columns as typed, checked: each with a heading (unique, at most 100 characters) and a known field."""
    if not rows:
        raise MappingError("Add at least one column.", {})
    if len(rows) > MAX_COLUMNS:
        raise MappingError(f"A file has at most {MAX_COLUMNS} columns.", {})
    problems: dict[int, str] = {}
    seen: dict[str, int] = {}
    columns = []
    for index, (header, field) in enumerate(rows):
        header = (header or "").strip()
        if not header:
            problems[index] = "Give the column's heading, as the district's file has it."
        elif len(header) > MAX_HEADER:
            problems[index] = f"A heading has at most {MAX_HEADER} characters."
        elif header.casefold() in seen:
            problems[index] = f"Column {seen[header.casefold()] + 1} has this heading already."
        elif field not in FIELDS:
            problems[index] = "Choose what goes in this column."
        seen.setdefault(header.casefold(), index)
        columns.append(Column(header, field or ""))
    if problems:
        raise MappingError(None, problems)
    return columns


@dataclass(frozen=True)
class Edited:
    """The editor's rows after one of its buttons, as typed (not checked); the button or field to give the
    keyboard's focus to, so a person moving a row keeps their place; what to tell them, or what was refused."""

    rows: list[tuple[str, str]]
    focus: str | None = None
    notice: str | None = None
    refused: MappingError | None = None


def edited(rows: list[tuple[str, str]], action: str, preset: str | None) -> Edited:
    """The rows after the editor's button `action`: "preset" (the preset named), "add", "up-3", "down-3" or
    "remove-3". A button that names no row leaves them as they were."""
    rows = list(rows)
    if action == "preset":
        chosen = PRESETS.get(preset or "")
        if chosen is None:
            return Edited(rows, refused=MappingError("Choose a preset.", {}))
        return Edited([tuple(column) for column in chosen.columns], focus="save",
                      notice=f"The {chosen.label} columns are below. Save them to use them.")
    verb, _, number = action.partition("-")
    if verb == "add":
        if len(rows) >= MAX_COLUMNS:
            return Edited(rows, refused=MappingError(f"A file has at most {MAX_COLUMNS} columns.", {}))
        return Edited([*rows, ("", "")], focus=f"header-{len(rows)}")
    if not number.isdigit() or int(number) >= len(rows):
        return Edited(rows)
    index = int(number)
    if verb == "remove":
        del rows[index]
        return Edited(rows, focus=f"remove-{min(index, len(rows) - 1)}" if rows else "add")
    target = index - 1 if verb == "up" else index + 1 if verb == "down" else None
    if target is None or not 0 <= target < len(rows):
        return Edited(rows)
    rows[index], rows[target] = rows[target], rows[index]
    # The first row has no "up" button and the last no "down": the row's other button keeps the focus there.
    if verb == "up" and target == 0:
        return Edited(rows, focus="down-0")
    if verb == "down" and target == len(rows) - 1:
        return Edited(rows, focus=f"up-{target}")
    return Edited(rows, focus=f"{verb}-{target}")
