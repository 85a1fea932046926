"""One key per place: spellings of the same service address normalise alike."""
import pytest

from flowtrack.customers.addresses import address_key, normalise_street

SAME = [
    ("123 Main Street", "123 main st"),
    ("123  Main   St.", "123 MAIN ST"),
    ("42 North Oak Avenue", "42 N Oak Ave"),
    ("9 South-West Blvd", "9 south-west boulevard"),
    ("500 Industrial Parkway, Suite 200", "500 industrial pkwy ste 200"),
    ("7 Elm Ct Apt # 4", "7 elm court apartment 4"),
    ("1 Highway 99 East", "1 hwy 99 e"),
]


@pytest.mark.parametrize("one, other", SAME)
def test_spellings_of_one_street_line_match(one, other):
    assert normalise_street(one) == normalise_street(other)


def test_the_whole_address_matches_across_case_spacing_state_names_and_zip4():
    assert address_key("123 Main Street", None, "San  Jose", "California", "95112-1234") == \
        address_key("123 main st", "", "san jose", "CA", "95112")


def test_the_unit_may_be_on_either_line():
    assert address_key("10 Pine Rd", "Unit 3", "Reno", "NV", "89501") == \
        address_key("10 Pine Road Unit 3", None, "Reno", "NV", "89501")


@pytest.mark.parametrize("one, other", [
    (("123 Main St", None, "Reno", "NV", "89501"), ("124 Main St", None, "Reno", "NV", "89501")),
    (("123 Main St", None, "Reno", "NV", "89501"), ("123 Main Ave", None, "Reno", "NV", "89501")),
    (("123 Main St", None, "Reno", "NV", "89501"), ("123 N Main St", None, "Reno", "NV", "89501")),
    (("123 Main St", "Ste 1", "Reno", "NV", "89501"), ("123 Main St", "Ste 2", "Reno", "NV", "89501")),
    (("123 Main St", None, "Reno", "NV", "89501"), ("123 Main St", None, "Sparks", "NV", "89501")),
])
def test_different_places_stay_different(one, other):
    assert address_key(*one) != address_key(*other)
