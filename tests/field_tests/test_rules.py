"""The pass/fail rules, table by table, with the boundary values districts care about."""
import pytest

from flowtrack.field_tests import rules
from flowtrack.field_tests.rules import evaluate, required_readings, validate_overrides

GOOD_RP = {"check1_psid": "6.2", "relief_opened_psid": "2.8", "check2_psid": "1.8",
           "check2_closed_tight": "yes", "shutoff2_held": "yes"}


def rp(**changes):
    return {**GOOD_RP, **changes}


@pytest.mark.parametrize("kind", ["RP", "RPDA"])
@pytest.mark.parametrize("readings, result, failing", [
    (GOOD_RP, "pass", set()),
    (rp(check1_psid="5.0", relief_opened_psid="2.0"), "pass", set()),            # both exactly at the line, gap 3.0
    (rp(check1_psid="4.9", relief_opened_psid="1.9"), "fail", {"check1_psid", "relief_opened_psid"}),
    (rp(check1_psid="5.0", relief_opened_psid="2.1"), "fail", {"check1_psid_gap"}),   # gap 2.9
    (rp(check1_psid="5.1", relief_opened_psid="2.1"), "pass", set()),            # gap 3.0 (no float rounding)
    (rp(check1_psid="7.0", relief_opened_psid="1.9"), "fail", {"relief_opened_psid"}),
    (rp(check2_psid="1.0"), "pass", set()),
    (rp(check2_psid="0.9"), "fail", {"check2_psid"}),
    (rp(check2_closed_tight="no"), "fail", {"check2_closed_tight"}),
    (rp(shutoff2_held="leaked"), "fail", {"shutoff2_held"}),
])
def test_reduced_pressure_assemblies(kind, readings, result, failing):
    evaluation = evaluate(kind, readings)
    assert evaluation.result == result
    assert {c.key for c in evaluation.checks if not c.passed} == failing


@pytest.mark.parametrize("kind", ["DC", "DCDA"])
@pytest.mark.parametrize("check1, check2, result", [
    ("1.0", "1.0", "pass"), ("0.9", "1.0", "fail"), ("1.0", "0.9", "fail"), ("14.2", 3, "pass"),
])
def test_double_check_assemblies(kind, check1, check2, result):
    assert evaluate(kind, {"check1_psid": check1, "check2_psid": check2}).result == result


@pytest.mark.parametrize("readings, result", [
    ({"air_inlet_opened_psid": "1.0", "air_inlet_fully_open": "yes", "check_psid": "1.0"}, "pass"),
    ({"air_inlet_opened_psid": "0.9", "air_inlet_fully_open": "yes", "check_psid": "1.0"}, "fail"),
    ({"air_inlet_opened_psid": "1.0", "air_inlet_fully_open": "no", "check_psid": "1.0"}, "fail"),
    ({"air_inlet_opened_psid": "1.0", "air_inlet_fully_open": "yes", "check_psid": "0.9"}, "fail"),
])
def test_pressure_vacuum_breakers(readings, result):
    assert evaluate("PVB", readings).result == result


@pytest.mark.parametrize("readings, result", [
    ({"check_psid": "1.0", "air_inlet_opened_psid": "1.0", "air_inlet_fully_open": True}, "pass"),
    ({"check_psid": "0.9", "air_inlet_opened_psid": "1.0", "air_inlet_fully_open": True}, "fail"),
    ({"check_psid": "1.0", "air_inlet_opened_psid": "0.9", "air_inlet_fully_open": True}, "fail"),
    ({"check_psid": "1.0", "air_inlet_opened_psid": "1.0", "air_inlet_fully_open": False}, "fail"),
])
def test_spill_resistant_vacuum_breakers(readings, result):
    assert evaluate("SVB", readings).result == result


@pytest.mark.parametrize("opens, seals, result", [
    ("yes", "yes", "pass"), ("no", "yes", "fail"), ("yes", "no", "fail"),
])
def test_atmospheric_vacuum_breakers(opens, seals, result):
    assert evaluate("AVB", {"air_inlet_opens": opens, "air_inlet_seals": seals}).result == result


@pytest.mark.parametrize("bad, message", [
    (None, "missing"), ("", "missing"), ("   ", "missing"), ("abc", "not a number"), ("NaN", "not a number"),
    ("inf", "not a number"), ("-0.5", "cannot be negative"), ("-0", "cannot be negative"), ("100.1", "over 100"),
    (True, "not a number"), ("1e1", "not a number"), ("+5", "not a number"), ("5 psi", "not a number"),
])
def test_missing_or_malformed_readings_are_errors_never_a_pass(bad, message):
    evaluation = evaluate("DC", {"check1_psid": bad, "check2_psid": "2.0"})
    assert evaluation.result == "incomplete" and not evaluation.passed
    assert message in evaluation.errors["check1_psid"]


def test_an_unanswered_yes_no_is_an_error():
    evaluation = evaluate("RP", rp(shutoff2_held="maybe"))
    assert evaluation.result == "incomplete" and "yes or no" in evaluation.errors["shutoff2_held"]


def test_each_type_asks_for_exactly_its_readings():
    assert required_readings("rp") == ["check1_psid", "relief_opened_psid", "check2_psid",
                                       "check2_closed_tight", "shutoff2_held"]
    assert required_readings("DCDA") == ["check1_psid", "check2_psid"]
    assert required_readings("AVB") == ["air_inlet_opens", "air_inlet_seals"]
    with pytest.raises(ValueError):
        required_readings("XYZ")


def test_a_district_may_set_stricter_thresholds():
    strict = {"rp_check1_min_psid": "6.0"}
    assert evaluate("RP", rp(check1_psid="5.5"), strict).result == "fail"
    assert evaluate("RP", rp(check1_psid="6.0"), strict).result == "pass"


@pytest.mark.parametrize("overrides", [{"made_up": "1"}, {"check_min_psid": "-1"}, {"check_min_psid": "x"},
                                       {"check_min_psid": "101"}])
def test_district_thresholds_are_validated(overrides):
    with pytest.raises(ValueError):
        validate_overrides(overrides)


def test_every_check_says_why():
    evaluation = evaluate("RP", rp(check1_psid="4.2"))
    failed = [c for c in evaluation.checks if not c.passed]
    assert failed[0].reason == "4.2 psid, needs at least 5.0"


def test_the_phone_gets_the_rules_as_data_with_the_districts_own_thresholds():
    """What field.js judges by (tests/e2e/test_field_test.py checks it judges exactly as evaluate does)."""
    table = rules.table("rp", {"rp_check1_min_psid": "5.5"})
    assert table["thresholds"]["rp_check1_min_psid"] == "5.5" and table["thresholds"]["check_min_psid"] == "1.0"
    assert [r["key"] for r in table["readings"]] == rules.required_readings("RP")
    assert table["readings"][0] == {"key": "check1_psid", "label": "Check valve 1 (psid)", "psid": True}
    assert {"kind": "GapAtLeast", "key": "check1_psid", "minus": "relief_opened_psid",
            "label": "Check valve 1 above relief opening", "threshold": "rp_check1_over_relief_psid"} \
        in table["criteria"]
    with pytest.raises(ValueError):
        rules.table("RP", {"made_up": "1"})
