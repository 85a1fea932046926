"""A district admin reads the tests of their own water district: listed, filtered, paged, as CSV and as reports."""
import csv
import datetime as dt
import io
import re

import sqlalchemy as sa
from pypdf import PdfReader

from flowtrack.models.audit import AuditEntry
from tests.district_portal.factories import DC_FAILING


def _audit(app, tenant, action):
    with app.extensions["flowtrack.db"].service() as s:
        return s.scalars(sa.select(AuditEntry).where(AuditEntry.company_id == tenant.id, AuditEntry.action == action)
                         .order_by(AuditEntry.seq)).all()


def _serials(html: str) -> list[str]:
    return re.findall(r"<strong>([A-Z0-9-]+)</strong>", html)


def _results(html: str) -> list[str]:
    return re.findall(r'<span class="badge[^"]*">([^<]+)</span>', html)


def test_a_district_admin_signs_in_and_lands_on_the_tests_of_their_district(app, client, districts, acme, eweb,
                                                                            records):
    customer = records.customer(acme, name="Harbor View Apartments")
    device = districts.device(eweb, customer=customer, address_line1="123 Main Street", manufacturer="Watts",
                              model="LF007", serial="DC-1001")
    districts.tested(acme, device)
    elsewhere = districts.device(districts.area(acme), serial="DC-OTHER")
    districts.tested(acme, elsewhere)
    nowhere = districts.device(acme, serial="DC-NONE")
    districts.tested(acme, nowhere)

    signed_in = client.submit("/login", {"email": eweb.admin.email, "password": eweb.admin.password})
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/district/"
    page = client.get("/district/")
    assert page.status_code == 200
    assert "Eugene Water: tests" in page.text
    assert _serials(page.text) == ["DC-1001"]
    row = page.text
    assert "Watts LF007" in row and ">DC <strong>" in row.replace("\n", "")
    assert "123 MAIN ST, SPRINGFIELD, OR 97477" in row  # the address as districts match it
    assert "Harbor View Apartments" in row and _results(row) == ["Passed"] and "Technician Person" in row


def test_an_amended_test_shows_as_corrected_and_its_original_is_gone(district_admin_of, districts, acme, eweb):
    device = districts.device(eweb, serial="DC-2001")
    original = districts.tested(acme, device)
    districts.amended(acme, original, DC_FAILING)
    page = district_admin_of(eweb).get("/district/")
    assert _serials(page.text) == ["DC-2001"]
    assert _results(page.text) == ["Failed"]
    assert district_admin_of(eweb).get(f"/district/tests/{original.id}/report.pdf").status_code == 404


def test_each_filter_narrows_the_list(district_admin_of, districts, acme, eweb):
    passed_dc = districts.device(eweb, serial="DC-3001", address_line1="10 Oak Street")
    failed_dc = districts.device(eweb, serial="DC-3002", address_line1="22 Elm Avenue")
    old_dcda = districts.device(eweb, serial="DCDA-3003", device_type="DCDA", address_line1="5 Pine Road")
    districts.tested(acme, passed_dc, days_ago=1)
    districts.tested(acme, failed_dc, days_ago=2, readings=DC_FAILING)
    districts.tested(acme, old_dcda, days_ago=40)
    browser = district_admin_of(eweb)
    assert _serials(browser.get("/district/").text) == ["DC-3001", "DC-3002", "DCDA-3003"]
    assert _serials(browser.get("/district/?result=fail").text) == ["DC-3002"]
    assert _serials(browser.get("/district/?result=pass").text) == ["DC-3001", "DCDA-3003"]
    assert _serials(browser.get("/district/?device_type=DCDA").text) == ["DCDA-3003"]
    assert _serials(browser.get("/district/?q=dc-300").text) == ["DC-3001", "DC-3002"]
    assert _serials(browser.get("/district/?q=22 Elm Ave").text) == ["DC-3002"]
    assert _serials(browser.get("/district/?q=pine rd").text) == ["DCDA-3003"]
    today = dt.date.today()
    recent = (today - dt.timedelta(days=10)).isoformat()
    assert _serials(browser.get(f"/district/?tested_from={recent}").text) == ["DC-3001", "DC-3002"]
    assert _serials(browser.get(f"/district/?tested_to={recent}").text) == ["DCDA-3003"]
    assert browser.get(f"/district/?tested_from={today}&tested_to={recent}").status_code == 422


