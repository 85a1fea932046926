"""Signatures and amendments: the tester signs every test on the phone, the customer signs where the district's
form asks for it, the report prints both; a submitted test is corrected only by an audited amendment that keeps
the original as it was."""
import datetime as dt
import io
import threading
import time
import zoneinfo

import pytest
import sqlalchemy as sa
from PIL import Image
from pypdf import PdfReader

from flowtrack.field_tests import services
from flowtrack.models.audit import AuditEntry
from flowtrack.models.customers import Device
from flowtrack.models.field_tests import TestRecord
from tests.customers.factories import Records
from tests.field_tests.factories import (
    DC_PASSING,
    RP_PASSING,
    drawn_signature,
    recorded_test,
    submit_rp,
    submitted_test_id,
)


def _record(app, test_id) -> TestRecord:
    with app.extensions["flowtrack.db"].service() as s:
        return s.get(TestRecord, test_id)


def _report_text(browser, test_id) -> tuple[str, PdfReader]:
    pdf = browser.get(f"/tests/{test_id}/report.pdf")
    assert pdf.status_code == 200
    reader = PdfReader(io.BytesIO(pdf.data))
    return " ".join(page.extract_text() for page in reader.pages), reader


def _images(reader: PdfReader) -> set[bytes]:
    """The distinct pictures in a PDF (a page may list one picture twice)."""
    return {image.data for page in reader.pages for image in page.images}


def _tests_of(app, device) -> int:
    with app.extensions["flowtrack.db"].service() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(TestRecord).where(TestRecord.device_id == device.id))


@pytest.mark.parametrize("signature, message", [
    ("", "Sign the test before you submit it."),
    (drawn_signature(ink=False), "Sign the test before you submit it."),
    ("data:image/png;base64,not-base64!", "The signature did not come through"),
    ("data:image/gif;base64,R0lGODlhAQABAAAAACw=", "The signature did not come through"),
])
def test_a_test_without_the_testers_signature_is_not_submitted_and_nothing_typed_is_lost(
        app, technician, rp, kit, signature, message):
    response = submit_rp(technician, rp, kit, technician_signature=signature, notes="Relief valve spits at 2.8")
    assert response.status_code == 422
    assert message in response.text
    assert 'value="6.2"' in response.text and "Relief valve spits at 2.8" in response.text
    assert _tests_of(app, rp) == 0


def test_the_tester_signs_and_the_report_prints_the_signature(app, technician, rp, kit, run_worker):
    test_id = submitted_test_id(submit_rp(technician, rp, kit))
    page = technician.get(f"/tests/{test_id}").text
    assert f"/tests/{test_id}/signatures/technician" in page
    signature = technician.get(f"/tests/{test_id}/signatures/technician")
    assert signature.status_code == 200 and Image.open(io.BytesIO(signature.data)).format == "PNG"
    assert technician.get(f"/tests/{test_id}/signatures/customer").status_code == 404  # none was asked for
    run_worker()
    text, reader = _report_text(technician, test_id)
    assert "Tester's signature" in text and "Customer's signature" not in text
    assert len(_images(reader)) == 1


def test_where_the_district_asks_the_customer_signs_too(app, office, technician, rp, kit, dairy, run_worker):
    district_id = dairy.district_id
    edit = office.get(f"/districts/{district_id}/edit")
    assert ("Reports carry the customer&#39;s signature" in edit.text
            or "Reports carry the customer's signature" in edit.text)
    assert office.submit(f"/districts/{district_id}/edit", {
        "name": "Springfield Utility Board", "test_interval_months": "12", "due_anchor": "last_test",
        "early_window_days": "0", "requires_customer_signature": "y"}).status_code == 303
    form = technician.get(f"/devices/{rp.id}/tests/new").text
    assert 'name="customer_signature"' in form and 'name="customer_signer_name"' in form

    unsigned = submit_rp(technician, rp, kit)
    assert unsigned.status_code == 422
    assert "asks for the customer's signature" in unsigned.text.replace("&#39;", "'")
    assert "Write the name of the person who signed." in unsigned.text

    test_id = submitted_test_id(submit_rp(technician, rp, kit, customer_signature=drawn_signature(width=400),
                                 customer_signer_name="Pat Alvarez"))
    assert _record(app, test_id).customer_signer_name == "Pat Alvarez"
    assert technician.get(f"/tests/{test_id}/signatures/customer").status_code == 200
    run_worker()
    text, reader = _report_text(technician, test_id)
    assert "Customer's signature: Pat Alvarez" in text
    assert len(_images(reader)) == 2


