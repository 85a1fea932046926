"""Settings → Data export: an admin downloads a ZIP of the company's data."""
import csv
import hashlib
import io
import json
import re
import zipfile

import sqlalchemy as sa

from flowtrack.districts import services as districts
from flowtrack.invoices import logo
from flowtrack.models.audit import AuditEntry
from flowtrack.models.customers import District
from flowtrack.models.exports import Export
from tests.customers.factories import Records
from tests.factories import PEOPLE, file_store
from tests.field_tests.factories import device_photo, recorded_test, voice_note
from tests.invoices.test_logo import picture, upload


def _start_and_build(browser, run_worker):
    started = browser.htmx("post", "/account/export/")
    assert started.status_code == 202 and "Waiting for a worker" in started.text
    status_url = re.search(r'hx-get="([^"]+)"', started.text).group(1)
    run_worker()
    done = browser.htmx("get", status_url)
    download_url = re.search(r'href="([^"]+/download)"', done.text).group(1)
    return browser.get(download_url)


def test_an_admin_exports_the_company_and_the_zip_matches_the_database(app, admin, acme, bravo, run_worker):
    response = _start_and_build(admin, run_worker)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    assert {"README.txt", "manifest.json", "csv/profiles.csv", "json/profiles.json", "csv/users.csv",
            "csv/audit_log.csv", "json/audit_log.json"} <= names
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["tables"]["profiles"]["rows"] == PEOPLE
    emails = {row["email"] for row in csv.DictReader(io.StringIO(archive.read("csv/users.csv").decode()))}
    assert emails == {m.email for m in acme.members.values()}
    team = json.loads(archive.read("json/profiles.json"))
    assert {p["role"] for p in team} == set(acme.members)
    # The company's creation, its members (one of each role), and the export's own request (written before the
    # file is built).
    assert manifest["tables"]["audit_log"]["rows"] == 1 + PEOPLE + 1
    audit_csv = list(csv.DictReader(io.StringIO(archive.read("csv/audit_log.csv").decode())))
    assert [row["action"] for row in audit_csv][-1] == "export.requested"
    for name, facts in manifest["files"].items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == facts["sha256"], name
    everything = b"".join(archive.read(n) for n in names).decode()
    assert bravo.members["manager"].email not in everything
    assert str(bravo.id) not in everything


def test_no_secret_ever_appears_in_the_archive(app, admin, acme, factory, run_worker):
    factory.session_token(acme.members["manager"])  # a live session whose token hash must stay home
    response = _start_and_build(admin, run_worker)
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    everything = b"".join(archive.read(n) for n in archive.namelist()).decode()
    for secret_column in ("password_hash", "totp_secret", "token_hash", "payload_salt"):
        assert secret_column not in everything
    assert "$argon2id$" not in everything


def test_only_company_admins_may_export(login, acme):
    for role in ("manager", "technician", "auditor", "customer", "district_admin"):
        browser = login(acme, role)
        assert browser.get("/account/export/").status_code == 403
        assert browser.submit("/account/export/").status_code == 403


def test_every_export_is_audited(app, admin, acme):
    admin.submit("/account/export/")
    with app.extensions["flowtrack.db"].service() as s:
        last = s.scalars(sa.select(AuditEntry.action).where(AuditEntry.company_id == acme.id)
                         .order_by(AuditEntry.seq.desc())).first()
    assert last == "export.requested"


def test_the_sixth_export_in_an_hour_gets_a_clear_429(admin):
    statuses = [admin.submit("/account/export/").status_code for _ in range(6)]
    assert statuses[:5] == [303] * 5
    assert statuses[5] == 429
    assert "Too many" in admin.submit("/account/export/").text


def test_an_expired_export_is_gone(app, admin, acme, factory):
    export = factory.finished_export(acme)
    with app.extensions["flowtrack.db"].service() as s:
        s.execute(sa.update(Export).where(Export.id == export.id).values(expires_at=sa.func.now()))
        s.commit()
    assert admin.get(f"/account/export/{export.id}/download").status_code == 410
    assert "Expired" in admin.get("/account/export/").text


