"""Filing on a district's own portal: the office arranges the district's batch file columns (or starts from a
preset), makes a batch of the reports waiting, downloads its file in that layout and marks it submitted with the
district's confirmation number; or files one report at a time from its ready-to-copy sheet."""
import csv
import datetime as dt
import io
import re
import zoneinfo

import sqlalchemy as sa

from flowtrack.models.companies import Company
from flowtrack.models.customers import CustomerLocation, Device, District
from flowtrack.models.field_tests import TestRecord
from flowtrack.models.submissions import ReportSubmission, SubmissionBatch
from flowtrack.ops.seed import seed_portal_filing, seed_records
from flowtrack.submissions.batch_fields import TCEQ_20700
from tests.customers.test_customers import audit_entries
from tests.factories import file_store
from tests.submissions.factories import batch_of, portal_test
from tests.valid_html import nu_validator_errors

COLUMNS = [("Serial No", "serial"), ("Tested", "test_date_us"), ("Account #", "water_account_number"),
           ("Check 1", "reading_check1_psid"), ("Tester License", "tester_certification"), ("Outcome", "result")]


def _rows(columns, action="save", **extra):
    data = {"action": action, **extra}
    for index, (header, field) in enumerate(columns):
        data[f"columns-{index}-header"], data[f"columns-{index}-field"] = header, field
    return data


def _stored(app, model, id_):
    with app.extensions["flowtrack.db"].service() as session:
        return session.get(model, id_)


def _submissions(app, district_id) -> list[ReportSubmission]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(ReportSubmission).where(ReportSubmission.district_id == district_id)
                                    .order_by(ReportSubmission.created_at)))


def _set(app, model, id_, **values):
    with app.extensions["flowtrack.db"].service() as session:
        session.execute(sa.update(model).where(model.id == id_).values(**values))
        session.commit()


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv", response.text[:500]
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def _zone(app, tenant) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(_stored(app, Company, tenant.id).timezone)


def _headings_typed(page: str) -> list[str]:
    return re.findall(r'name="columns-\d+-header" value="([^"]*)"', page)


def test_the_office_maps_a_districts_columns_and_files_a_batch_in_that_layout(app, factory, acme, office):
    first, submission = portal_test(app, factory, acme, name="Springfield Utility Board")
    district_id = submission.district_id
    second, _ = portal_test(app, factory, acme, district=_stored(app, District, district_id))
    location_id = _stored(app, Device, first.device_id).location_id
    _set(app, CustomerLocation, location_id, water_account_number="ACCT-0091")

    page = office.get(f"/submissions/districts/{district_id}/columns")
    assert page.status_code == 200 and "These are the Generic preset" in page.text
    saved = office.submit(f"/submissions/districts/{district_id}/columns", _rows(COLUMNS))
    assert saved.status_code == 303
    assert _stored(app, District, district_id).csv_columns == [{"header": h, "field": f} for h, f in COLUMNS]
    [entry] = audit_entries(app, acme, "district.batch_columns_changed")
    assert entry.changes["after"][0] == {"header": "Serial No", "field": "serial"}

    district_page = office.get(f"/submissions/districts/{district_id}")
    assert "Filing on the district" in district_page.text and "the company&#39;s own (6)" in district_page.text
    made = office.submit(f"/submissions/districts/{district_id}/batches", {"scope": "all"})
    assert made.status_code == 303 and "#batch-" in made.headers["Location"]
    [batch_id] = {s.batch_id for s in _submissions(app, district_id)}
    assert batch_id is not None
    assert "A batch of 2 reports is ready" in office.get(made.headers["Location"]).text
    [entry] = audit_entries(app, acme, "submission_batch.created")
    assert entry.changes["reports"] == 2 and entry.changes["scope"] == "all"

    rows = _csv(office.get(f"/submissions/batches/{batch_id}.csv"))
    assert rows[0] == [header for header, _ in COLUMNS]
    by_serial = {row[0]: row for row in rows[1:]}
    assert set(by_serial) == {first.facts["device"]["serial"], second.facts["device"]["serial"]}
    tested = first.tested_at.astimezone(_zone(app, acme))
    assert by_serial[first.facts["device"]["serial"]][1:] == [
        tested.strftime("%m/%d/%Y"), "ACCT-0091", "2.4", first.facts["certification_number"], "Pass"]
    assert by_serial[second.facts["device"]["serial"]][2] == ""  # no water account on that place
    again = _csv(office.get(f"/submissions/batches/{batch_id}.csv"))
    assert again == rows
    assert len(audit_entries(app, acme, "submission_batch.downloaded")) == 2

    marked = office.submit(f"/submissions/batches/{batch_id}/submitted", {"confirmation_number": " SUB-4471 "})
    assert marked.status_code == 303
    assert "2 reports marked submitted, confirmation SUB-4471." in office.get(marked.headers["Location"]).text
    for filed in _submissions(app, district_id):
        assert (filed.status, filed.confirmation_number, filed.batch_id, filed.submitted_by) == \
            ("submitted", "SUB-4471", batch_id, acme.members["manager"].user_id)
    batch = _stored(app, SubmissionBatch, batch_id)
    assert batch.submitted_at is not None and batch.confirmation_number == "SUB-4471"
    assert len(audit_entries(app, acme, "report_submission.submitted")) == 2
    assert len(audit_entries(app, acme, "submission_batch.submitted")) == 1

    twice = office.submit(f"/submissions/batches/{batch_id}/submitted", {"confirmation_number": "SUB-4472"})
    assert twice.status_code == 303
    assert "This batch was marked submitted already." in office.get(twice.headers["Location"]).text
    assert _stored(app, SubmissionBatch, batch_id).confirmation_number == "SUB-4471"
    assert "Batches submitted" in office.get(f"/submissions/districts/{district_id}").text


