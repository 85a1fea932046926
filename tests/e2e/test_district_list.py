"""The office imports a water district's list of assemblies at its desk, naming the columns the district named its
own way, sees which of its devices the district does not know, and finds a report of one held back saying why."""
from tests.customers.factories import Records
from tests.e2e.conftest import DESKTOP
from tests.e2e.test_office_records import OVERFLOW
from tests.field_tests.factories import printed_test

DISTRICTS_FILE = ("BPA ID,Premise,Acct Nbr,Notes\n"
                  "RP.1001,\"123 MAIN ST, SPRINGFIELD OR\",88-1001,\n"
                  "QQ-1,5 Pine Rd,88-1002,vacant\n"
                  ",7 Elm St,88-1003,no assembly\n")


def test_the_office_imports_the_districts_list_and_a_report_it_does_not_match_is_held(
        app, factory, visit, acme, tmp_path):
    records = Records(app)
    district = records.district(acme, name="Springfield Utility Board", submission_method="district_view")
    records.device(acme, records.location(acme, district_id=district.id, address_line1="123 Main Street"),
                   device_type="DC", serial="RP-1001")
    stray = records.device(acme, records.location(acme, district_id=district.id, address_line1="9 Oak Avenue"),
                           device_type="DC", serial="ZZ-77")
    sheet = tmp_path / "sub-backflow-export.csv"
    sheet.write_text(DISTRICTS_FILE)

    tab = visit(DESKTOP)
    tab.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    page = tab.go("/submissions/")
    page.click("text=Springfield Utility Board")
    assert "No list imported" in page.inner_text("#district-list")
    page.set_input_files("#file", str(sheet))
    page.click("text=Upload and import")

    page.wait_for_selector("h1:has-text('Which column holds what?')")
    assert "BPA ID" in page.inner_text("table") and "RP.1001" in page.inner_text("table")
    page.get_by_label("Serial number").select_option(label="BPA ID — “RP.1001”")
    page.get_by_label("Address").select_option(label="Premise — “123 MAIN ST, SPRINGFIELD OR”")
    page.get_by_label("Water account number").select_option(label="Acct Nbr — “88-1001”")
    assert tab.axe_violations() == []
    assert page.evaluate(OVERFLOW) == []
    tab.screenshot("columns")
    page.click("text=Import the list")

    page.wait_for_selector("text=Imported Springfield Utility Board's list: 2 assemblies.")
    assert "1 row refused: row 4: no serial number." in page.inner_text("#flash")
    listed = page.inner_text("#district-list")
    assert "1 of our 2 active devices in this district is on it" in listed
    assert "DC ZZ-77 at 9 OAK AVE: no assembly with this serial on the list" in listed
    assert tab.axe_violations() == []
    tab.screenshot("imported")

    printed_test(app, factory, acme, stray)
    page.reload()
    held = page.inner_text(".stop")
    assert "Held back" in held
    assert ("DC ZZ-77 at 9 OAK AVE is not on Springfield Utility Board's list of assemblies: the list has no "
            "assembly with serial ZZ-77.") in held
    assert page.evaluate(OVERFLOW) == []
    tab.screenshot("held")
    tab.assert_clean()
