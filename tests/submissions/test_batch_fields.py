"""The fields a district's batch file and copy sheet are made of, and the column editor's buttons: pure functions,
told as a table of cases."""
import datetime as dt
import zoneinfo

import pytest

from flowtrack.models.customers import CustomerLocation, Device, District
from flowtrack.models.field_tests import TestRecord
from flowtrack.submissions import batch_fields
from flowtrack.submissions.batch_fields import FIELDS, PRESETS, Column, CompanyFacts, Filing, MappingError

ZONE = zoneinfo.ZoneInfo("America/Chicago")


def _filing(**record) -> Filing:
    facts = {"tester": "Theo Tech", "certification_number": "BPAT-0042", "certification_expires_on": "2027-06-30",
             "gauge": {"make": "Midwest", "model": "845", "serial": "K-100", "last_calibrated_on": "2026-03-04",
                       "calibration_due_on": "2027-03-04"},
             "device": {"type": "RP", "serial": "RP-1", "manufacturer": "Watts", "model": "909", "size": "2",
                        "where_installed": "Basement"},
             "customer": "Harbor View", "location": "1 Main St, Austin, TX 78701"}
    values = {"tested_at": dt.datetime(2026, 12, 7, 20, 30, tzinfo=dt.timezone.utc), "test_type": "annual",
              "result": "pass", "initial_result": "fail", "line_pressure_psi": 72, "shutoff1_tight": True,
              "readings": {"check1_psid": "6.2", "relief_opened_psid": "2.8", "check2_closed_tight": "yes"},
              "retest_readings": None, "repairs": ["replaced disc", "cleaned seat"], "notes": None, "facts": facts,
              **record}
    location = CustomerLocation(address_line1="1 Main St", address_line2="Unit 4", city="Austin", state="TX",
                                postal_code="78701", water_account_number="ACCT-9")
    return Filing(TestRecord(**values), Device(hazard="health", cross_connection="fire_line", meter_number=None),
                  location, District(name="Austin Water", contact_name=None), CompanyFacts("Acme Backflow"), ZONE)


@pytest.mark.parametrize("field, expected", [
    ("test_date", "2026-12-07"), ("test_date_us", "12/07/2026"), ("test_time", "2:30 PM"),
    ("test_type", "Annual test"), ("test_reason", "Existing"), ("result", "Pass"), ("initial_result", "Fail"),
    ("shutoff1_tight", "Yes"), ("repairs", "Replaced disc; Cleaned seat"), ("remarks", ""),
    ("kit_make_model", "Midwest 845"), ("kit_calibrated_on_us", "03/04/2026"),
    ("device_type_name", "Reduced pressure (RP)"), ("hazard", "Health hazard (high)"),
    ("cross_connection", "Fire line"), ("meter_number", ""), ("address", "1 Main St, Unit 4, Austin, TX 78701"),
    ("street", "1 Main St, Unit 4"), ("water_account_number", "ACCT-9"), ("reading_check1_psid", "6.2"),
    ("reading_check2_closed_tight", "Yes"), ("reading_check2_psid", ""), ("retest_check1_psid", ""),
    ("district_contact", ""), ("company_name", "Acme Backflow"), ("blank", ""),
])
def test_each_field_reads_what_a_district_form_asks(field, expected):
    assert batch_fields.value_of(_filing(), field) == expected


def test_every_field_reads_a_test_with_nothing_optional_without_failing():
    bare = _filing(facts={"device": {"type": "AVB", "serial": "A-1"}}, readings={}, repairs=[], initial_result=None,
                   line_pressure_psi=None, shutoff1_tight=None, test_type="installation")
    assert batch_fields.value_of(bare, "test_reason") == "New"
    assert all(isinstance(batch_fields.value_of(bare, key), str) for key in FIELDS)


def test_the_presets_name_only_known_fields_with_unique_headings():
    for preset in PRESETS.values():
        assert batch_fields.checked([tuple(column) for column in preset.columns]) == preset.columns


@pytest.mark.parametrize("rows, general, row_messages", [
    ([], "Add at least one column.", {}),
    ([("A", "zip")] * 101, "A file has at most 100 columns.", {}),
    ([("A", "zip"), (" a ", "city")], None, {1: "Column 1 has this heading already."}),
    ([("", "zip"), ("B", "nope"), ("x" * 101, "zip")], None,
     {0: "Give the column's heading, as the district's file has it.", 1: "Choose what goes in this column.",
      2: "A heading has at most 100 characters."}),
])
def test_a_mapping_that_cannot_be_saved_says_why(rows, general, row_messages):
    with pytest.raises(MappingError) as refused:
        batch_fields.checked(rows)
    assert (refused.value.general, refused.value.rows) == (general, row_messages)


def test_headings_are_kept_trimmed():
    assert batch_fields.checked([(" Serial ", "serial")]) == [Column("Serial", "serial")]


ROWS = [("A", "zip"), ("B", "city"), ("C", "state")]


@pytest.mark.parametrize("action, headings, focus", [
    ("up-1", "BAC", "down-0"), ("up-2", "ACB", "up-1"), ("down-0", "BAC", "down-1"), ("down-1", "ACB", "up-2"),
    ("remove-2", "AB", "remove-1"), ("remove-0", "BC", "remove-0"), ("add", "ABC", "header-3"),
    ("up-0", "ABC", None), ("down-2", "ABC", None), ("remove-7", "ABC", None), ("sideways-1", "ABC", None),
    ("up-x", "ABC", None),
])
def test_the_editors_buttons_move_the_rows_and_keep_the_keyboards_place(action, headings, focus):
    edit = batch_fields.edited(ROWS, action, None)
    assert ("".join(header for header, _ in edit.rows), edit.focus, edit.refused) == (headings, focus, None)


def test_a_preset_replaces_the_rows_and_an_unknown_one_is_refused():
    assert batch_fields.edited(ROWS, "preset", "tceq_20700").rows[0] == ("Name of PWS", "district_name")
    assert batch_fields.edited(ROWS, "preset", "utopia").refused.general == "Choose a preset."
    assert batch_fields.edited([("A", "zip")] * 100, "add", None).refused is not None
