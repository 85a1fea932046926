"""A NUL byte or half of a two-part character, anywhere in what a browser sends (the address, a form's field names
or values, an uploaded file's name, a JSON body), is refused once, before any page reads it: a 400 that says what
was wrong, and nothing changes. PostgreSQL cannot store either; before, each answered a 500 wherever it met the
database first. An uploaded file's own bytes are not text and are not looked at."""
import io

import pytest
import sqlalchemy as sa

from flowtrack.models.audit import AuditEntry
from flowtrack.models.customers import Customer
from flowtrack.models.field_tests import DevicePhoto
from tests.customers.factories import records  # noqa: F401  (the fixture)
from tests.district_portal.factories import district_admin_of, districts, eweb  # noqa: F401  (the fixtures)
from tests.field_tests.factories import camera_photo
from tests.notifications.outbox import emails_to
from tests.security.test_error_pages import assert_our_page

NOT_TEXT = "holds a character that is not text"


def _audit_entries(app, tenant) -> int:
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                              .where(AuditEntry.company_id == tenant.id))


def _customers_named(app, tenant, start: str) -> list[Customer]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(Customer).where(Customer.company_id == tenant.id,
                                                              Customer.name.startswith(start))))


def _form_body(browser, **fields) -> dict:
    """A form posted as the browser encodes it, percent-escapes and all (%00 for a NUL)."""
    fields.setdefault("csrf_token", browser.csrf_token())
    body = "&".join(f"{name}={value}" for name, value in fields.items())
    return {"data": body, "content_type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("path", ["/password/forgot", "/login/link"])
def test_a_nul_in_the_email_of_a_sign_in_form_is_a_400_that_says_why_and_sends_nothing(app, client, acme, path):
    person = acme.members["manager"]
    before = emails_to(app, person.email)
    response = client.post(path, **_form_body(client, email=person.email.replace("@", "%00@")))
    assert_our_page(response, 400, f"The form {NOT_TEXT}", "Retype it without that character")
    assert emails_to(app, person.email) == before


@pytest.mark.parametrize("path", ["/district/", "/district/devices", "/district/tests.csv"])
def test_a_nul_in_the_district_portals_search_is_a_400(district_admin_of, eweb, path):  # noqa: F811
    response = district_admin_of(eweb).get(f"{path}?q=DC%00")
    assert_our_page(response, 400, f"The address {NOT_TEXT}")


def test_a_nul_in_a_field_name_is_refused_too_and_nothing_is_saved(app, office, acme):
    entries = _audit_entries(app, acme)
    response = office.post("/customers/new", **_form_body(office, name="Harbor+Dental", **{"note%00s": "x"}))
    assert_our_page(response, 400, f"The form {NOT_TEXT}")
    assert _customers_named(app, acme, "Harbor Dental") == [] and _audit_entries(app, acme) == entries


def test_a_multipart_form_with_a_nul_is_refused_and_nothing_is_saved(app, office, acme):
    response = office.submit("/customers/new", {"name": "Harbor Dental\x00"}, content_type="multipart/form-data")
    assert_our_page(response, 400, f"The form {NOT_TEXT}")
    assert _customers_named(app, acme, "Harbor Dental") == []


def test_a_lone_surrogate_in_a_json_body_is_refused(office):
    body = '{"name": "Harbor \\ud800 Dental"}'
    response = office.post("/customers/new", data=body, content_type="application/json",
                           headers={"X-CSRFToken": office.csrf_token()})
    assert_our_page(response, 400, f"The data sent {NOT_TEXT}")


def test_an_address_whose_bytes_are_no_text_is_a_400(office):
    # A raw byte the browser did not percent-escape, as a WSGI server hands it on (decoded as Latin-1).
    response = office.get("/customers/", environ_overrides={"QUERY_STRING": "q=caf\xe9"})
    assert_our_page(response, 400, f"The address {NOT_TEXT}")


def test_an_uploaded_photo_is_not_looked_into_but_its_name_is(app, office, records, acme):  # noqa: F811
    device = records.device(acme)
    photo = camera_photo(400, 300)
    assert b"\x00" in photo  # a picture is bytes, NULs among them

    def upload(name):
        return office.submit(f"/devices/{device.id}/photos", {"photo": (io.BytesIO(photo), name), "caption": "Port"},
                             content_type="multipart/form-data")

    assert upload("IMG_0001.JPG").status_code == 303
    assert_our_page(upload("IMG\x00.JPG"), 400, f"The name of an uploaded file {NOT_TEXT}")
    with app.extensions["flowtrack.db"].service() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(DevicePhoto)
                              .where(DevicePhoto.device_id == device.id)) == 1


def test_text_with_emoji_and_accents_is_text(app, office, acme):
    response = office.submit("/customers/new", {"name": "Café 🚰 Harbor Dental"})
    assert response.status_code == 303
    assert [c.name for c in _customers_named(app, acme, "Café")] == ["Café 🚰 Harbor Dental"]
