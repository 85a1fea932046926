"""A failed assembly is followed to the end: it reads "Failed: needs repair" wherever people look, the customer is
told what failed and what comes next, the office finds it on one list and plans the repair and retest, and the
passing retest closes it and sets the next due date."""
import datetime as dt
import secrets

import sqlalchemy as sa

from flowtrack.models.customers import Device
from flowtrack.models.scheduling import ScheduledJob, WorkOrder
from tests.customers.test_customers import audit_entries
from tests.field_tests.factories import RP_PASSING, submitted_test_id
from tests.field_tests.factories import submit_rp as _submit
from tests.notifications.outbox import emails_to


def _device(app, device_id) -> Device:
    with app.extensions["flowtrack.db"].service() as session:
        return session.get(Device, device_id)


def test_a_failed_assembly_is_marked_everywhere_planned_for_repair_and_closed_by_a_passing_retest(
        app, office, technician, records, acme, rp, kit, dairy):
    address = f"ops-{secrets.token_hex(3)}@harbordairy.example"  # the suite's mail is all in one outbox
    with records.session(acme) as session:  # the customer has an address to be told at
        session.get(Device, rp.id).location.customer.email = address
    due_before = _device(app, rp.id).next_test_due
    submitted_test_id(_submit(technician, rp, kit, r_relief_opened_psid="1.9"))
    failed = _device(app, rp.id)
    assert failed.failed_on is not None and failed.next_test_due == due_before
    day = f"{failed.failed_on:%b} {failed.failed_on.day}, {failed.failed_on.year}"

    # Everyone who looks at it sees that it failed, not a date a year out.
    assert f"Failed {day}: needs repair" in office.get(f"/devices/{rp.id}").text
    assert f"Failed {day}: needs repair" in office.get(f"/customers/{dairy.customer_id}").text
    listing = office.get("/due/needs-repair").text
    assert "RP-4512" in listing and "Harbor Dairy" in listing and "Springfield Utility Board" in listing
    dashboard = office.get("/dashboard/").text
    assert "1</strong> assembly failed and needs repair" in dashboard
    with app.extensions["flowtrack.db"].service() as session:
        job_id = session.scalar(sa.select(ScheduledJob.id).where(ScheduledJob.company_id == acme.id))
    job_page = technician.get(f"/jobs/{job_id}").text
    assert "Failed: needs repair" in job_page and "Passed" not in job_page

    # The customer is told what failed, what the district requires and what happens next.
    [mail] = emails_to(app, address)
    assert "RP-4512" in mail.subject and "failed" in mail.subject
    assert "Relief valve" in mail.body or "relief" in mail.body.lower()
    assert "Springfield Utility Board requires a failed assembly to be repaired and to pass a retest" in mail.body
    assert "will contact you to plan the repair and retest" in mail.body
    assert audit_entries(app, acme, "customer.failure_notified")

    # The technician's job is finished; the office plans the repair and retest from the list.
    with records.session(acme) as session:
        session.execute(sa.update(WorkOrder).where(WorkOrder.company_id == acme.id).values(status="completed"))
    planned = office.submit("/due/plan", {"devices": [str(rp.id)], "kind": "repair"}, follow_redirects=True)
    assert "1 work order created" in planned.text
    with app.extensions["flowtrack.db"].service() as session:
        order = session.scalar(sa.select(WorkOrder).where(WorkOrder.company_id == acme.id, WorkOrder.kind == "repair"))
        assert [line.description for line in order.lines] == ["Backflow test, RP, serial RP-4512"]
    assert "planned" in office.get("/due/needs-repair").text

    # A passing retest takes it off the list and moves its due date on.
    submitted_test_id(_submit(technician, rp, kit, test_type="repair_retest", repairs=["replaced disc"]))
    fixed = _device(app, rp.id)
    assert fixed.failed_on is None and fixed.next_test_due > dt.date.today() + dt.timedelta(days=300)
    assert "RP-4512" not in office.get("/due/needs-repair").text
    assert "needs repair" not in office.get(f"/devices/{rp.id}").text


def test_a_failed_test_with_a_passing_retest_on_the_spot_is_no_failure(app, technician, rp, kit):
    submitted_test_id(_submit(technician, rp, kit, r_check1_psid="4.1", repairs=["replaced disc"],
                     **{f"retest_{k}": v for k, v in RP_PASSING.items()}))
    assert _device(app, rp.id).failed_on is None


def test_an_amendment_decides_whether_the_assembly_failed(app, office, technician, rp, kit):
    original = submitted_test_id(_submit(technician, rp, kit))
    assert _device(app, rp.id).failed_on is None
    failing = submitted_test_id(office.submit(f"/tests/{original}/amend", {
        "test_type": "annual", "gauge_id": str(kit.id), **RP_PASSING, "r_relief_opened_psid": "1.9",
        "amendment_reason": "Relief opening was misread"}))
    assert _device(app, rp.id).failed_on is not None
    submitted_test_id(office.submit(f"/tests/{failing}/amend", {
        "test_type": "annual", "gauge_id": str(kit.id), **RP_PASSING,
        "amendment_reason": "The first reading was right after all"}))
    assert _device(app, rp.id).failed_on is None


def test_the_needs_repair_list_is_the_offices_and_another_companys_failures_stay_out_of_it(
        app, login, bravo, records, technician, rp, kit):
    submitted_test_id(_submit(technician, rp, kit, r_relief_opened_psid="1.9"))
    assert "RP-4512" not in login(bravo, "manager").get("/due/needs-repair").text
    assert login(bravo, "technician").get("/due/needs-repair").status_code == 403