def test_the_office_starts_from_the_texas_tceq_preset(app, factory, acme, office):
    record, submission = portal_test(app, factory, acme, name="Austin Water", contact_name="Backflow desk")
    district_id = submission.district_id
    url = f"/submissions/districts/{district_id}/columns"

    offered = office.submit(url, {"action": "preset", "preset": "tceq_20700"})
    assert offered.status_code == 200
    assert "The Texas TCEQ-20700 (Test and Maintenance Report) columns are below. Save them" in offered.text
    assert _headings_typed(offered.text) == [column.header for column in TCEQ_20700]
    assert _stored(app, District, district_id).csv_columns is None  # nothing changes until it is saved
    assert office.submit(url, _rows(TCEQ_20700)).status_code == 303
    assert "the Texas TCEQ-20700 (Test and Maintenance Report) preset" in \
        office.get(f"/submissions/districts/{district_id}").text

    batch = batch_of(app, acme, district_id)
    header, row = _csv(office.get(f"/submissions/batches/{batch.id}.csv"))
    assert header[:5] == ["Name of PWS", "PWS ID#", "PWS Mailing Address", "PWS Contact Person", "Address of Service"]
    values = dict(zip(header, row, strict=True))
    assert (values["Name of PWS"], values["PWS ID#"], values["PWS Contact Person"], values["Type of Assembly"],
            values["Serial Number"], values["Reason for Test"], values["Initial Test: 1st Check (psid)"],
            values["Initial Test: 2nd Check (psid)"], values["Result"], values["Tester Name"],
            values["Test after Repair: 1st Check (psid)"]) == \
        ("Austin Water", "", "Backflow desk", "Double check (DC)", record.facts["device"]["serial"], "Existing",
         "2.4", "1.8", "Pass", record.facts["tester"], "")
    assert values["Test Gauge Serial Number"] == record.facts["gauge"]["serial"]


def test_the_editor_moves_adds_and_removes_rows_as_typed_and_saves_nothing_until_asked(app, factory, acme,
                                                                                        office):
    _, submission = portal_test(app, factory, acme)
    url = f"/submissions/districts/{submission.district_id}/columns"
    typed = [("A", "serial"), ("B", "city"), ("C half typed", "")]

    moved = office.submit(url, _rows(typed, action="up-1"))
    assert moved.status_code == 200 and _headings_typed(moved.text) == ["B", "A", "C half typed"]
    assert re.search(r'value="down-0"[^>]*autofocus', moved.text)  # the keyboard stays on the row moved
    moved = office.submit(url, _rows(typed, action="down-1"))
    assert _headings_typed(moved.text) == ["A", "C half typed", "B"]
    removed = office.submit(url, _rows(typed, action="remove-0"))
    assert _headings_typed(removed.text) == ["B", "C half typed"]
    added = office.submit(url, _rows(typed, action="add"))
    assert _headings_typed(added.text) == ["A", "B", "C half typed", ""]
    assert re.search(r'name="columns-3-header" value=""[^>]*autofocus', added.text)
    ignored = office.submit(url, _rows(typed, action="up-99"))
    assert ignored.status_code == 200 and _headings_typed(ignored.text) == ["A", "B", "C half typed"]
    assert _stored(app, District, submission.district_id).csv_columns is None
    assert audit_entries(app, acme, "district.batch_columns_changed") == []


