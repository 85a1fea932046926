"""A customer asks for service from the portal and follows the answer; the office turns the request into a work
order with its devices chosen, or declines it with a reason the customer reads."""
import sqlalchemy as sa

from flowtrack.models.scheduling import WorkOrder, WorkOrderDevice
from flowtrack.models.service_requests import ServiceRequest
from tests.customers.test_customers import audit_entries
from tests.notifications.outbox import last_email
from tests.service_requests.factories import asked, portal_customer


def _portal(app, member):
    browser = app.test_client()
    browser.sign_in_as(member)
    return browser


def _stored(app, request_id) -> ServiceRequest:
    with app.extensions["flowtrack.db"].service() as session:
        return session.get(ServiceRequest, request_id)


def _the_request(app, tenant) -> ServiceRequest:
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalars(sa.select(ServiceRequest).where(ServiceRequest.company_id == tenant.id)
                               .order_by(ServiceRequest.created_at.desc())).first()


def test_a_customer_asks_for_a_repair_and_the_office_makes_a_work_order_of_it(app, factory, acme, login):
    customer, member, [(harbor, rp), (dock, _)] = portal_customer(app, factory, acme)
    portal = _portal(app, member)
    form = portal.get("/portal/requests/new")
    assert form.status_code == 200
    assert harbor.address_line1 in form.text and dock.address_line1 in form.text and rp.serial in form.text
    sent = portal.submit("/portal/requests/new", {"kind": "repair", "location": str(harbor.id),
                                                  "devices": str(rp.id), "notes": "The relief valve drips."})
    assert sent.status_code == 303 and sent.headers["Location"].endswith("/portal/requests/")
    mine = portal.get("/portal/requests/").text
    assert "A repair" in mine and "Waiting for the office" in mine and "The relief valve drips." in mine

    office = login(acme, "manager")
    queue = office.get("/requests/").text
    assert "Harbor Dairy" in queue and harbor.address_line1 in queue and "waiting 0 minutes" in queue
    request = _the_request(app, acme)
    page = office.get(f"/requests/{request.id}").text
    assert rp.serial in page and '<option selected value="repair">' in page  # a repair request makes repair work
    assert f'<input checked id="devices-0" name="devices" type="checkbox" value="{rp.id}">' in page
    assert office.submit(f"/requests/{request.id}/convert", {"kind": "repair", "devices": str(rp.id)}).status_code \
        == 303

    answered = _stored(app, request.id)
    assert answered.status == "converted" and answered.decided_by == acme.members["manager"].user_id
    with app.extensions["flowtrack.db"].service() as session:
        order = session.get(WorkOrder, answered.work_order_id)
        devices = session.scalars(sa.select(WorkOrderDevice.device_id)
                                  .where(WorkOrderDevice.work_order_id == order.id)).all()
    assert (order.location_id, order.kind, devices) == (harbor.id, "repair", [rp.id])
    assert "The relief valve drips." in order.notes
    email = last_email(app, member.email)
    assert email.subject == "Your request: a repair" and harbor.address_line1 in email.body
    assert "Work order made" in portal.get("/portal/requests/").text
    assert [e.action for e in audit_entries(app, acme, "service_request.created")] == ["service_request.created"]
    assert len(audit_entries(app, acme, "service_request.converted")) == 1
    # Answered once: a second answer changes nothing.
    again = office.submit(f"/requests/{request.id}/decline", {"reason": "Too late"}, follow_redirects=True)
    assert "Someone answered this request already." in again.text and _stored(app, request.id).status == "converted"


