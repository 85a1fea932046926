"""The admin puts the company's logo on its invoices, from the company settings; anything that is not a usable
picture is refused there, and the office only reads whether there is one."""
import io

import pytest
from PIL import Image
from pypdf import PdfReader

from flowtrack.core.storage import StoredFileMissing
from tests.customers.test_customers import audit_entries
from tests.factories import file_store
from tests.invoices.factories import printed_invoice


def picture(fmt="PNG", size=(1200, 400)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (12, 90, 170)).save(out, format=fmt)
    return out.getvalue()


def upload(browser, data: bytes, name="logo.png"):
    return browser.submit("/settings/logo", {"logo": (io.BytesIO(data), name)}, content_type="multipart/form-data",
                          follow_redirects=True)


def test_an_uploaded_logo_is_shrunk_and_printed_on_invoices(app, admin, office, acme):
    saved = upload(admin, picture("JPEG"), "logo.jpg")
    assert "Logo saved" in saved.text and 'alt="Your logo as invoices print it"' in saved.text
    store = file_store(app)
    with Image.open(io.BytesIO(store.get(f"{acme.id}/logos/logo.png"))) as image:
        assert image.format == "PNG" and max(image.size) == 600
    invoice = printed_invoice(app, acme)
    pdf = PdfReader(io.BytesIO(office.get(f"/invoices/{invoice.id}/pdf").data))
    assert len(pdf.pages[0].images) == 1
    assert audit_entries(app, acme, "invoices.logo_changed")[0].changes == {"logo": "uploaded"}
    assert "Your logo is printed on invoices" in office.get("/invoices/prices").text
    assert upload(office, picture("PNG")).status_code == 403

    assert "Logo removed." in admin.submit("/settings/logo/delete", follow_redirects=True).text
    with pytest.raises(StoredFileMissing):
        store.get(f"{acme.id}/logos/logo.png")
    assert audit_entries(app, acme, "invoices.logo_changed")[-1].changes == {"logo": "removed"}


def test_files_that_are_not_usable_pictures_are_refused_next_to_the_upload(admin):
    refused = upload(admin, b"%PDF-1.4 not a picture", "logo.png")
    assert refused.status_code == 422 and "not a picture we can read" in refused.text
    assert 'aria-describedby="logo-errors"' in refused.text
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    assert "PNG or JPEG" in upload(admin, gif.getvalue(), "logo.gif").text
    assert "at most 2 MB" in upload(admin, b"\x89PNG" + b"0" * (2 * 1024 * 1024 + 1)).text
    assert "too large" in upload(admin, picture(size=(6000, 6000))).text
    assert "Choose a logo" in admin.submit("/settings/logo", {}).text