def test_a_mapping_that_cannot_be_used_is_refused_row_by_row_keeping_what_was_typed(app, factory, acme, office):
    _, submission = portal_test(app, factory, acme)
    url = f"/submissions/districts/{submission.district_id}/columns"
    typed = [("Serial", "serial"), ("", "city"), ("serial", "zip"), ("Meter", "the_moon"), ("x" * 101, "zip")]

    refused = office.submit(url, _rows(typed))
    assert refused.status_code == 422
    assert _headings_typed(refused.text) == ["Serial", "", "serial", "Meter", "x" * 101]
    for message in ("Give the column&#39;s heading, as the district&#39;s file has it.",
                    "Column 1 has this heading already.", "Choose what goes in this column.",
                    "A heading has at most 100 characters."):
        assert message in refused.text
    assert refused.text.count('aria-invalid="true"') == 4
    assert office.submit(url, {"action": "save"}).status_code == 422  # no column at all
    assert "Add at least one column." in office.submit(url, {"action": "save"}).text
    assert office.submit(url, {"action": "preset", "preset": "utopia"}).status_code == 422
    assert office.submit(f"/submissions/districts/{submission.district_id}/batches",
                         {"scope": "yesterday"}).status_code == 422
    assert _stored(app, District, submission.district_id).csv_columns is None
    assert _submissions(app, submission.district_id)[0].batch_id is None


def test_this_weeks_batch_takes_this_weeks_tests_and_no_report_goes_in_two_batches(app, factory, acme, office):
    recent, submission = portal_test(app, factory, acme)
    district_id = submission.district_id
    older, older_submission = portal_test(app, factory, acme, district=_stored(app, District, district_id))
    _set(app, TestRecord, older.id, tested_at=older.tested_at - dt.timedelta(days=8))
    page = office.get(f"/submissions/districts/{district_id}").text
    assert "Make a batch of this week's tests (1)" in page and "Make a batch of all reports to submit (2)" in page

    assert office.submit(f"/submissions/districts/{district_id}/batches", {"scope": "week"}).status_code == 303
    week = _csv(office.get(f"/submissions/batches/{_stored(app, ReportSubmission, submission.id).batch_id}.csv"))
    assert [row[8] for row in week[1:]] == [recent.facts["device"]["serial"]]
    assert office.submit(f"/submissions/districts/{district_id}/batches", {"scope": "all"}).status_code == 303
    rest = _stored(app, ReportSubmission, older_submission.id).batch_id
    assert rest not in (None, _stored(app, ReportSubmission, submission.id).batch_id)
    nothing = office.submit(f"/submissions/districts/{district_id}/batches", {"scope": "all"})
    assert "No report is waiting to be submitted." in office.get(nothing.headers["Location"]).text
    assert len(audit_entries(app, acme, "submission_batch.created")) == 2