def test_the_export_holds_every_record_table_and_no_derived_or_machinery_columns(app, admin, acme, run_worker):
    records = Records(app)
    customer = records.customer(acme, name="Harbor Dairy")
    district = records.district(acme, name="Clearwater Utilities")
    records.device(acme, records.location(acme, customer, district_id=district.id), serial="RP-77")
    records.gauge(acme, serial="G-1")
    archive = zipfile.ZipFile(io.BytesIO(_start_and_build(admin, run_worker).data))
    names = set(archive.namelist())
    for table in ("customers", "customer_locations", "devices", "districts", "gauges", "audit_log", "users"):
        assert f"csv/{table}.csv" in names, table
    for table in ("auth_sessions", "account_tokens", "recovery_codes", "exports", "notification_emails"):
        assert f"csv/{table}.csv" not in names, table
    customers = list(csv.DictReader(io.StringIO(archive.read("csv/customers.csv").decode())))
    assert [row["name"] for row in customers] == ["Harbor Dairy"]
    assert "name_key" not in customers[0]
    districts = json.loads(archive.read("json/districts.json"))
    assert [d["name"] for d in districts] == ["Clearwater Utilities"]


def test_photos_and_signatures_are_listed_where_an_admin_downloads_them(app, factory, admin, acme, run_worker):
    record = recorded_test(app, factory, acme)
    photo = device_photo(app, acme, record.device_id)
    note = voice_note(app, acme, record, transcript="check valve one closed tight")
    archive = zipfile.ZipFile(io.BytesIO(_start_and_build(admin, run_worker).data))
    [listed] = csv.DictReader(io.StringIO(archive.read("manifests/device_photos.csv").decode()))
    assert (listed["photo_id"], listed["url"]) == (str(photo.id), f"/photos/{photo.id}")
    assert admin.get(listed["thumbnail_url"]).mimetype == "image/jpeg"
    [signature] = csv.DictReader(io.StringIO(archive.read("manifests/test_signatures.csv").decode()))
    assert (signature["test_id"], signature["signer"]) == (str(record.id), "technician")
    assert admin.get(signature["url"]).mimetype == "image/png"
    [voice] = csv.DictReader(io.StringIO(archive.read("manifests/voice_notes.csv").decode()))
    assert (voice["test_record_id"], voice["transcript"]) == (str(record.id), "check valve one closed tight")
    assert admin.get(voice["url"]).mimetype == "audio/webm" and voice["url"] == f"/voice-notes/{note.id}/audio"
    assert json.loads(archive.read("manifest.json"))["manifests"] == {
        "device_photos": {"rows": 1}, "service_request_photos": {"rows": 0}, "voice_notes": {"rows": 1},
        "dataplate_photos": {"rows": 0}, "test_signatures": {"rows": 1}, "quote_signatures": {"rows": 0},
        "district_report_forms": {"rows": 0}}


def test_the_invoice_logo_travels_in_the_archive(app, admin, acme, run_worker):
    upload(admin, picture("PNG"))
    stored = file_store(app).get(logo.logo_key(acme.id))
    archive = zipfile.ZipFile(io.BytesIO(_start_and_build(admin, run_worker).data))
    assert archive.read("files/invoice-logo.png") == stored
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["files"]["files/invoice-logo.png"]["sha256"] == hashlib.sha256(stored).hexdigest()


def test_districts_own_report_forms_are_listed_where_they_are_edited_and_printed(app, admin, acme, run_worker):
    records = Records(app)
    own = records.district(acme, name="Eugene Water")
    records.district(acme, name="Springfield Utility Board")  # prints on the standard form: not listed
    with records.session(acme) as session:
        districts.save_report_form(session, session.get(District, own.id), "<h1>EWEB report</h1>{{ device.serial }}")
    archive = zipfile.ZipFile(io.BytesIO(_start_and_build(admin, run_worker).data))
    [listed] = csv.DictReader(io.StringIO(archive.read("manifests/district_report_forms.csv").decode()))
    assert (listed["name"], listed["url"]) == ("Eugene Water", f"/districts/{own.id}/report-form")
    assert "EWEB report" in admin.get(listed["url"]).text
    assert admin.get(listed["pdf_url"]).mimetype == "application/pdf"
