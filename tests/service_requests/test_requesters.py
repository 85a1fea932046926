"""A customer's property manager signs in as a Requester: asks for service at the customer's places with photos of
what they see, and follows each request; the office sees the photos, is emailed when a request arrives, and decides
whether the requester sees the customer's invoices."""
import io
import secrets

import sqlalchemy as sa

from flowtrack.companies.services import settings_of
from flowtrack.models.accounts import Profile
from flowtrack.models.service_requests import ServiceRequest, ServiceRequestPhoto
from tests.customers.test_customers import audit_entries
from tests.factories import file_store
from tests.field_tests.factories import camera_photo
from tests.invoices.factories import printed_invoice
from tests.notifications.outbox import emails_to, last_email, link_in
from tests.service_requests.factories import asked, portal_customer, requester


def _signed_in(app, member):
    browser = app.test_client()
    browser.sign_in_as(member)
    return browser


def _office_address(app, tenant) -> str:
    """The company's own email in its settings (each story its own: the companies outlive one story)."""
    email = f"office-{secrets.token_hex(4)}@acme-backflow.example"
    with app.extensions["flowtrack.db"].service() as session:
        session.info["company_id"] = tenant.id
        details = settings_of(session)
        details.company_id, details.email = tenant.id, email
        session.add(details)
        session.commit()
    return email


def _requests_of(app, tenant) -> list[ServiceRequest]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(ServiceRequest).where(ServiceRequest.company_id == tenant.id)))


def _photos_of(app, request_id) -> list[ServiceRequestPhoto]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(ServiceRequestPhoto).where(ServiceRequestPhoto.request_id == request_id)))


def _form_key(page: str) -> str:
    return page.split('name="form_key" type="hidden" value="', 1)[1].split('"', 1)[0]


def _ask(browser, place, *, photos=(), kind="test", key=None, **fields):
    data = {"kind": kind, "location": str(place.id), "notes": "Gate code 2468; mornings are best.", **fields,
            "photos": [(io.BytesIO(content), name) for name, content in photos]}
    if key:
        data["form_key"] = key
    return browser.submit("/portal/requests/new", data, content_type="multipart/form-data")


