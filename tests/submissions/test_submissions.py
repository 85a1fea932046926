"""Test reports filed with each water district the way it takes them: by email, through our district view (where
the district admin accepts or rejects, and an amendment is resubmitted), or on the district's portal or paper (the
office marks them submitted, with the deadline in sight); held back with the reason when a check fails; the
district's fee on the customer's invoice when the company passes it on."""
import datetime as dt
import zoneinfo

import pytest

from flowtrack.field_tests.tasks import render_test_report
from flowtrack.models.customers import CustomerLocation, District
from flowtrack.models.field_tests import TestRecord
from tests.customers.factories import Records, records  # noqa: F401 (the fixture)
from tests.customers.test_customers import audit_entries
from tests.district_portal.factories import DC_FAILING, DistrictFactory
from tests.field_tests.factories import SIGNED, submitted_test_id
from tests.notifications.outbox import emails_to
from tests.scheduling.factories import planner  # noqa: F401 (the fixture)
from tests.submissions.factories import filed_test, submission_of


@pytest.fixture
def districts(app, factory) -> DistrictFactory:
    return DistrictFactory(app, factory)


def printed(app, tenant, record):
    with app.app_context():
        render_test_report(str(tenant.id), str(record.id))
    return record


def district_with(app, districts, tenant, **fields):
    """An area (a district and its district admin) that takes reports as told."""
    area = districts.area(tenant)
    with Records(app).session(tenant) as session:
        district = session.get(District, area.district.id)
        for name, value in fields.items():
            setattr(district, name, value)
    return area


def test_a_district_taking_email_gets_the_report_and_the_submission_says_so(app, factory, acme, office):
    address = f"reports-{acme.id.hex[:6]}@water.example"
    record, submission = filed_test(app, factory, acme, submission_method="email", report_email=address,
                                    deadline_days=5)
    assert (submission.status, submission.method) == ("submitted", "email")
    tested_on = record.tested_at.astimezone(zoneinfo.ZoneInfo(acme.company.timezone)).date()
    assert submission.due_on == tested_on + dt.timedelta(days=5)
    [email] = emails_to(app, address)
    assert email.attachment_key.endswith(f"{record.id}.pdf")
    page = office.get(f"/tests/{record.id}").text
    assert "Submitted" in page and "by email" in page
    assert [e.action for e in audit_entries(app, acme, "report_submission.submitted")][-1:] == \
        ["report_submission.submitted"]


def test_the_district_accepts_one_rejects_another_and_gets_the_amendment(app, acme, office, districts, login):
    area = district_with(app, districts, acme, submission_method="district_view")
    first = districts.tested(acme, districts.device(area), printed=True)
    second = districts.tested(acme, districts.device(area), printed=True)
    assert submission_of(app, first.id).status == submission_of(app, second.id).status == "submitted"

    district = app.test_client()
    district.sign_in_as(area.admin)
    waiting = district.get("/district/answers").text
    assert first.facts["device"]["serial"] in waiting and second.facts["device"]["serial"] in waiting
    assert district.submit(f"/district/tests/{first.id}/accept").status_code == 303
    assert submission_of(app, first.id).status == "accepted"

    refused = district.submit(f"/district/tests/{second.id}/reject", {"reason": ""})
    assert refused.status_code == 422 and "Say why" in refused.text
    assert district.submit(f"/district/tests/{second.id}/reject",
                           {"reason": "Check valve 1 reads 0.4 psid but the result says passed."}).status_code == 303
    rejected = submission_of(app, second.id)
    assert (rejected.status, rejected.decided_by) == ("rejected", area.admin.user_id)
    assert district.submit(f"/district/tests/{second.id}/accept").status_code == 303  # answered already
    assert submission_of(app, second.id).status == "rejected"

    # The office sees it come back, with the reason, on its list and its dashboard.
    listed = office.get(f"/submissions/districts/{area.district.id}").text
    assert "Check valve 1 reads 0.4 psid" in listed and "Amend the test" in listed
    assert "rejected by the district, to amend and send again" in office.get("/dashboard/").text

    amendment = printed(app, acme, districts.amended(acme, second, {"check1_psid": "2.4", "check2_psid": "1.8"}))
    resubmitted = submission_of(app, amendment.id)
    assert (resubmitted.status, resubmitted.resubmission_of) == ("submitted", rejected.id)
    assert "Resubmitted after an amendment" in district.get("/district/answers").text
    assert "Amend the test" not in office.get(f"/submissions/districts/{area.district.id}").text
    assert district.submit(f"/district/tests/{amendment.id}/accept").status_code == 303
    assert submission_of(app, amendment.id).status == "accepted"
    assert [e.changes["decision_reason"]["after"] for e in audit_entries(app, acme, "report_submission.rejected")] \
        == ["Check valve 1 reads 0.4 psid but the result says passed."]


def test_the_districts_rules_accept_a_clean_report_by_themselves(app, acme, districts):
    area = district_with(app, districts, acme, submission_method="district_view", auto_accept=True)
    clean = districts.tested(acme, districts.device(area), printed=True)
    failed = districts.tested(acme, districts.device(area), readings=DC_FAILING, printed=True)
    accepted = submission_of(app, clean.id)
    assert (accepted.status, accepted.auto_accepted, accepted.decided_by) == ("accepted", True, None)
    assert submission_of(app, failed.id).status == "submitted"  # a person looks at a failure