def test_the_office_declines_with_a_reason_the_customer_reads(app, factory, acme, login):
    customer, member, [(harbor, rp), _] = portal_customer(app, factory, acme)
    request = asked(app, factory, acme, kind="install", member=member, customer=customer, place=harbor)
    office = login(acme, "coordinator")  # reads and declines; making a work order (prices) is not theirs
    page = office.get(f"/requests/{request.id}").text
    assert "Make the work order" not in page and "A manager or a scheduler makes the work order" in page
    assert office.submit(f"/requests/{request.id}/convert", {"kind": "install"}).status_code == 403
    empty = office.submit(f"/requests/{request.id}/decline", {"reason": "  "})
    assert empty.status_code == 422 and "Say why, for the customer." in empty.text
    assert office.submit(f"/requests/{request.id}/decline",
                         {"reason": "We do not install assemblies larger than 4 inches."}).status_code == 303
    assert _stored(app, request.id).status == "declined"
    mine = _portal(app, member).get("/portal/requests/").text
    assert "Declined" in mine and "We do not install assemblies larger than 4 inches." in mine
    assert "larger than 4 inches" in last_email(app, member.email).body
    assert audit_entries(app, acme, "service_request.declined")[0].changes == {
        "reason": "We do not install assemblies larger than 4 inches."}


def test_bad_requests_get_a_message_and_keep_what_was_typed(app, factory, acme):
    customer, member, [(harbor, rp), (dock, dc)] = portal_customer(app, factory, acme)
    portal = _portal(app, member)
    wrong_place = portal.submit("/portal/requests/new", {"kind": "test", "location": str(harbor.id),
                                                         "devices": str(dc.id), "notes": "Gate code 2468"})
    assert wrong_place.status_code == 422
    assert "Tick only devices at the place you chose." in wrong_place.text and "Gate code 2468" in wrong_place.text
    no_kind = portal.submit("/portal/requests/new", {"location": str(harbor.id), "notes": "x" * 2001})
    assert no_kind.status_code == 422
    assert "Choose what you need." in no_kind.text and "2000 characters" in no_kind.text
    assert _the_request(app, acme) is None


def test_another_customers_place_or_device_is_not_found(app, factory, acme, bravo):
    _, member, [(harbor, rp), _] = portal_customer(app, factory, acme)
    _, _, [(neighbour, their_rp), _] = portal_customer(app, factory, acme, name="Neighbour Foods")
    _, _, [(elsewhere, far_rp), _] = portal_customer(app, factory, bravo)
    portal = _portal(app, member)
    for location, device in ((neighbour.id, None), (elsewhere.id, None), (harbor.id, their_rp.id),
                             (harbor.id, far_rp.id), ("not-an-id", None), (harbor.id, "not-an-id")):
        form = {"kind": "repair", "location": str(location), **({"devices": str(device)} if device else {})}
        assert portal.submit("/portal/requests/new", form).status_code == 404, form
    assert _the_request(app, acme) is None


def test_a_portal_sign_in_without_a_customer_asks_nothing(app, acme, login):
    unlinked = login(acme, "customer")
    assert "not linked to a customer account" in unlinked.get("/portal/requests/").text
    assert "No place of yours is on record" in unlinked.get("/portal/requests/new").text
    assert unlinked.submit("/portal/requests/new", {"kind": "repair", "location": "x"}).status_code == 404
    assert unlinked.get("/requests/").status_code == 403


def test_a_test_asked_without_naming_assemblies_gets_the_ones_the_office_ticks(app, factory, acme, login):
    customer, member, [(harbor, rp), _] = portal_customer(app, factory, acme)
    request = asked(app, factory, acme, kind="test", member=member, customer=customer, place=harbor, devices=[],
                    notes="Our annual test is due, I think.")
    office = login(acme, "scheduler")
    nothing = office.submit(f"/requests/{request.id}/convert", {"kind": "test"})
    assert nothing.status_code == 422 and "Choose at least one device to test." in nothing.text
    assert office.submit(f"/requests/{request.id}/convert", {"kind": "test", "devices": str(rp.id)}).status_code \
        == 303
    with app.extensions["flowtrack.db"].service() as session:
        order_id = _stored(app, request.id).work_order_id
        assert session.scalars(sa.select(WorkOrderDevice.device_id)
                               .where(WorkOrderDevice.work_order_id == order_id)).all() == [rp.id]
