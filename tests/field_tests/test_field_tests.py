"""A technician tests assemblies on a phone: the form fits the type, pass/fail shows live, the server judges,
unfit kits and lapsed certifications are refused, the record locks, the device's due date moves on, and the
worker prints the report."""
import datetime as dt
import io
import re
import zoneinfo

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from flowtrack.districts import services as districts
from flowtrack.models.audit import AuditEntry
from flowtrack.models.customers import Device, District, Gauge
from flowtrack.models.field_tests import TestRecord
from tests.field_tests.factories import RP_PASSING, SIGNED, submitted_test_id
from tests.field_tests.factories import submit_rp as _submit


def _stored(app, test_id):
    with app.extensions["flowtrack.db"].service() as s:
        return s.get(TestRecord, test_id)


def test_the_form_asks_exactly_for_the_readings_of_the_assembly_type(technician, records, acme, rp, dairy):
    page = technician.get(f"/devices/{rp.id}/tests/new")
    assert page.status_code == 200
    for name in ("r_check1_psid", "r_relief_opened_psid", "r_check2_psid", "r_check2_closed_tight", "r_shutoff2_held"):
        assert f'name="{name}"' in page.text
    assert 'name="r_check_psid"' not in page.text
    pvb = records.device(acme, dairy, device_type="PVB")
    page = technician.get(f"/devices/{pvb.id}/tests/new")
    assert 'name="r_air_inlet_opened_psid"' in page.text and 'name="r_check_psid"' in page.text
    assert 'name="r_check1_psid"' not in page.text
    assert 'inputmode="decimal"' in page.text and "psid" in page.text


def test_a_passing_test_is_recorded_locked_audited_and_moves_the_due_date(app, technician, acme, rp, kit):
    response = _submit(technician, rp, kit)
    assert response.status_code == 303
    test_id = submitted_test_id(response)
    record = _stored(app, test_id)
    assert record.result == "pass" and record.initial_result == "pass"
    assert record.readings["check1_psid"] == "6.2"
    assert record.facts["gauge"]["serial"] == "G-1001" and record.facts["district"] == "Springfield Utility Board"
    with app.extensions["flowtrack.db"].service() as s:
        device = s.get(Device, rp.id)
        actions = s.scalars(sa.select(AuditEntry.action).where(AuditEntry.company_id == acme.id)).all()
    company_today = dt.datetime.now(zoneinfo.ZoneInfo(acme.company.timezone)).date()
    assert device.last_test_on == company_today  # the day where the company is, not the server's
    assert device.next_test_due > company_today + dt.timedelta(days=300)
    assert "test.submitted" in actions and "device.updated" in actions
    page = technician.get(f"/tests/{test_id}")
    assert page.status_code == 200 and "Passed" in page.text and "6.2" in page.text


def test_a_submitted_test_cannot_be_changed_even_by_sql_as_the_app(app, technician, rp, kit):
    test_id = submitted_test_id(_submit(technician, rp, kit))
    engine = app.extensions["flowtrack.db"].app_engine
    with engine.connect() as connection, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        connection.execute(sa.text("UPDATE test_records SET result = 'fail' WHERE id = :id"), {"id": test_id})


def test_a_failed_test_with_repairs_and_a_passing_retest_passes_in_one_record(app, technician, rp, kit):
    response = _submit(technician, rp, kit, r_check1_psid="4.1", repairs=["replaced disc", "cleaned seat"],
                       **{f"retest_{k}": v for k, v in RP_PASSING.items()})
    record = _stored(app, submitted_test_id(response))
    assert record.initial_result == "fail" and record.result == "pass"
    assert record.repairs == ["replaced disc", "cleaned seat"]
    assert record.retest_readings["check1_psid"] == "6.2"


def test_a_failed_test_without_a_retest_fails_and_leaves_the_due_date(app, technician, rp, kit):
    before = rp.next_test_due
    response = _submit(technician, rp, kit, r_relief_opened_psid="1.9")
    record = _stored(app, submitted_test_id(response))
    assert record.result == "fail"
    assert any(c["key"] == "relief_opened_psid" and not c["passed"] for c in record.checks)
    with app.extensions["flowtrack.db"].service() as s:
        assert s.get(Device, rp.id).next_test_due == before


def test_missing_or_malformed_readings_are_refused_next_to_the_field_and_keep_what_was_typed(app, technician, rp, kit):
    response = _submit(technician, rp, kit, r_check2_psid="", r_relief_opened_psid="abc")
    assert response.status_code == 422
    assert re.search(r'id="r_check2_psid-errors"><li>Missing', response.text)
    assert re.search(r'id="r_relief_opened_psid-errors"><li>Not a number', response.text)
    assert 'value="6.2"' in response.text  # check valve 1 as typed
    with app.extensions["flowtrack.db"].service() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(TestRecord).where(TestRecord.device_id == rp.id)) == 0


def test_a_kit_past_its_calibration_due_date_is_refused_with_a_clear_message(technician, records, acme, rp):
    stale = records.gauge(acme, serial="G-OLD", last_calibrated_on=dt.date.today() - dt.timedelta(days=400),
                          calibration_due_on=dt.date.today() - dt.timedelta(days=35))
    response = _submit(technician, rp, stale)
    assert response.status_code == 422
    assert "Test kit G-OLD was due for calibration on" in response.text
    assert "Use a calibrated kit" in response.text


