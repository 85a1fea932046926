"""Pass/fail rules for field tests of backflow prevention assemblies.

Pure functions, no Flask, no database: `evaluate(assembly_type, readings)`
judges a set of readings and says, check by check, what passed and why. The
server judges every submission. The phone judges as readings are typed, in a
vault with no signal too, from this module's own table (`table()`: criteria,
thresholds, labels), so both judge by one source (field.js applies it).

Readings (keys are stable; values may be numbers or the strings a form sends):

    check1_psid            RP, RPDA, DC, DCDA: differential held across check valve 1 (psid)
    check2_psid            RP, RPDA, DC, DCDA: differential held across check valve 2 (psid)
    relief_opened_psid     RP, RPDA: differential at which the relief valve first discharged (psid)
    check2_closed_tight    RP, RPDA: check valve 2 held tight against backpressure (yes/no)
    shutoff2_held          RP, RPDA: shutoff valve 2 held tight (yes/no)
    check_psid             PVB, SVB: differential held across the check valve (psid)
    air_inlet_opened_psid  PVB, SVB: pressure at which the air inlet started to open (psid)
    air_inlet_fully_open   PVB, SVB: the air inlet opened fully (at atmospheric pressure for an SVB) (yes/no)
    air_inlet_opens        AVB: the float/poppet drops and the air inlet opens when pressure is removed (yes/no)
    air_inlet_seals        AVB: the air inlet closes and does not leak under line pressure (yes/no)

Criteria, as printed on district test forms that follow the field test
procedures of the USC Foundation for Cross-Connection Control and Hydraulic
Research (Manual of Cross-Connection Control, 10th edition, chapter 9), for
example the City of Iowa City's backflow prevention assembly test report, and
as stated in differential-pressure test-kit manuals (e.g. Watts TK-DP, Mid-West
Instrument 845):

    RP / RPDA  check valve 1 >= 5.0 psid; relief valve opens at >= 2.0 psid;
               check valve 1 at least 3.0 psid above the relief opening point;
               check valve 2 >= 1.0 psid and tight against backpressure; shutoff 2 tight.
    DC / DCDA  check valves 1 and 2 each >= 1.0 psid.
    PVB        air inlet opens at >= 1.0 psid and opens fully; check valve >= 1.0 psid.
    SVB        check valve >= 1.0 psid; air inlet starts to open at >= 1.0 psid and is
               fully open at atmospheric pressure.
    AVB        visual and operational check: the inlet opens when pressure drops and seals under pressure.

A district may set its own thresholds (`validate_overrides`); anything missing,
negative, non-numeric, NaN or above 100 psid is an error, never a pass.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Mapping

MAX_PSID = Decimal("100")
# A reading as a gauge shows it: digits with at most one decimal point (no exponent, no sign but a minus).
_DECIMAL = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")

# What each reading is called on the form, in messages and on the report.
LABELS = {
    "check1_psid": "Check valve 1 (psid)", "check2_psid": "Check valve 2 (psid)",
    "relief_opened_psid": "Relief valve opened at (psid)",
    "check2_closed_tight": "Check valve 2 tight against backpressure",
    "shutoff2_held": "Shutoff valve 2 tight", "check_psid": "Check valve (psid)",
    "air_inlet_opened_psid": "Air inlet opened at (psid)", "air_inlet_fully_open": "Air inlet fully open",
    "air_inlet_opens": "Air inlet opens", "air_inlet_seals": "Air inlet seals",
}

DEFAULT_THRESHOLDS: dict[str, Decimal] = {
    "rp_check1_min_psid": Decimal("5.0"),
    "rp_relief_min_psid": Decimal("2.0"),
    "rp_check1_over_relief_psid": Decimal("3.0"),
    "check_min_psid": Decimal("1.0"),
    "air_inlet_min_psid": Decimal("1.0"),
}

ASSEMBLY_TYPES = ("RP", "RPDA", "DC", "DCDA", "PVB", "SVB", "AVB")

_YES = {"yes", "y", "true", "1", "held", "tight", "closed", "pass", "ok", "on"}
_NO = {"no", "n", "false", "0", "leaked", "leaking", "open", "fail", "off"}


@dataclass(frozen=True)
class AtLeast:
    """A reading that must be at least a threshold."""

    key: str
    label: str
    threshold: str


@dataclass(frozen=True)
class GapAtLeast:
    """One reading must exceed another by at least a threshold."""

    key: str
    minus: str
    label: str
    threshold: str


@dataclass(frozen=True)
class Holds:
    """A yes/no observation that must be yes."""

    key: str
    label: str


Criterion = AtLeast | GapAtLeast | Holds

_RP = (
    AtLeast("check1_psid", "Check valve 1 held", "rp_check1_min_psid"),
    AtLeast("relief_opened_psid", "Relief valve opened", "rp_relief_min_psid"),
    GapAtLeast("check1_psid", "relief_opened_psid", "Check valve 1 above relief opening", "rp_check1_over_relief_psid"),
    AtLeast("check2_psid", "Check valve 2 held", "check_min_psid"),
    Holds("check2_closed_tight", "Check valve 2 tight against backpressure"),
    Holds("shutoff2_held", "Shutoff valve 2 tight"),
)
_DC = (
    AtLeast("check1_psid", "Check valve 1 held", "check_min_psid"),
    AtLeast("check2_psid", "Check valve 2 held", "check_min_psid"),
)
_PVB = (
    AtLeast("air_inlet_opened_psid", "Air inlet opened", "air_inlet_min_psid"),
    Holds("air_inlet_fully_open", "Air inlet opened fully"),
    AtLeast("check_psid", "Check valve held", "check_min_psid"),
)
_SVB = (
    AtLeast("check_psid", "Check valve held", "check_min_psid"),
    AtLeast("air_inlet_opened_psid", "Air inlet started to open", "air_inlet_min_psid"),
    Holds("air_inlet_fully_open", "Air inlet fully open at atmospheric pressure"),
)
_AVB = (
    Holds("air_inlet_opens", "Air inlet opens when pressure drops"),
    Holds("air_inlet_seals", "Air inlet seals under pressure"),
)

RULES: dict[str, tuple[Criterion, ...]] = {
    "RP": _RP, "RPDA": _RP, "DC": _DC, "DCDA": _DC, "PVB": _PVB, "SVB": _SVB, "AVB": _AVB,
}


@dataclass(frozen=True)
class CheckResult:
    key: str
    label: str
    passed: bool
    reason: str


@dataclass
class Evaluation:
    """The verdict: 'pass', 'fail', or 'incomplete' when a reading is missing or unusable."""

    assembly_type: str
    checks: list[CheckResult] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def result(self) -> str:
        if self.errors:
            return "incomplete"
        return "pass" if all(check.passed for check in self.checks) else "fail"

    @property
    def passed(self) -> bool:
        return self.result == "pass"


def required_readings(assembly_type: str) -> list[str]:
    """The reading keys an assembly type's test form asks for, in form order."""
    keys: list[str] = []
    for criterion in RULES[_type(assembly_type)]:
        for key in (criterion.key, getattr(criterion, "minus", None)):
            if key and key not in keys:
                keys.append(key)
    return keys