def test_the_office_amends_a_test_and_the_original_is_kept(app, office, technician, rp, kit, run_worker):
    original_id = submitted_test_id(submit_rp(technician, rp, kit, notes="Typed 2.8 for relief"))
    form = office.get(f"/tests/{original_id}/amend")
    assert form.status_code == 200 and 'value="6.2"' in form.text and "Typed 2.8 for relief" in form.text

    no_reason = office.submit(f"/tests/{original_id}/amend", {
        "test_type": "annual", "gauge_id": str(kit.id), **RP_PASSING, "r_relief_opened_psid": "2.5"})
    assert no_reason.status_code == 422 and "Say what this amendment corrects." in no_reason.text
    assert 'value="2.5"' in no_reason.text  # what was typed stays

    amendment_id = submitted_test_id(office.submit(f"/tests/{original_id}/amend", {
        "test_type": "annual", "gauge_id": str(kit.id), **RP_PASSING, "r_relief_opened_psid": "2.5",
        "amendment_reason": "Relief opening was misread"}))
    original, amendment = _record(app, original_id), _record(app, amendment_id)
    assert original.readings["relief_opened_psid"] == "2.8" and original.amends_id is None
    assert amendment.readings["relief_opened_psid"] == "2.5" and str(amendment.amends_id) == original_id
    assert amendment.technician_id == original.technician_id and amendment.tested_at == original.tested_at
    assert amendment.technician_signature_key == original.technician_signature_key
    assert amendment.amendment_reason == "Relief opening was misread"

    assert "This test was amended" in office.get(f"/tests/{original_id}").text
    page = office.get(f"/tests/{amendment_id}").text
    assert "Relief opening was misread" in page and f"/tests/{original_id}" in page
    listing = office.get("/tests/").text
    assert f"/tests/{amendment_id}" in listing and f"/tests/{original_id}\"" not in listing
    with app.extensions["flowtrack.db"].service() as s:
        entry = s.scalar(sa.select(AuditEntry).where(AuditEntry.action == "test.amended",
                                                     AuditEntry.entity_id == amendment_id))
    assert entry.changes["amends"] == original_id and entry.changes["reason"] == "Relief opening was misread"

    run_worker()
    text, _ = _report_text(office, amendment_id)
    assert "Amended report" in text and "Relief opening was misread" in text and "2.5" in text


def test_an_amended_test_is_amended_again_through_its_newest_version(app, office, technician, rp, kit):
    original_id = submitted_test_id(submit_rp(technician, rp, kit))
    amendment_id = submitted_test_id(office.submit(f"/tests/{original_id}/amend", {
        "test_type": "annual", "gauge_id": str(kit.id), **RP_PASSING, "amendment_reason": "Kit serial"}))
    again = office.get(f"/tests/{original_id}/amend")
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/tests/{amendment_id}/amend")
    assert office.submit(f"/tests/{original_id}/amend", {
        "test_type": "annual", "gauge_id": str(kit.id), **RP_PASSING, "amendment_reason": "Twice"}).status_code == 303
    assert _tests_of(app, rp) == 2


def test_an_amendment_that_changes_the_result_moves_the_due_date(app, office, technician, acme, rp, kit):
    today = dt.datetime.now(zoneinfo.ZoneInfo(acme.company.timezone)).date()
    failed_id = submitted_test_id(submit_rp(technician, rp, kit, r_check1_psid="4.9"))
    with app.extensions["flowtrack.db"].service() as s:
        assert s.get(Device, rp.id).last_test_on < today
    passed_id = submitted_test_id(office.submit(f"/tests/{failed_id}/amend", {
        "test_type": "annual", "gauge_id": str(kit.id), **RP_PASSING, "amendment_reason": "Check 1 was 6.2"}))
    with app.extensions["flowtrack.db"].service() as s:
        assert s.get(Device, rp.id).last_test_on == today
    office.submit(f"/tests/{passed_id}/amend", {"test_type": "annual", "gauge_id": str(kit.id), **RP_PASSING,
                                               "r_check1_psid": "4.9", "amendment_reason": "It failed after all"})
    with app.extensions["flowtrack.db"].service() as s:
        assert s.get(Device, rp.id).last_test_on is None  # no passing test left on record


def test_a_technician_amends_only_their_own_tests(login, factory, acme, technician, rp, kit):
    test_id = submitted_test_id(submit_rp(technician, rp, kit))
    acme.members["second_tech"] = factory.member(acme.id, "technician")
    assert login(acme, "second_tech").get(f"/tests/{test_id}/amend").status_code == 404
    assert technician.get(f"/tests/{test_id}/amend").status_code == 200
    assert login(acme, "auditor").get(f"/tests/{test_id}/amend").status_code == 403


def _wait_for_a_blocked_insert(app, seconds=10.0):
    deadline = time.monotonic() + seconds
    with app.extensions["flowtrack.db"].service() as watcher:
        while not watcher.scalar(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")):
            assert time.monotonic() < deadline, "the second amendment never reached the database"
            time.sleep(0.02)
            watcher.rollback()


def test_two_people_amending_one_test_at_once_the_second_is_told(app, factory, acme):
    original = recorded_test(app, factory, acme)
    correction = services.Submission(test_type="annual", gauge_id=original.gauge_id, readings=DC_PASSING)
    office_id = acme.members["manager"].user_id
    records = Records(app)
    outcome = {}

    def second_person():
        try:
            with records.session(acme) as session:
                services.amend_test(session, session.get(TestRecord, original.id), office_id, correction, "Mine")
            outcome["second"] = "saved"
        except services.TestRefused as refused:
            outcome["second"] = refused.errors["amends"]

    with records.session(acme) as session:
        services.amend_test(session, session.get(TestRecord, original.id), office_id, correction, "First")
        second = threading.Thread(target=second_person)
        second.start()  # it checks, finds no amendment yet, then waits on the unique index for this commit
        _wait_for_a_blocked_insert(app)
    second.join(timeout=10)
    assert outcome["second"].startswith("This test has just been amended by someone else")