def _offered_kit(technician, device) -> str | None:
    page = technician.get(f"/devices/{device.id}/tests/new").text
    kits = re.search(r'<select id="gauge_id".*?</select>', page, re.S).group(0)
    chosen = re.search(r'<option selected value="([^"]+)">', kits)
    return chosen.group(1) if chosen else None


def test_the_form_offers_the_last_calibrated_kit_the_technician_used(app, technician, records, acme, rp, dairy):
    first, second = records.gauge(acme, serial="G-2001"), records.gauge(acme, serial="G-2002")
    assert _offered_kit(technician, rp) is None  # two kits and none used yet: the technician chooses
    submitted_test_id(_submit(technician, rp, second))
    other = records.device(acme, dairy, device_type="RP")
    assert _offered_kit(technician, other) == str(second.id)
    with app.extensions["flowtrack.db"].service() as s:  # the van's kit runs out of calibration
        s.execute(sa.update(Gauge).where(Gauge.id == second.id)
                  .values(last_calibrated_on=dt.date.today() - dt.timedelta(days=400),
                          calibration_due_on=dt.date.today() - dt.timedelta(days=40)))
        s.commit()
    page = technician.get(f"/devices/{other.id}/tests/new").text
    assert re.search(r'<option disabled value="[^"]+">G-2002 Midwest: calibration was due', page)
    assert _offered_kit(technician, other) == str(first.id)  # the one calibrated kit left


def test_a_technician_with_a_lapsed_certification_cannot_submit(app, login, factory, acme, rp, kit, planner,
                                                                 dairy):
    lapsed = factory.member(acme.id, "technician", certification_number="BAT-9",
                            certification_expires_on=dt.date.today() - dt.timedelta(days=2))
    planner.assign(acme, location=dairy, technician=lapsed)
    acme.members["lapsed"] = lapsed
    browser = login(acme, "lapsed")
    response = _submit(browser, rp, kit)
    assert response.status_code == 422
    assert "Your tester certification expired on" in response.text
    assert browser.get(f"/devices/{rp.id}/tests/new").status_code == 200  # may still look at the form


def test_removed_and_capped_needs_no_readings_and_retires_the_device(app, technician, rp):
    response = technician.submit(f"/devices/{rp.id}/tests/new", {"test_type": "removed_capped",
                                                                 "notes": "Line abandoned", **SIGNED})
    assert response.status_code == 303
    with app.extensions["flowtrack.db"].service() as s:
        device = s.get(Device, rp.id)
    assert device.status == "removed" and device.next_test_due is None


def test_the_worker_prints_the_report_with_readings_and_result(app, technician, acme, rp, kit, run_worker):
    test_id = submitted_test_id(_submit(technician, rp, kit))
    certification = _stored(app, test_id).facts["certification_number"]
    waiting = technician.htmx("get", f"/tests/{test_id}/report")
    assert "Waiting for a worker" in waiting.text and 'hx-trigger="load delay:1s"' in waiting.text
    assert technician.get(f"/tests/{test_id}/report.pdf").status_code == 404
    run_worker()
    ready = technician.htmx("get", f"/tests/{test_id}/report")
    assert "Download the test report" in ready.text
    pdf = technician.get(f"/tests/{test_id}/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for expected in ("RP-4512", "Harbor Dairy", "120 Main St", "Springfield Utility Board", "6.2", "2.8", "1.6",
                     "PASSED", "G-1001", certification, "Tester's signature"):
        assert expected in text, expected


def test_a_district_form_is_used_and_cannot_reach_the_network(technician, records, acme, kit, run_worker,
                                                              planner):
    district = records.district(acme, name="Eugene Water")
    with records.session(acme) as session:
        districts.save_report_form(session, session.get(District, district.id), (
            '<h1>EWEB cross-connection report</h1><img src="http://127.0.0.1:9/probe.png">'
            '<p>{{ device.serial }} {{ test.result|upper }} {{ tester.name }}</p>'))
    device = records.device(acme, records.location(acme, district_id=district.id), device_type="DC", serial="DC-77")
    planner.assign(acme, device)
    response = technician.submit(f"/devices/{device.id}/tests/new", {
        "test_type": "annual", "gauge_id": str(kit.id), "r_check1_psid": "2.1", "r_check2_psid": "1.4", **SIGNED})
    test_id = submitted_test_id(response)
    run_worker()
    pdf = technician.get(f"/tests/{test_id}/report.pdf")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "EWEB cross-connection report" in text and "DC-77 PASS" in text


def test_technicians_see_only_their_own_tests(app, login, factory, acme, technician, rp, kit):
    test_id = submitted_test_id(_submit(technician, rp, kit))
    acme.members["other_tech"] = factory.member(acme.id, "technician")
    other = login(acme, "other_tech")
    assert other.get(f"/tests/{test_id}").status_code == 404
    assert other.get(f"/tests/{test_id}/report.pdf").status_code == 404
    assert "RP-4512" not in other.get("/tests/").text
    assert "RP-4512" in technician.get("/tests/").text
    office = login(acme, "manager")
    assert office.get(f"/tests/{test_id}").status_code == 200


@pytest.mark.parametrize("role", ["auditor", "customer", "district_admin"])
def test_other_roles_cannot_record_or_read_tests(login, acme, rp, role):
    browser = login(acme, role)
    assert browser.get(f"/devices/{rp.id}/tests/new").status_code == 403
    assert browser.submit(f"/devices/{rp.id}/tests/new", {"test_type": "annual"}).status_code == 403
    assert browser.get("/tests/").status_code == 403