def test_a_requester_asks_for_service_with_a_photo_and_the_office_sees_it(app, factory, acme, login):
    office_address = _office_address(app, acme)
    customer, _, [(harbor, rp), (dock, dc)] = portal_customer(app, factory, acme, name="Harbor View Apartments")
    manager = requester(factory, acme, customer)
    portal = _signed_in(app, manager)
    home = portal.get("/portal/", follow_redirects=True).text
    assert "Harbor View Apartments" in home and "Ask for service" in home and dc.serial in home
    form = portal.get("/portal/requests/new").text
    assert harbor.address_line1 in form and dock.address_line1 in form and 'enctype="multipart/form-data"' in form

    sent = _ask(portal, dock, devices=str(dc.id), photos=[("valve.jpg", camera_photo())], key=_form_key(form))
    assert sent.status_code == 303 and sent.headers["Location"].endswith("/portal/requests/")
    [request] = _requests_of(app, acme)
    [photo] = _photos_of(app, request.id)
    assert (request.location_id, request.device_ids, request.requested_by) == (dock.id, [dc.id], manager.user_id)
    assert photo.width == 1600  # kept as the photos of devices are: shrunk, re-encoded, EXIF gone

    mine = portal.get("/portal/requests/").text
    assert "A test that is due" in mine and "Waiting for the office" in mine
    page = portal.get(f"/portal/requests/{request.id}").text
    assert dock.address_line1 in page and dc.serial in page and "Gate code 2468" in page
    assert f"/portal/requests/photos/{photo.id}/thumbnail" in page
    thumbnail = portal.get(f"/portal/requests/photos/{photo.id}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"

    office = login(acme, "coordinator")
    detail = office.get(f"/requests/{request.id}").text
    assert f"/requests/photos/{photo.id}/thumbnail" in detail and "Harbor View Apartments" in detail
    assert office.get(f"/requests/photos/{photo.id}").data == file_store(app).get(photo.key)
    letter = last_email(app, office_address)
    assert letter.subject == "Service request from Harbor View Apartments"
    assert dock.address_line1 in letter.body and link_in(letter.body) == f"/requests/{request.id}"
    [created] = audit_entries(app, acme, "service_request.created")
    assert created.actor_user_id == manager.user_id and created.changes["photos"] == [str(photo.id)]


def test_without_an_office_address_the_people_who_answer_requests_are_emailed(app, factory, acme):
    customer, member, [(harbor, _), _] = portal_customer(app, factory, acme)
    _ask(_signed_in(app, member), harbor, kind="repair")
    told = {role for role, person in acme.members.items() if emails_to(app, person.email)}
    assert told == {"company_admin", "manager", "scheduler", "coordinator"}  # who may see service requests


def test_a_double_click_on_send_makes_one_request(app, factory, acme):
    office_address = _office_address(app, acme)
    customer, member, [(harbor, _), _] = portal_customer(app, factory, acme)
    portal = _signed_in(app, member)
    key = _form_key(portal.get("/portal/requests/new").text)
    first = _ask(portal, harbor, photos=[("a.jpg", camera_photo(800, 600))], key=key)
    second = _ask(portal, harbor, photos=[("a.jpg", camera_photo(800, 600))], key=key)
    assert first.status_code == second.status_code == 303
    [request] = _requests_of(app, acme)
    assert len(_photos_of(app, request.id)) == 1 and len(emails_to(app, office_address)) == 1
    assert len(audit_entries(app, acme, "service_request.created")) == 1
    # The form shown again is a new form: a second request on purpose is one more.
    assert _ask(portal, harbor, key=_form_key(portal.get("/portal/requests/new").text)).status_code == 303
    assert len(_requests_of(app, acme)) == 2


def test_a_refused_form_keeps_what_was_typed_and_asks_for_the_photos_again(app, factory, acme):
    customer, member, [(harbor, _), _] = portal_customer(app, factory, acme)
    portal = _signed_in(app, member)
    not_a_picture = _ask(portal, harbor, photos=[("valve.jpg", camera_photo()), ("notes.jpg", b"not a picture")],
                         notes="Leaking since Monday")
    assert not_a_picture.status_code == 422
    assert "Photo 2: That file is not a picture we can read" in not_a_picture.text
    assert "Choose the photos again." in not_a_picture.text and "Leaking since Monday" in not_a_picture.text
    no_kind = _ask(portal, harbor, kind="", photos=[("valve.jpg", camera_photo(800, 600))], notes="Leaking")
    assert no_kind.status_code == 422 and "Choose what you need." in no_kind.text
    assert "The photo you chose could not be kept while the form was refused" in no_kind.text
    too_many = _ask(portal, harbor, photos=[(f"{n}.jpg", camera_photo(200, 150)) for n in range(6)])
    assert too_many.status_code == 422 and "Send at most 5 photos." in too_many.text
    assert _requests_of(app, acme) == []
    assert not list(file_store(app).keys(f"{acme.id}/request-photos/"))


def test_another_customers_place_request_or_photo_is_not_found(app, factory, acme, bravo):
    customer, _, [(harbor, rp), _] = portal_customer(app, factory, acme)
    neighbour, their_member, [(their_place, their_rp), _] = portal_customer(app, factory, acme, name="Neighbour")
    theirs = asked(app, factory, acme, member=their_member, customer=neighbour, place=their_place,
                   pictures=[camera_photo(800, 600)])
    [their_photo] = _photos_of(app, theirs.id)
    elsewhere = asked(app, factory, bravo, pictures=[camera_photo(800, 600)])
    [far_photo] = _photos_of(app, elsewhere.id)
    portal = _signed_in(app, requester(factory, acme, customer))
    assert _ask(portal, their_place).status_code == 404
    assert _ask(portal, harbor, devices=str(their_rp.id)).status_code == 404
    for url in (f"/portal/requests/{theirs.id}", f"/portal/requests/{elsewhere.id}",
                f"/portal/requests/photos/{their_photo.id}", f"/portal/requests/photos/{their_photo.id}/thumbnail",
                f"/portal/requests/photos/{far_photo.id}"):
        assert portal.get(url).status_code == 404, url
    assert portal.get(f"/requests/photos/{their_photo.id}").status_code == 403  # the office's own address
    assert [r.id for r in _requests_of(app, acme)] == [theirs.id]


def test_a_requester_sees_the_invoices_only_when_the_office_allowed_it(app, factory, acme):
    customer, own_portal, _ = portal_customer(app, factory, acme)
    invoice = printed_invoice(app, acme, customer=customer)
    refused = _signed_in(app, requester(factory, acme, customer))
    for url in (f"/portal/invoices/{invoice.id}", f"/portal/invoices/{invoice.id}/pdf"):
        assert refused.get(url).status_code == 403, url
    assert refused.submit(f"/portal/invoices/{invoice.id}/pay").status_code == 403
    for url in ("/portal/", "/dashboard/"):
        page = refused.get(url).text
        assert invoice.label not in page and "$125.00" not in page and "Invoices" not in page, url
    assert "Your service requests and test certificates" in refused.get("/dashboard/").text

    allowed = _signed_in(app, requester(factory, acme, customer, may_see_invoices=True))
    assert invoice.label in allowed.get("/portal/").text and "$125.00" in allowed.get("/portal/").text
    assert allowed.get(f"/portal/invoices/{invoice.id}").status_code == 200
    assert allowed.get(f"/portal/invoices/{invoice.id}/pdf").mimetype == "application/pdf"
    assert invoice.label in _signed_in(app, own_portal).get("/portal/").text  # the portal customer, as before


def test_the_office_invites_a_requester_and_ticks_whether_they_see_the_invoices(app, factory, acme, login, client):
    customer, _, _ = portal_customer(app, factory, acme, name="Harbor View Apartments")
    office = login(acme, "manager")
    page = office.get(f"/customers/{customer.id}").text
    assert "Requester (service requests; invoices only if ticked)" in page and "Customer portal (everything)" in page
    office.submit(f"/customers/{customer.id}/portal-users", {"full_name": "Paula Property", "access": "requester",
                                                             "email": "paula@pm.example", "may_see_invoices": "y"})
    office.submit(f"/customers/{customer.id}/portal-users", {"full_name": "Rob Site", "access": "requester",
                                                             "email": "rob@pm.example"})
    office.submit(f"/customers/{customer.id}/portal-users", {"full_name": "Ann Owner", "access": "customer",
                                                             "email": "ann@harborview.example",
                                                             "may_see_invoices": "y"})
    with app.extensions["flowtrack.db"].service() as session:
        people = {name: (role, sees) for name, role, sees in session.execute(
            sa.select(Profile.full_name, Profile.role, Profile.may_see_invoices)
            .where(Profile.customer_id == customer.id, Profile.full_name != "Customer Person"))}
    assert people == {"Paula Property": ("requester", True), "Rob Site": ("requester", False),
                      "Ann Owner": ("customer", False)}  # a portal customer sees the invoices by role
    listed = office.get(f"/customers/{customer.id}").text
    assert "paula@pm.example · invited · Requester (sees the invoices)" in listed
    assert "rob@pm.example · invited · Requester (no invoices)" in listed
    invited = [e.changes for e in audit_entries(app, acme, "user.invited")]
    assert {"role": {"before": None, "after": "requester"}} == {"role": invited[0]["role"]}
    assert invited[0]["may_see_invoices"]["after"] is True and invited[1]["may_see_invoices"]["after"] is False

    client.get(link_in(last_email(app, "rob@pm.example").body))
    assert "as Requester" in last_email(app, "rob@pm.example").body
    admin = login(acme, "company_admin")
    rob = next(p for p in _profiles(app, customer.id) if p.full_name == "Rob Site")
    changed = admin.submit(f"/team/{rob.id}/role", {"role": "manager"}, follow_redirects=True)
    assert "belong to, their customer account" in changed.text
    assert next(p for p in _profiles(app, customer.id) if p.full_name == "Rob Site").role == "requester"


def _profiles(app, customer_id) -> list[Profile]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(Profile).where(Profile.customer_id == customer_id)))
