"""The office imports the list of assemblies a water district gives out; a test report of a device the district
does not know (by serial and address, however each side typed them) is held back with the reason, and goes once
the device or the list is corrected."""
import html
import io
import re

import pytest
import sqlalchemy as sa

from flowtrack.models.customers import CustomerLocation
from flowtrack.models.submissions import DistrictAssembly
from flowtrack.submissions import assemblies
from tests.customers.factories import Records
from tests.customers.test_customers import audit_entries
from tests.field_tests.factories import printed_test
from tests.submissions.factories import submission_of

RECOGNISED = b"""Assembly Serial,Service Address,Water Account #,Meter No.
RP-1001,"123 MAIN ST, Springfield, OR 97477-1234",WA-55,M-9
,9 Elm Street,WA-56,
XY-9,,,
"""


def words(response) -> str:
    """A page's text as a person reads it: no tags, its line breaks and indentation as single spaces."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def upload(browser, district, data: bytes, name: str = "list.csv"):
    return browser.submit(f"/submissions/districts/{district.id}/assemblies", {"file": (io.BytesIO(data), name)},
                          content_type="multipart/form-data")


def listed(app, district) -> list[DistrictAssembly]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(DistrictAssembly).where(DistrictAssembly.district_id == district.id)
                                    .order_by(DistrictAssembly.serial)))


def stored(app, model, record_id):
    with app.extensions["flowtrack.db"].service() as session:
        return session.get(model, record_id)


@pytest.fixture
def springfield(app, acme):
    """A district that takes reports in our district view, with a double check at 123 Main Street."""
    records = Records(app)
    district = records.district(acme, name="Springfield Utility Board", submission_method="district_view")
    place = records.location(acme, district_id=district.id, address_line1="123 Main Street")
    return district, records.device(acme, place, device_type="DC", serial="RP-1001")


def test_the_office_imports_a_list_whose_columns_are_recognised_and_sees_which_devices_are_on_it(
        app, office, acme, springfield):
    district, device = springfield
    other = Records(app).device(acme, Records(app).location(acme, district_id=district.id, address_line1="9 Oak Ave"),
                                device_type="DC", serial="ZZ-77")
    page = words(office.get(f"/submissions/districts/{district.id}"))
    assert "No list imported" in page

    response = upload(office, district, RECOGNISED)
    assert response.status_code == 303 and response.headers["Location"].endswith("#district-list")
    shown = office.get(response.headers["Location"])
    page = words(shown)
    assert ("Imported Springfield Utility Board's list: 1 assembly. 2 rows refused: row 3: no serial number; "
            "row 4: no address.") in page
    assert "1 assembly." in page and "1 of our 2 active devices in this district is on it" in page
    assert "Our devices not on the list (1)" in page
    assert "DC ZZ-77 at 9 OAK AVE: no assembly with this serial on the list" in page
    assert f"/devices/{other.id}" in shown.text and f"/devices/{device.id}\"" not in shown.text

    [row] = listed(app, district)
    assert (row.serial, row.serial_key, row.water_account_number, row.meter_number) == \
        ("RP-1001", "RP1001", "WA-55", "M-9")
    [entry] = audit_entries(app, acme, "district_list.imported")
    assert str(entry.entity_id) == str(district.id)
    assert entry.changes == {"file": "list.csv", "rows": 3, "taken": 1, "refused": 2, "refused_rows": [3, 4],
                             "replaced": 0, "columns": {"serial": "Assembly Serial", "address": "Service Address",
                                                       "water_account_number": "Water Account #",
                                                       "meter_number": "Meter No."}}

    # A new list replaces the old one, in one go.
    again = upload(office, district, b"serial,address\nRP 1001,123 Main St\nZZ77,9 Oak Avenue\n")
    assert "(it replaces the 1 before)" in words(office.get(again.headers["Location"]))
    assert [row.serial for row in listed(app, district)] == ["RP 1001", "ZZ77"]
    assert "2 of our 2 active devices in this district are on it" in words(office.get(again.headers["Location"]))


def test_the_office_names_the_columns_of_a_list_it_does_not_recognise(app, office, acme, springfield):
    district, _ = springfield
    data = b"BPA ID\tPremise\tAcct Nbr\tNotes\nRP.1001\t123 Main Street\t88-1\t\nQQ-1\t5 Pine Rd\t\t\n"  # tabs
    step = upload(office, district, data, "export.txt")
    assert step.status_code == 200
    page = words(step)
    assert "Which column holds what?" in page and "The column names of export.txt" in page
    assert "BPA ID — “RP.1001”" in page and "Premise — “123 Main Street”" in page
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', step.text).group(1)
    url = f"/submissions/districts/{district.id}/assemblies/columns"

    nothing = office.submit(url, {"token": token, "filename": "export.txt", "serial": "", "address": "1"})
    assert nothing.status_code == 422 and "Choose the column with the serials." in nothing.text
    twice = office.submit(url, {"token": token, "filename": "export.txt", "serial": "1", "address": "1"})
    assert twice.status_code == 422 and "This column is chosen for something else already." in twice.text
    wrong = office.submit(url, {"token": token, "filename": "export.txt", "serial": "0", "address": "3"})
    assert wrong.status_code == 422 and "No row has both a serial number and an address" in words(wrong)
    assert listed(app, district) == []

    done = office.submit(url, {"token": token, "filename": "export.txt", "serial": "0", "address": "1",
                               "water_account_number": "2"})
    assert done.status_code == 303
    assert "Imported Springfield Utility Board's list: 2 assemblies." in words(office.get(done.headers["Location"]))
    assert [(row.serial_key, row.address_key, row.water_account_number) for row in listed(app, district)] == \
        [("QQ1", "5 pine rd", None), ("RP1001", "123 main st", "88-1")]
    [entry] = audit_entries(app, acme, "district_list.imported")
    assert entry.changes["columns"] == {"serial": "BPA ID", "address": "Premise", "water_account_number": "Acct Nbr"}

    # The file is not kept once imported.
    gone = office.submit(url, {"token": token, "filename": "export.txt", "serial": "0", "address": "1"})
    assert gone.status_code == 303
    assert "upload it again" in words(office.get(gone.headers["Location"]))


def test_a_test_of_a_device_on_the_list_is_sent_and_takes_the_districts_account_number(
        app, factory, office, acme):
    records = Records(app)
    district = records.district(acme, name="Lane Water", submission_method="district_view",
                                required_fields=["water_account_number"])
    place = records.location(acme, district_id=district.id, address_line1="123 Main Street", address_line2="Suite 4")
    device = records.device(acme, place, device_type="DC", serial="rp 1001")  # kept as "RP 1001"
    upload(office, district, b"Serial Number,Location,Account\nRP-1001,123 MAIN ST,WA-55\n")

    record = printed_test(app, factory, acme, device)
    submission = submission_of(app, record.id)
    assert (submission.status, submission.held_reasons) == ("submitted", [])
    assert stored(app, CustomerLocation, place.id).water_account_number == "WA-55"
    [entry] = audit_entries(app, acme, "location.updated")
    assert entry.changes == {"water_account_number": {"before": None, "after": "WA-55"},
                             "source": "Lane Water's list of assemblies"}


def test_a_test_of_a_device_not_on_the_list_is_held_back_and_sent_once_the_device_is_corrected(
        app, factory, office, acme, springfield):
    district, device = springfield
    upload(office, district, b"serial,service address\nRP1001,123 Main St\nRP-2002,11 Oak Ave\n")
    records = Records(app)
    place = stored(app, CustomerLocation, device.location_id)
    misspelt = records.device(acme, place, device_type="DC", serial="RP-1010")
    moved = records.device(acme, records.location(acme, district_id=district.id, address_line1="9 Oak Avenue"),
                           device_type="DC", serial="RP 2002")

    held = submission_of(app, printed_test(app, factory, acme, misspelt).id)
    assert held.status == "held"
    assert held.held_reasons == [
        "DC RP-1010 at 123 MAIN ST is not on Springfield Utility Board's list of assemblies: the list has no "
        "assembly with serial RP-1010, and at 123 MAIN ST it has serial RP1001. Correct the device's serial if it "
        "was typed wrong; if it is right, ask the district to correct its list, then import it again."]
    elsewhere = submission_of(app, printed_test(app, factory, acme, moved).id)
    assert elsewhere.held_reasons == [
        "DC RP 2002 at 9 OAK AVE is not on Springfield Utility Board's list of assemblies: the list has serial "
        "RP-2002 at 11 Oak Ave. If the district's address is right, correct the location; if ours is, ask the "
        "district to correct its list, then import it again."]
    page = words(office.get(f"/submissions/districts/{district.id}"))
    assert held.held_reasons[0] in page and "DC RP 2002 at 9 OAK AVE: the list has this serial at 11 Oak Ave" in page

    # The office finds the serial was typed wrong: the first device was retired and this one is RP-1001 after all.
    assert office.submit(f"/devices/{device.id}/edit", {"device_type": "DC", "manufacturer": "Watts",
                                                        "serial": "RP-1001-OLD", "status": "removed"}
                         ).status_code == 303
    assert office.submit(f"/devices/{misspelt.id}/edit", {"device_type": "DC", "manufacturer": "Watts",
                                                          "serial": "RP-1001", "status": "active"}
                         ).status_code == 303
    checked = office.submit(f"/submissions/{held.id}/check")
    assert checked.status_code == 303
    assert "It passes the checks now: sent." in words(office.get(checked.headers["Location"]))
    assert submission_of(app, held.test_record_id).status == "submitted"

    # The other is still not on the list: checked again, it stays held back with the reason.
    still = office.submit(f"/submissions/{elsewhere.id}/check")
    assert "Still held back: DC RP 2002 at 9 OAK AVE is not on" in words(office.get(still.headers["Location"]))


def test_without_a_list_nothing_is_held_back_for_it(app, factory, acme, springfield):
    _, device = springfield
    assert submission_of(app, printed_test(app, factory, acme, device).id).status == "submitted"


BIG = b"serial,address\n" + b"RP-1,1 Main St\n" * (assemblies.MAX_BYTES // 15 + 1)


@pytest.mark.parametrize("name, data, message", [
    ("list.xlsx", b"PK\x03\x04", "Upload a .csv file: in your spreadsheet, Save As or Download as CSV."),
    ("list.csv", b"PK\x03\x04\x00\x00\x08\x00", "This is not a CSV file. Save the spreadsheet as CSV and upload that."),
    ("", b"", "Choose the CSV file the district gave you."),  # nothing chosen
    ("list.csv", b"", "The file is empty. Its first line must name the columns."),
    ("list.csv", b"\n\n", "The file is empty. Its first line must name the columns."),
    ("list.csv", b"serial,address\n", "The file names its columns but has no rows."),
    ("list.csv", b"serial,address\n\x81\x8d,1 Main St\n", "The file's text encoding is unknown."),
    ("list.csv", b"serial,address\nRP-1," + b"x" * 200_000 + b"\n", "Line 2 cannot be read as CSV: field larger than"),
    ("list.csv", BIG, "The file is larger than 20 MB."),
    ("list.csv", b"serial,address\n,1 Main St\nRP-2,\n", "No row has both a serial number and an address, so nothing "
                                                       "was imported (row 2: no serial number; row 3: no address)."),
])
def test_a_file_that_cannot_be_imported_is_refused_saying_why(app, office, springfield, name, data, message):
    district, _ = springfield
    response = upload(office, district, data, name)
    assert response.status_code == 422
    assert message in words(response)
    assert listed(app, district) == []


def test_an_upload_too_large_for_any_form_is_refused_plainly(office, springfield):
    district, _ = springfield
    response = upload(office, district, b"x" * (26 * 1024 * 1024))
    assert response.status_code == 413 and "Uploads can be at most 25 MB." in response.text


def test_people_without_districts_to_manage_cannot_import_a_list(app, login, acme, springfield):
    district, _ = springfield
    for role in ("technician", "scheduler", "auditor"):
        browser = login(acme, role)
        assert upload(browser, district, RECOGNISED).status_code == 403
        assert browser.submit(f"/submissions/districts/{district.id}/assemblies/columns",
                              {"token": "x" * 32, "serial": "0", "address": "1"}).status_code == 403
    assert listed(app, district) == []


def test_another_companys_district_is_not_found(app, office, bravo):
    theirs = Records(app).district(bravo)
    assert upload(office, theirs, RECOGNISED).status_code == 404
    assert office.submit(f"/submissions/districts/{theirs.id}/assemblies/columns",
                         {"token": "x" * 32, "serial": "0", "address": "1"}).status_code == 404


# --- the keys (pure) ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["RP-1001", "rp 1001", "RP.1001", " Rp - 10.01 ", "RP1001"])
def test_serials_compare_without_case_spaces_dashes_or_dots(typed):
    assert assemblies.serial_key(typed) == "RP1001"


def place(line1="123 Main Street", line2=None, city="Springfield", state="OR", postal_code="97477"):
    from flowtrack.customers.addresses import address_key
    return assemblies._Place.of(address_key(line1, line2, city, state, postal_code), line1, city)


@pytest.mark.parametrize("written", [
    "123 MAIN ST", "123 Main Street", "123 main st.", "123 Main St, Springfield", "123 Main St, Springfield, OR",
    "123 Main Street, Springfield, Oregon 97477-1234", "123 MAIN ST SPRINGFIELD OR 97477",
])
def test_a_districts_address_is_ours_however_it_is_spelled(written):
    assert place().holds(assemblies.address_key(written))


@pytest.mark.parametrize("written", ["125 Main St", "123 Main St N", "123 Main St, Eugene", "123 Main St Apt 4",
                                     "123 Main", "23 Main St", ""])
def test_another_place_is_not_ours(written):
    assert not place().holds(assemblies.address_key(written))


def test_a_district_that_leaves_out_our_suite_still_means_our_place():
    ours = place(line2="Suite 4")
    assert ours.holds(assemblies.address_key("123 Main St")) and ours.holds(assemblies.address_key("123 Main St Ste 4"))
    assert not ours.holds(assemblies.address_key("123 Main St Ste 5"))
    assert ours.shown == "123 MAIN ST STE 4"


@pytest.mark.parametrize("header, columns", [
    (["Serial", "Address"], {"serial": 0, "address": 1}),
    (["SERIAL_NO.", "Service Address", "Water Acct #", "Meter"],
     {"serial": 0, "address": 1, "water_account_number": 2, "meter_number": 3}),
    (["Location", "Assembly Serial Number", "Account"], {"serial": 1, "address": 0, "water_account_number": 2}),
    (["Location", "Service Address", "Serial"], {"serial": 2, "address": 1}),  # the plainer name wins
    (["BPA ID", "Premise"], {}),
])
def test_the_columns_districts_name_are_recognised(header, columns):
    assert assemblies.recognised(header) == columns