def is_psid(key: str) -> bool:
    return key.endswith("_psid")


def evaluate(assembly_type: str, readings: Mapping[str, object],
             overrides: Mapping[str, object] | None = None) -> Evaluation:
    """Judge the readings of one test of one assembly."""
    kind = _type(assembly_type)
    thresholds = {**DEFAULT_THRESHOLDS, **validate_overrides(overrides or {})}
    evaluation = Evaluation(kind)
    values: dict[str, Decimal | bool] = {}
    for key in required_readings(kind):
        try:
            values[key] = parse_psid(readings.get(key)) if is_psid(key) else parse_yes_no(readings.get(key))
        except ValueError as error:
            evaluation.errors[key] = str(error)
    for criterion in RULES[kind]:
        if any(k in evaluation.errors for k in (criterion.key, getattr(criterion, "minus", None)) if k):
            continue
        evaluation.checks.append(_judge(criterion, values, thresholds))
    return evaluation


def _judge(criterion: Criterion, values: dict, thresholds: dict[str, Decimal]) -> CheckResult:
    if isinstance(criterion, Holds):
        held = values[criterion.key]
        return CheckResult(criterion.key, criterion.label, held, "yes" if held else "no")
    minimum = thresholds[criterion.threshold]
    if isinstance(criterion, GapAtLeast):
        gap = values[criterion.key] - values[criterion.minus]
        passed = gap >= minimum
        return CheckResult(criterion.key + "_gap", criterion.label, passed,
                           f"{gap} psid above, needs at least {minimum}")
    value = values[criterion.key]
    passed = value >= minimum
    return CheckResult(criterion.key, criterion.label, passed,
                       f"{value} psid, needs at least {minimum}")


def table(assembly_type: str, overrides: Mapping[str, object] | None = None) -> dict:
    """One assembly type's criteria, thresholds (the district's where it sets its own) and labels, as JSON for
    the phone's live verdict."""
    kind = _type(assembly_type)
    thresholds = {**DEFAULT_THRESHOLDS, **validate_overrides(overrides or {})}
    return {"max_psid": str(MAX_PSID), "thresholds": {name: str(value) for name, value in thresholds.items()},
            "readings": [{"key": key, "label": LABELS[key], "psid": is_psid(key)} for key in required_readings(kind)],
            "criteria": [{"kind": type(c).__name__, **asdict(c)} for c in RULES[kind]],
            "yes": sorted(_YES), "no": sorted(_NO)}


def parse_psid(raw: object) -> Decimal:
    """A differential reading in psid: a plain decimal number from 0 to 100."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValueError("missing")
    text = str(raw).strip()
    if isinstance(raw, bool) or not _DECIMAL.fullmatch(text):
        raise ValueError("not a number")
    if text.startswith("-"):
        raise ValueError("cannot be negative")
    value = Decimal(text)
    if value > MAX_PSID:
        raise ValueError(f"over {MAX_PSID} psid: check the gauge reading")
    return value


def parse_yes_no(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower() if raw is not None else ""
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError("missing" if not text else "answer yes or no")


def validate_overrides(overrides: Mapping[str, object]) -> dict[str, Decimal]:
    """A district's own thresholds: known names only, each a number from 0 to 100 psid."""
    valid = {}
    for name, raw in overrides.items():
        if name not in DEFAULT_THRESHOLDS:
            raise ValueError(f"unknown threshold {name!r}")
        try:
            valid[name] = parse_psid(raw)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
    return valid


def _type(assembly_type: str) -> str:
    kind = (assembly_type or "").strip().upper()
    if kind not in RULES:
        raise ValueError(f"unknown assembly type {assembly_type!r}")
    return kind
