"""The office moves its spreadsheet in from a phone-sized or desktop browser: upload, read the preview, import
(the worker imports; the page follows its progress)."""
from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.e2e.conftest import PHONE
from tests.e2e.test_office_records import OVERFLOW

SHEET = ("customer_name,address_line1,city,state,postal_code,device_type,manufacturer,serial,install_date\n"
         "Harbor Foods,12 Harbor Street,Springfield,OR,97477,RP,Watts,HF-1,5/1/2019\n"
         "Harbor Foods,12 Harbor Street,Springfield,OR,97477,DC,Febco,HF-2,2019-05-01\n"
         "Lane Dairy,400 Mill Road,Eugene,OR,97401,XYZ,Wilkins,LD-9,2020-01-15\n")


def test_the_office_fixes_a_bad_row_and_imports_the_file(visit, acme, tmp_path, run_worker):
    bad, good = tmp_path / "customers.csv", tmp_path / "customers-fixed.csv"
    bad.write_text(SHEET)
    good.write_text(SHEET.replace(",XYZ,", ",PVB,"))
    tab = visit(PHONE)
    tab.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    page = tab.go("/customers/")
    page.click("text=Import from CSV")
    page.set_input_files("#file", str(bad))
    page.click("text=Upload and check")
    page.wait_for_selector("text=Rows with problems")
    assert "device_type: “XYZ” is not one of RP, RPDA, DC, DCDA, PVB, SVB, AVB." in page.inner_text("main")
    assert page.locator("text=Import 3 rows").count() == 0
    assert tab.axe_violations() == []
    assert page.evaluate(OVERFLOW) == []
    tab.screenshot("import-problems")

    page.click("text=upload the file again")
    page.set_input_files("#file", str(good))
    page.click("text=Upload and check")
    page.click("text=Import 3 rows")
    # The import waits for the worker, the page showing so, then follows it by itself.
    page.wait_for_selector("text=Waiting for a worker…")
    # The keyboard's place moves to the answer, not back to the top of the page.
    page.wait_for_function("() => document.activeElement.closest('#import-status') !== null")
    assert page.evaluate("() => document.activeElement.tagName") == "H2"
    assert page.get_by_role("progressbar", name="Import progress").is_visible()
    assert page.get_by_role("status").inner_text() == "Waiting for a worker…"
    assert tab.axe_violations() == []
    assert page.evaluate(OVERFLOW) == []
    tab.screenshot("importing")
    run_worker()
    page.wait_for_selector("text=Imported 2 customers, 2 service locations and 3 devices.")
    assert tab.axe_violations() == []
    tab.screenshot("imported")
    page.click("text=Go to customers")
    assert "Lane Dairy" in page.inner_text("main")
    tab.assert_clean()