def test_filters_answer_with_only_the_rows_when_htmx_asks(district_admin_of, districts, acme, eweb):
    districts.tested(acme, districts.device(eweb, serial="DC-4001"))
    browser = district_admin_of(eweb)
    fragment = browser.htmx("get", "/district/?q=DC-4")
    assert fragment.status_code == 200 and "<html" not in fragment.text and _serials(fragment.text) == ["DC-4001"]
    assert "HX-Request" in fragment.headers.get("Vary", "")
    assert "<html" in browser.get("/district/?q=DC-4").text


def test_many_tests_come_a_page_at_a_time_after_the_last_row_shown(district_admin_of, districts, acme, eweb,
                                                                   count_queries):
    device = districts.device(eweb, serial="DC-5001")
    districts.copies(districts.tested(acme, device), 54)
    browser = district_admin_of(eweb)
    with count_queries() as statements:
        first = browser.get("/district/")
    assert not any(re.search(r"\bOFFSET\b", sql, re.IGNORECASE) for sql in statements)
    assert first.text.count("<strong>DC-5001</strong>") == 50
    more = re.search(r'href="(/district/\?after=[^"]+)"', first.text).group(1).replace("&amp;", "&")
    rest = browser.htmx("get", more)
    assert rest.text.count("<strong>DC-5001</strong>") == 5 and "More tests" not in rest.text
    dates = re.findall(r'<time datetime="([^"]+)"', first.text) + re.findall(r'<time datetime="([^"]+)"', rest.text)
    assert len(set(dates)) == 55 and dates == sorted(dates, reverse=True)


def test_the_csv_holds_the_filtered_tests_with_spreadsheet_formulas_defused(app, district_admin_of, districts,
                                                                            records, acme, eweb):
    sneaky = records.customer(acme, name='=HYPERLINK("http://evil.example","click")')
    districts.tested(acme, districts.device(eweb, customer=sneaky, serial="DC-6001", address_line1="9 Main St"))
    districts.tested(acme, districts.device(eweb, serial="DC-6002"), readings=DC_FAILING)
    districts.tested(acme, districts.device(districts.area(acme), serial="DC-6003"))
    response = district_admin_of(eweb).get("/district/tests.csv?result=pass")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["serial"] for row in rows] == ["DC-6001"]
    row = rows[0]
    assert row["result"] == "Passed" and row["assembly_type"] == "DC" and row["tester"] == "Technician Person"
    assert row["address"] == "9 MAIN ST, SPRINGFIELD, OR 97477" and row["test_type"] == "Annual test"
    assert row["customer"].startswith("'=HYPERLINK")  # shown as text, never run
    [entry] = _audit(app, acme, "district.tests_exported")
    assert entry.entity_id == str(eweb.district.id) and entry.changes == {"filters": {"result": "pass"}}


def test_a_printed_report_downloads_as_pdf_and_the_download_is_audited(app, district_admin_of, districts, acme,
                                                                       eweb):
    device = districts.device(eweb, serial="DC-7001")
    record = districts.tested(acme, device, printed=True)
    waiting = districts.tested(acme, districts.device(eweb, serial="DC-7002"))
    browser = district_admin_of(eweb)
    assert f"/district/tests/{record.id}/report.pdf" in browser.get("/district/").text
    response = browser.get(f"/district/tests/{record.id}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "DC-7001" in text
    [entry] = _audit(app, acme, "test_report.downloaded")
    assert entry.entity_id == str(record.id) and entry.changes == {"by": "district"}
    assert browser.get(f"/district/tests/{waiting.id}/report.pdf").status_code == 404  # not printed yet


def test_another_districts_or_companys_test_is_not_found(district_admin_of, districts, acme, bravo, eweb):
    neighbour = districts.tested(acme, districts.device(districts.area(acme), serial="DC-8001"), printed=True)
    nowhere = districts.tested(acme, districts.device(acme, serial="DC-8002"), printed=True)
    foreign = districts.tested(bravo, districts.device(districts.area(bravo), serial="DC-8003"), printed=True)
    browser = district_admin_of(eweb)
    for record in (neighbour, nowhere, foreign):
        assert browser.get(f"/district/tests/{record.id}/report.pdf").status_code == 404
    assert _serials(browser.get("/district/").text) == []


def test_a_district_admin_without_a_district_sees_nothing(login, districts, acme):
    """Even tests at addresses in no district: "no district" is not a district."""
    districts.tested(acme, districts.device(acme, serial="DC-9001"))
    browser = login(acme, "district_admin")  # made without a district, as before districts were asked for
    page = browser.get("/district/")
    assert page.status_code == 200 and "not linked to a water district" in page.text
    assert "DC-9001" not in page.text
    assert browser.get("/district/devices").status_code == 200
    assert "DC-9001" not in browser.get("/district/devices").text
    assert list(csv.reader(io.StringIO(browser.get("/district/tests.csv").text)))[1:] == []
