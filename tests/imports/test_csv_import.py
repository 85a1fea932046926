"""A company moves off its spreadsheet: upload a CSV, see every row's problems, import all of it or none."""
import datetime as dt
import io
import re
import zoneinfo

import pytest
import sqlalchemy as sa

from flowtrack.imports import services
from flowtrack.models.customers import Customer, CustomerLocation, Device
from flowtrack.models.imports import CustomerImport
from tests.customers.test_customers import audit_entries

TODAY = dt.datetime.now(zoneinfo.ZoneInfo("America/Los_Angeles")).date()
HEADER = ("customer_name,customer_email,address_line1,city,state,postal_code,district,device_type,manufacturer,"
          "serial,size,install_date,last_test_on")
GOOD = f"""{HEADER}
Harbor Foods,ap@harbor.example,12 Harbor Street,Springfield,OR,97477,North Water,RP,Watts,HF-1,3/4,2019-05-01,2025-04-02
harbor  foods,,12 harbor st.,springfield,or,97477,North Water,DC,Febco,HF-2,1,5/1/2019,
Lane Dairy,,400 Mill Road,Eugene,OR,97401,,PVB,Wilkins,LD-9,,2020-01-15,2025-03-01
Lane Dairy,,9 Barn Lane,Eugene,OR,97401,,,,,,,
"""


@pytest.fixture
def north_water(records, acme):
    """The district the GOOD file names."""
    return records.district(acme, name="North Water", test_interval_months=12, due_end_of_month=True)