def test_reports_for_a_portal_or_paper_wait_for_the_office_with_their_deadline(app, factory, acme, office):
    record, submission = filed_test(app, factory, acme, submission_method="district_portal", deadline_days=5,
                                    portal_url="https://backflow.water.example/")
    assert submission.status == "to_submit"
    page = office.get(f"/submissions/districts/{submission.district_id}").text
    assert "5 days left" in page and "Open the district's portal" in page
    assert "To submit" in office.get("/submissions/").text

    submitted = office.submit(f"/submissions/{submission.id}/submitted", {"confirmation_number": "SUB-20931"})
    assert submitted.status_code == 303
    filed = submission_of(app, record.id)
    assert (filed.status, filed.confirmation_number, filed.submitted_by) == \
        ("submitted", "SUB-20931", acme.members["manager"].user_id)
    again = office.submit(f"/submissions/{submission.id}/submitted", {}, follow_redirects=True)
    assert "not waiting to be submitted" in again.text

    no_reason = office.submit(f"/submissions/{submission.id}/outcome", {"outcome": "rejected"})
    assert no_reason.status_code == 422 and "Say why the report is rejected" in no_reason.text
    assert office.submit(f"/submissions/{submission.id}/outcome", {"outcome": "accepted"}).status_code == 303
    assert submission_of(app, record.id).status == "accepted"


def test_an_overdue_report_is_flagged_on_the_dashboard(app, acme, office, districts):
    area = district_with(app, districts, acme, submission_method="paper", deadline_days=2)
    record = districts.tested(acme, districts.device(area), days_ago=5, printed=True)
    assert submission_of(app, record.id).due_on < dt.date.today()
    assert "past the district's deadline" in office.get("/dashboard/").text
    assert "overdue" in office.get(f"/submissions/districts/{area.district.id}").text


def test_a_report_missing_what_the_district_requires_is_held_back_until_fixed(app, acme, office, districts):
    area = district_with(app, districts, acme, submission_method="district_view",
                         required_fields=["water_account_number"])
    device = districts.device(area)
    record = districts.tested(acme, device, printed=True)
    held = submission_of(app, record.id)
    assert held.status == "held"
    assert held.held_reasons == [f"Water account number is missing: {area.district.name} requires it."]
    page = office.get(f"/submissions/districts/{area.district.id}").text
    assert "Water account number is missing" in page and "Held back" in page
    assert "Water account number is missing" in office.get(f"/tests/{record.id}").text

    still = office.submit(f"/submissions/{held.id}/check", follow_redirects=True)
    assert "Still held back" in still.text
    with Records(app).session(acme) as session:
        session.get(CustomerLocation, device.location_id).water_account_number = "WA-77120"
    sent = office.submit(f"/submissions/{held.id}/check", follow_redirects=True)
    assert "It passes the checks now: sent." in sent.text
    assert submission_of(app, record.id).status == "submitted"


def test_a_kit_out_of_calibration_on_the_day_holds_the_report_back(app, factory, acme, districts):
    area = district_with(app, districts, acme, submission_method="email", report_email="r@water.example")
    record = districts.tested(acme, districts.device(area))
    with Records(app).session(acme) as session:  # as if the kit's calibration had run out the day before the test
        stored = session.get(TestRecord, record.id)
        tested_on = record.tested_at.astimezone(zoneinfo.ZoneInfo(acme.company.timezone)).date()
        stored.facts = {**stored.facts, "gauge": {**stored.facts["gauge"], "calibration_due_on":
                                                  (tested_on - dt.timedelta(days=1)).isoformat()}}
    printed(app, acme, record)
    held = submission_of(app, record.id)
    assert held.status == "held" and "was due for calibration" in held.held_reasons[0]
    assert emails_to(app, "r@water.example") == []  # held back: not sent


def test_a_district_that_wants_no_failed_tests_gets_none(app, acme, districts):
    area = district_with(app, districts, acme, submission_method="district_view", wants_failed=False)
    failed = districts.tested(acme, districts.device(area), readings=DC_FAILING, printed=True)
    assert submission_of(app, failed.id) is None


def test_the_districts_fee_is_on_the_customers_invoice_when_passed_on(
        app, acme, office, technician, planner, records):  # noqa: F811 (the fixtures)
    district = records.district(acme, submission_method="district_portal", fee_cents=495, fee_passed_on=True)
    device = records.device(acme, records.location(acme, district_id=district.id), device_type="DC")
    job = planner.assign(acme, device)
    technician_form = {"test_type": "annual", "gauge_id": str(records.gauge(acme).id), "r_check1_psid": "2.4",
                       "r_check2_psid": "1.8", **SIGNED}
    test_id = submitted_test_id(technician.submit(f"/devices/{device.id}/tests/new", technician_form))
    with app.app_context():
        render_test_report(str(acme.id), test_id)
    invoiced = office.submit(f"/work-orders/{job.work_order_id}/invoice", follow_redirects=True)
    assert invoiced.status_code == 200
    assert f"{district.name} filing fee (DC {device.serial})" in invoiced.text and "$4.95" in invoiced.text