def test_the_copy_sheet_lists_the_districts_fields_in_its_order_and_files_one_report_after_another(
        app, factory, acme, office):
    first, submission = portal_test(app, factory, acme, portal_url="https://backflow.sub.example/")
    district_id = submission.district_id
    second, next_submission = portal_test(app, factory, acme, district=_stored(app, District, district_id))
    office.submit(f"/submissions/districts/{district_id}/columns", _rows(COLUMNS))

    sheet = office.get(f"/submissions/{submission.id}/sheet")
    assert sheet.status_code == 200
    assert re.findall(r'<th scope="row">([^<]*)</th>', sheet.text) == ["Serial No", "Tested", "Account #",
                                                                     "Check 1", "Tester License", "Outcome"]
    assert f'<span class="copy-value" id="value-1">{first.facts["device"]["serial"]}</span>' in sheet.text
    assert 'data-copy="value-1"' in sheet.text and 'aria-label="Copy Serial No"' in sheet.text
    assert "Nothing in FlowTrack" in sheet.text  # no water account on the place: nothing to copy
    assert 'href="https://backflow.sub.example/" target="_blank"' in sheet.text
    assert "/static/copy.js" in sheet.text and "<script>" not in sheet.text

    too_long = office.submit(f"/submissions/{submission.id}/sheet", {"confirmation_number": "C" * 101})
    assert too_long.status_code == 422 and "C" * 101 in too_long.text
    filed = office.submit(f"/submissions/{submission.id}/sheet", {"confirmation_number": "P-100"})
    assert filed.headers["Location"].endswith(f"/submissions/{next_submission.id}/sheet")
    assert "Marked submitted. This is the next report waiting." in office.get(filed.headers["Location"]).text
    stored = _stored(app, ReportSubmission, submission.id)
    assert (stored.status, stored.confirmation_number, stored.batch_id) == ("submitted", "P-100", None)
    last = office.submit(f"/submissions/{next_submission.id}/sheet", {"confirmation_number": ""})
    assert last.headers["Location"].endswith(f"/submissions/districts/{district_id}")
    assert _stored(app, ReportSubmission, next_submission.id).status == "submitted"
    again = office.submit(f"/submissions/{submission.id}/sheet", {"confirmation_number": "P-101"})
    assert "This report is not waiting to be submitted." in office.get(again.headers["Location"]).text
    assert _stored(app, ReportSubmission, submission.id).confirmation_number == "P-100"


def test_a_cell_a_spreadsheet_would_run_is_written_as_text(app, factory, acme, office):
    record, submission = portal_test(app, factory, acme)
    location_id = _stored(app, Device, record.device_id).location_id
    _set(app, CustomerLocation, location_id, water_account_number="=HYPERLINK(\"http://x\")")
    office.submit(f"/submissions/districts/{submission.district_id}/columns", _rows(COLUMNS))
    batch = batch_of(app, acme, submission.district_id)
    [_, row] = _csv(office.get(f"/submissions/batches/{batch.id}.csv"))
    assert row[2].startswith("'=")


def test_only_the_office_files_with_districts(app, factory, acme, login):
    _, submission = portal_test(app, factory, acme)
    batch = batch_of(app, acme, submission.district_id)
    technician = login(acme, "technician")
    district = f"/submissions/districts/{submission.district_id}"
    for url in (f"{district}/columns", f"/submissions/{submission.id}/sheet", f"/submissions/batches/{batch.id}.csv"):
        assert technician.get(url).status_code == 403, url
    for url in (f"{district}/columns", f"{district}/batches", f"/submissions/{submission.id}/sheet",
                f"/submissions/batches/{batch.id}/submitted"):
        assert technician.submit(url, {"scope": "all", "action": "save"}).status_code == 403, url
    assert _stored(app, ReportSubmission, submission.id).status == "to_submit"


def test_the_filing_pages_are_valid_html(app, factory, acme, office, tmp_path):
    _, submission = portal_test(app, factory, acme)
    district_id = submission.district_id
    batch_of(app, acme, district_id)
    portal_test(app, factory, acme, district=_stored(app, District, district_id))
    pages = [office.get(f"/submissions/districts/{district_id}"), office.get(f"/submissions/{submission.id}/sheet"),
             office.get(f"/submissions/districts/{district_id}/columns"),
             office.submit(f"/submissions/districts/{district_id}/columns", _rows([("", "zip"), ("A", "")])),
             office.submit(f"/submissions/districts/{district_id}/columns", _rows(COLUMNS, action="down-0"))]
    files = []
    for number, page in enumerate(pages):
        files.append(tmp_path / f"{number}.html")
        files[-1].write_text(page.text)
    assert nu_validator_errors(files) == []


def test_the_demo_office_has_reports_waiting_for_the_springfield_portal(app, factory, login):
    tenant = factory.tenant("Demo")
    with app.app_context():
        seed_records(app.extensions["flowtrack.db"], tenant.company, file_store(app))
        seed_portal_filing(app.extensions["flowtrack.db"], tenant.company, file_store(app))
    with app.extensions["flowtrack.db"].service() as session:
        springfield = session.scalar(sa.select(District).where(District.company_id == tenant.id,
                                                               District.name == "Springfield Utility Board"))
    office = login(tenant, "manager")
    page = office.get(f"/submissions/districts/{springfield.id}").text
    assert "Make a batch of all reports to submit (2)" in page
    first = re.search(r'href="(/submissions/[0-9a-f-]+/sheet)"', page).group(1)
    sheet = office.get(first).text
    assert "SUB-20417" in sheet and "DE-2001" in sheet