def upload(browser, text: str | bytes, name: str = "customers.csv"):
    data = text.encode() if isinstance(text, str) else text
    return browser.submit("/import/", {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def words(response) -> str:
    """A page's text with its line breaks and indentation as single spaces."""
    return " ".join(response.text.replace("&#39;", "'").split())


def import_file(browser, location: str, run_worker):
    """Click Import on the upload's page, let the worker run, and return the upload's page after."""
    clicked = browser.submit(location + "/import")
    assert clicked.status_code == 303 and clicked.headers["Location"] == location
    run_worker()
    return browser.get(location)


def rows_of(app, tenant, model):
    with app.extensions["flowtrack.db"].service() as s:
        return list(s.scalars(sa.select(model).where(model.company_id == tenant.id)))


def test_the_office_previews_a_file_then_imports_it_all_and_a_second_import_adds_nothing(
        app, office, acme, north_water, run_worker):
    response = upload(office, GOOD)
    assert response.status_code == 303
    preview = office.get(response.headers["Location"])
    assert "4 rows: 2 new customers, 3 new service locations, 3 new devices" in words(preview)
    assert "problems" not in preview.text.lower()
    assert rows_of(app, acme, Customer) == []  # nothing is saved by looking

    location = response.headers["Location"]
    clicked = office.submit(location + "/import")
    assert clicked.status_code == 303
    importing = office.get(clicked.headers["Location"])
    assert "Importing 4 rows" in words(importing) and "Waiting for a worker…" in words(importing)
    assert re.search(r'<progress id="import-progress" aria-label="Import progress" max="8"\s+value="0">',
                     importing.text)
    assert f'hx-get="{location}/status"' in importing.text and 'role="status"' in importing.text
    assert rows_of(app, acme, Customer) == []  # the worker has not run yet

    run_worker()
    page = office.get(location)
    assert "Imported 2 customers, 3 service locations and 3 devices." in words(page)
    assert "hx-get" not in page.text  # done: nothing polls any more
    status = office.htmx("get", location + "/status")
    assert status.status_code == 200 and "<html" not in status.text
    assert "Imported 2 customers, 3 service locations and 3 devices." in words(status)

    customers = {c.name: c for c in rows_of(app, acme, Customer)}
    assert set(customers) == {"Harbor Foods", "Lane Dairy"}
    assert customers["Harbor Foods"].email == "ap@harbor.example"
    # "12 harbor st." is the same place as "12 Harbor Street": one location holds both devices.
    devices = {d.serial: d for d in rows_of(app, acme, Device)}
    assert devices["HF-1"].location_id == devices["HF-2"].location_id
    assert devices["HF-1"].next_test_due == dt.date(2026, 4, 30)  # the district's rule: a year on, month's end
    assert devices["HF-2"].install_date == dt.date(2019, 5, 1) and devices["HF-2"].size == "1"
    assert devices["LD-9"].next_test_due == dt.date(2026, 3, 1)
    assert len(rows_of(app, acme, CustomerLocation)) == 3

    created = audit_entries(app, acme, "device.created")
    assert len(created) == 3 and all(e.changes["import_id"] for e in created)
    [summary] = audit_entries(app, acme, "customers.imported")
    assert (summary.changes["file"], summary.changes["devices"], summary.changes["rows"]) == ("customers.csv", 3, 4)
    [stored] = rows_of(app, acme, CustomerImport)
    assert (stored.status, stored.rows) == ("imported", [])  # no second copy of the data is kept

    again = office.get(upload(office, GOOD).headers["Location"])
    assert "0 new customers, 0 new service locations, 0 new devices; 4 rows are there already" in words(again)
    assert "Imported 0 customers, 0 service locations and 0 devices." in words(
        import_file(office, again.request.path, run_worker))
    assert len(rows_of(app, acme, Device)) == 3 and len(rows_of(app, acme, Customer)) == 2
    uploads = audit_entries(app, acme, "customers.import_uploaded")
    assert [(e.changes["file"], e.changes["rows"]) for e in uploads] == [("customers.csv", 4)] * 2
    started = audit_entries(app, acme, "customers.import_started")
    assert len(started) == 2 and {e.actor_user_id for e in started} == {acme.members["manager"].user_id}
    # The worker's records are the office person's, as when the import ran in their request.
    assert {e.actor_user_id for e in created} == {acme.members["manager"].user_id}


@pytest.mark.parametrize("text, message", [
    ("name,city\nA,B\n", "Unknown column(s): name. The columns FlowTrack reads are: customer_name"),
    ("customer_name,city,state,postal_code\nA,B,OR,97477\n", "Missing column(s): address_line1."),
    ("customer_name,customer_name,address_line1,city,state,postal_code\n", "Column(s) named twice: customer_name."),
    (f"{HEADER}\n", "The file names its columns but has no rows."),
    ("", "The file is empty."),
    (f"{HEADER}\nA,,1 Main St,X,OR,97477,,,,,,,,extra\n", "Line 2 has 14 cells, more than the 13 columns"),
    (b"PK\x03\x04\x00\x00binary", "This is not a CSV file."),
])
def test_a_file_of_the_wrong_shape_is_refused_with_the_reason(app, office, acme, text, message):
    response = upload(office, text)
    assert response.status_code == 422
    assert message in words(response)
    assert rows_of(app, acme, CustomerImport) == []


def test_a_file_that_is_not_csv_or_too_big_is_refused_before_it_is_read(app, office, acme):
    assert "Upload a .csv file" in upload(office, GOOD, name="customers.xlsx").text
    big = HEADER + "\n" + "A,,1 Main St,X,OR,97477,,,,,,,\n" * 400_000
    assert len(big) > 10 * 1024 * 1024
    response = upload(office, big)
    assert response.status_code == 422 and "The file is larger than 10 MB." in response.text
    many = HEADER + "\n" + "".join(f"C{n},,{n} Main St,X,OR,97477,,,,,,,\n" for n in range(20_001))
    assert len(many) < 10 * 1024 * 1024
    response = upload(office, many)
    assert response.status_code == 422 and "more than 20,000 rows" in response.text
    assert rows_of(app, acme, CustomerImport) == []


def test_bad_rows_are_listed_by_line_and_nothing_of_the_file_is_imported(app, office, acme, records, run_worker):
    records.device(acme, serial="TAKEN-1")
    records.location(acme, address_line1="77 Other Way", city="Eugene", postal_code="97401")
    customers_before = {c.id for c in rows_of(app, acme, Customer)}
    future = (TODAY + dt.timedelta(days=3)).isoformat()
    text = f"""{HEADER}
Good Customer,,1 Fine St,Eugene,OR,97401,,RP,Watts,OK-1,,2019-05-01,
Bad Dates,,2 Fine St,Eugene,OR,97401,,RP,Watts,BD-1,,31/31/2020,
Future,,3 Fine St,Eugene,OR,97401,,RP,Watts,FU-1,,{future},
Odd Type,,4 Fine St,Eugene,OR,97401,,XYZ,Watts,OT-1,,,
Twice,,5 Fine St,Eugene,OR,97401,,RP,Watts,OK-1,,,
Taken,,6 Fine St,Eugene,OR,97401,,RP,Watts,taken-1,,,
No District,,7 Fine St,Eugene,OR,97401,Atlantis Water,RP,Watts,ND-1,,,
Not Theirs,,77 other way,eugene,OR,97401,,,,,,,
,bad-email,8 Fine St,Eugene,Oregon,ABC,,,,,,,
"""
    response = upload(office, text)
    preview = office.get(response.headers["Location"])
    page = words(preview)
    assert "8 rows have problems." in page and "Nothing has been imported." in page
    assert "Import 9 rows" not in page
    problems = {int(line): cell for line, cell in re.findall(
        r'<td data-label="Line">(\d+)</td>.*?<td data-label="Problems">(.*?)</td>', page, re.S)}
    assert set(problems) == {3, 4, 5, 6, 7, 8, 9, 10}
    assert "install_date: Not a valid date value." in problems[3]
    assert "install_date: An installation date cannot be in the future." in problems[4]
    assert "device_type: “XYZ” is not one of RP, RPDA, DC, DCDA, PVB, SVB, AVB." in problems[5]
    assert "serial: Serial OK-1 is also on line 2." in problems[6]
    assert "serial: Serial TAKEN-1 is already recorded at another location." in problems[7]
    assert "district: No water district is named “Atlantis Water”." in problems[8]
    assert "This address is already a service location of another customer." in problems[9]
    assert "customer_name: This field is required." in problems[10]
    assert "customer_email: Enter an email address like name@example.com." in problems[10]
    assert "state: Two letters, like OR." in problems[10] and "postal_code: A ZIP code like 97477" in problems[10]

    # Importing anyway saves nothing, not even the good first row.
    refused = words(import_file(office, preview.request.path, run_worker))
    assert "8 rows have problems now. Nothing was imported." in refused
    assert "serial: Serial OK-1 is also on line 2." in refused
    assert {c.id for c in rows_of(app, acme, Customer)} == customers_before
    assert {d.serial for d in rows_of(app, acme, Device)} == {"TAKEN-1"}
    assert audit_entries(app, acme, "customers.imported") == []


def test_a_record_added_after_the_preview_stops_the_import_whole(app, office, acme, records, north_water,
                                                                 run_worker):
    location = upload(office, GOOD).headers["Location"]
    office.submit(location + "/import")
    records.device(acme, serial="HF-2")  # someone else records this serial elsewhere meanwhile
    run_worker()
    status = words(office.htmx("get", location + "/status"))
    assert "Nothing was imported" in status and "1 row has problems now." in status
    assert "Serial HF-2 is already recorded at another location." in status
    assert {d.serial for d in rows_of(app, acme, Device)} == {"HF-2"}
    assert "Harbor Foods" not in {c.name for c in rows_of(app, acme, Customer)}
    [stored] = rows_of(app, acme, CustomerImport)
    assert stored.status == "previewed" and len(stored.rows) == 4  # the file is kept, to check and try again
    [failed] = audit_entries(app, acme, "customers.import_failed")
    assert "1 row has problems now" in failed.changes["error"]
    # The upload's page says why and lists today's problems; the office fixes the file and uploads it again.
    page = words(office.get(location))
    assert "The last import did not finish" in page and "Serial HF-2 is already recorded" in page
    assert "Import 4 rows" not in page


def test_a_spreadsheet_saved_by_excel_on_windows_imports(app, office, acme, run_worker):
    text = ("Customer Name,Address Line1,City,State,Postal Code,Device Type,Manufacturer,Serial,Install Date\r\n"
            "Café Olé,1 Rue St,Eugene,or,97401,rp,Watts,CO-1,5/1/19\r\n")
    response = upload(office, text.encode("cp1252"))
    import_file(office, response.headers["Location"], run_worker)
    [customer] = rows_of(app, acme, Customer)
    [device] = rows_of(app, acme, Device)
    assert customer.name == "Café Olé"
    assert (device.device_type, device.install_date) == ("RP", dt.date(2019, 5, 1))


def test_five_thousand_rows_import_in_one_go(app, office, acme, run_worker):
    lines = [HEADER] + [f"Customer {n // 2},,{n // 2} Long Road,Eugene,OR,97401,,RP,Watts,BULK-{n},,2020-02-02,"
                        for n in range(5000)]
    response = upload(office, "\n".join(lines))
    preview = office.get(response.headers["Location"])
    assert "5,000 rows: 2,500 new customers, 2,500 new service locations, 5,000 new devices" in words(preview)
    assert "And 4800 more rows." in words(preview)
    page = import_file(office, response.headers["Location"], run_worker)
    assert "Imported 2,500 customers, 2,500 service locations and 5,000 devices." in words(page)
    assert len(rows_of(app, acme, Device)) == 5000
    assert len(audit_entries(app, acme, "device.created")) == 5000


def test_an_imported_file_cannot_be_imported_twice_and_another_company_cannot_see_it(
        app, office, acme, bravo, login, north_water, run_worker):
    location = upload(office, GOOD).headers["Location"]
    import_file(office, location, run_worker)
    again = office.submit(location + "/import")
    assert "This file has been imported already." in office.get(again.headers["Location"]).text
    assert office.htmx("post", location + "/import").status_code == 409
    theirs = login(bravo, "manager")
    assert theirs.get(location).status_code == 404
    assert theirs.get(location + "/status").status_code == 404
    assert theirs.submit(location + "/import").status_code == 404
    assert "customers.csv" not in theirs.get("/import/").text


def test_a_second_click_or_tab_while_importing_is_refused(app, office, acme, north_water, run_worker):
    location = upload(office, GOOD).headers["Location"]
    first = office.htmx("post", location + "/import")
    assert first.status_code == 202 and "Waiting for a worker…" in words(first)
    assert 'id="import-status"' in first.text and "<html" not in first.text
    second = office.htmx("post", location + "/import")
    assert second.status_code == 409
    assert "This file is being imported already" in words(second) and "Waiting for a worker…" in words(second)
    other_tab = office.submit(location + "/import")
    assert "This file is being imported already" in words(office.get(other_tab.headers["Location"]))
    assert office.post(location + "/import").status_code == 400  # no CSRF token, no import

    run_worker()
    assert len(audit_entries(app, acme, "customers.import_started")) == 1
    assert len(audit_entries(app, acme, "customers.imported")) == 1
    assert len(rows_of(app, acme, Device)) == 3


def test_the_status_shows_the_rows_checked_and_saved_while_the_import_is_uncommitted(
        app, office, acme, monkeypatch):
    from flowtrack.core.queue import ProgressRow
    from flowtrack.imports import tasks

    lines = [HEADER] + [f"Customer {n},,{n} Slow Road,Eugene,OR,97401,,RP,Watts,SLOW-{n},,2020-02-02,"
                        for n in range(1000)]
    location = upload(office, "\n".join(lines)).headers["Location"]
    office.submit(location + "/import")
    seen = []
    write = ProgressRow.write

    def write_and_look(self, **values):
        write(self, **values)
        page = words(office.htmx("get", location + "/status"))
        seen.append(re.search(r"(Checked [^<]*?rows\.)", page).group(1))
        assert rows_of(app, acme, Device) == []  # nothing committed yet

    monkeypatch.setattr(ProgressRow, "write", write_and_look)
    [stored] = rows_of(app, acme, CustomerImport)
    with app.app_context():  # the job, in this process, so that it can be watched between its steps
        assert tasks.import_file(str(acme.id), str(stored.id), str(stored.attempt_id), None) == "imported"
    assert seen == [f"Checked {n:,} of 1,000 rows." for n in (250, 500, 750, 1000)] + \
        [f"Checked every row; saved {n:,} of 1,000 rows." for n in (500, 1000)]
    assert "Imported 1,000 customers" in words(office.htmx("get", location + "/status"))


@pytest.fixture
def crash_on_serial(services):
    """A database that refuses one serial as the import saves it: a fault the rows' checks cannot foresee."""
    from flowtrack.core.config import sqlalchemy_url

    admin = sa.create_engine(sqlalchemy_url(services["DATABASE_URL"]), isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text(
            "CREATE FUNCTION test_refuse_crash_serial() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.serial = 'CRASH-1' THEN RAISE EXCEPTION 'disk on fire'; END IF; RETURN NEW; END $$"))
        connection.execute(sa.text("CREATE TRIGGER test_refuse_crash_serial BEFORE INSERT ON devices FOR EACH ROW "
                                   "EXECUTE FUNCTION test_refuse_crash_serial()"))

    def mend():
        with admin.connect() as connection:
            connection.execute(sa.text("DROP TRIGGER IF EXISTS test_refuse_crash_serial ON devices"))
            connection.execute(sa.text("DROP FUNCTION IF EXISTS test_refuse_crash_serial()"))

    yield mend
    mend()
    admin.dispose()


def test_a_crashed_import_saves_nothing_and_the_office_can_try_again(app, office, acme, run_worker, crash_on_serial):
    text = (f"{HEADER}\nFine Foods,,1 Fine St,Eugene,OR,97401,,RP,Watts,FINE-1,,,\n"
            "Crash Co,,2 Fine St,Eugene,OR,97401,,RP,Watts,CRASH-1,,,\n")
    location = upload(office, text).headers["Location"]
    page = words(import_file(office, location, run_worker))
    assert "The import stopped on an error on our side. Nothing was imported; try again." in page
    assert rows_of(app, acme, Customer) == [] and rows_of(app, acme, Device) == []
    [stored] = rows_of(app, acme, CustomerImport)
    assert stored.status == "previewed"
    assert len(audit_entries(app, acme, "customers.import_failed")) == 1
    assert "Import 2 rows" in page  # the rows still pass: the office may simply try again

    crash_on_serial()
    assert "Imported 2 customers, 2 service locations and 2 devices." in words(
        import_file(office, location, run_worker))


def test_an_import_whose_worker_vanished_can_be_started_again_and_the_lost_job_does_nothing(
        app, office, acme, north_water, run_worker):
    location = upload(office, GOOD).headers["Location"]
    office.submit(location + "/import")
    with app.extensions["flowtrack.db"].service() as s:  # as if its worker had died half an hour ago
        stored = s.scalars(sa.select(CustomerImport).where(CustomerImport.company_id == acme.id)).one()
        stored.started_at -= dt.timedelta(minutes=30)
        s.commit()
    status = words(office.htmx("get", location + "/status"))
    assert "The import stopped" in status and "Nothing was imported." in status and "Import again" in status

    again = office.htmx("post", location + "/import")
    assert again.status_code == 202 and "Waiting for a worker…" in words(again)
    run_worker()  # runs the old job (which finds it was started again and does nothing), then the new one
    assert "Imported 2 customers, 3 service locations and 3 devices." in words(office.get(location))
    assert len(rows_of(app, acme, Device)) == 3
    assert len(audit_entries(app, acme, "customers.imported")) == 1


def test_uploads_never_imported_are_forgotten_after_a_week(app, office, acme, north_water):
    location = upload(office, GOOD).headers["Location"]
    with app.extensions["flowtrack.db"].service() as s:
        upload_row = s.scalars(sa.select(CustomerImport).where(CustomerImport.company_id == acme.id)).one()
        upload_row.uploaded_at -= dt.timedelta(days=8)
        s.commit()
        assert services.forget_stale_previews(s, dt.datetime.now(dt.timezone.utc)) >= 1
        s.commit()
    assert office.get(location).status_code == 404


def test_an_old_upload_is_kept_while_it_imports_and_forgotten_once_its_import_has_stopped(app, office, acme):
    running, stopped = (upload(office, GOOD, name=name).headers["Location"] for name in ("a.csv", "b.csv"))
    for location in (running, stopped):
        office.submit(location + "/import")
    now = dt.datetime.now(dt.timezone.utc)
    with app.extensions["flowtrack.db"].service() as s:
        for stored in s.scalars(sa.select(CustomerImport).where(CustomerImport.company_id == acme.id)):
            stored.uploaded_at -= dt.timedelta(days=8)
            if stored.filename == "b.csv":
                stored.started_at -= dt.timedelta(minutes=20)
        s.commit()
        services.forget_stale_previews(s, now)
        s.commit()
    assert office.get(running).status_code == 200
    assert office.get(stopped).status_code == 404


def test_the_template_names_every_column_and_imports_as_it_is(app, office, acme, records):
    records.district(acme, name="Springfield Utility Board")
    template = office.get("/import/template.csv")
    assert template.text.splitlines()[0] == ",".join(services.COLUMNS)
    response = upload(office, template.data)
    assert "1 row: 1 new customer, 1 new service location, 1 new device" in words(office.get(
        response.headers["Location"]))


def test_every_problem_of_a_row_is_listed_at_once_and_a_test_date_to_come_is_refused(app, office, acme):
    later = (TODAY + dt.timedelta(days=1500)).isoformat()
    text = f"""{HEADER}
,,1 Fine St,Eugene,OR,97401,,XYZ,Watts,ST-1,9 feet,,
Next Decade,,2 Fine St,Eugene,OR,97401,,RP,Watts,ND-2,,2019-05-01,{later}
"""
    preview = words(office.get(upload(office, text).headers["Location"]))
    problems = {int(line): cell for line, cell in re.findall(
        r'<td data-label="Line">(\d+)</td>.*?<td data-label="Problems">(.*?)</td>', preview, re.S)}
    assert "customer_name: This field is required." in problems[2]
    assert "device_type: “XYZ” is not one of" in problems[2] and "size: “9 feet” is not one of" in problems[2]
    assert "last_test_on: A test date cannot be in the future." in problems[3]
