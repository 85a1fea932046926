"""A company that asks its customers to sign quotes by hand: the admin turns it on, the customer's approval then
needs a signature drawn on the pad (typed name as well), anything but a real drawn PNG is refused in words with
what was typed and ticked kept, and the signature that is kept shows on the office's page and on the PDF."""
import base64
import io
import re

import pytest
from PIL import Image
from pypdf import PdfReader

from flowtrack.core.storage import StoredFileMissing
from flowtrack.models.quotes import Quote
from tests.factories import file_store
from tests.field_tests.factories import drawn_signature
from tests.quotes.factories import sent_quote
from tests.quotes.test_quotes import _quote, _quote_entries


def _data_url(data: bytes, kind: str = "png") -> str:
    return f"data:image/{kind};base64," + base64.b64encode(data).decode()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 160), "navy").save(out, format="JPEG")
    return out.getvalue()


@pytest.fixture
def signing(admin):
    """The admin asks customers to sign quotes by hand."""
    saved = admin.submit("/settings/quotes", {"signature_required": "y"}, follow_redirects=True)
    assert "Quote setting saved." in saved.text
    assert re.search(r'<input[^>]*checked[^>]*id="signature_required"|<input[^>]*id="signature_required"[^>]*checked',
                     saved.text)


def test_without_the_setting_the_typed_name_approves_and_no_pad_is_shown(app, client, acme):
    quote, token = sent_quote(app, acme)
    page = client.get(f"/q/{token}").text
    assert "data-signature-pad" not in page and 'id="approve"' in page
    approved = client.submit(f"/q/{token}/approve", {"version": "1", "name": "Pat Payables"})
    assert approved.status_code == 303
    assert _quote(app, quote.id).approved_signature_key is None


def test_the_customer_signs_by_hand_and_the_office_sees_the_signature_on_the_page_and_the_pdf(
        app, client, office, acme, signing):
    quote, token = sent_quote(app, acme)
    link = f"/q/{token}"
    page = client.get(link).text
    assert "data-signature-pad" in page and "Sign with the name I typed" in page and "Clear" in page
    optional = re.search(r'name="chosen" value="([^"]+)"', page).group(1)

    # Approving with the name typed and the optional item left out, but nothing drawn: refused, all else kept.
    missing = client.submit(f"{link}/approve", {"version": "1", "name": "Pat Payables"})
    assert missing.status_code == 422
    assert "Sign in the box with your finger or the mouse" in missing.text
    assert 'value="Pat Payables"' in missing.text
    assert re.search(rf'value="{optional}"(?![^>]*checked)', missing.text)  # still left out
    assert "$185.50" in missing.text and "$225.48" not in missing.text  # the total without it
    # A canvas left blank is nothing drawn.
    blank = client.submit(f"{link}/approve", {"version": "1", "name": "Pat Payables",
                                             "signature": drawn_signature(ink=False), "chosen": [optional]})
    assert blank.status_code == 422 and "Sign in the box" in blank.text
    assert re.search(rf'value="{optional}" checked', blank.text)  # ticked, as they sent it
    # What is not a PNG drawn on the pad does not come through, and is not drawn on the pad again.
    for refused in (_data_url(_jpeg(), "jpeg"), _data_url(_jpeg()), "data:image/png;base64,not*base64",
                    _data_url(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
                    drawn_signature(width=5000, height=1000),  # five megapixels: no hand signature is that big
                    "data:image/png;base64," + "A" * 1_000_000):  # more than 512 KB: not even decoded
        answer = client.submit(f"{link}/approve", {"version": "1", "name": "Pat Payables", "signature": refused})
        assert answer.status_code == 422, refused[:40]
        assert "The signature did not come through; clear it and sign again." in answer.text
        assert refused not in answer.text
    assert _quote(app, quote.id).status == "sent"

    signature = drawn_signature()
    approved = client.submit(f"{link}/approve", {"version": "1", "name": "Pat Payables", "signature": signature},
                             follow_redirects=True)
    assert "Approved by Pat Payables" in approved.text and 'id="signature-given"' in approved.text
    after = _quote(app, quote.id)
    assert after.status == "approved" and after.approved_signature_key == \
        f"{acme.id}/signatures/quote-{quote.id}-v1.png"
    kept = file_store(app).get(after.approved_signature_key)
    assert Image.open(io.BytesIO(kept)).format == "PNG"
    [entry] = [e for e in _quote_entries(app, acme) if e.action == "quote.approved"]
    assert entry.changes["signed_by_hand"] is True

    office_page = office.get(f"/quotes/{quote.id}").text
    assert f'src="/quotes/{quote.id}/signature"' in office_page and "Signature of Pat Payables" in office_page
    shown = office.get(f"/quotes/{quote.id}/signature")
    assert shown.status_code == 200 and shown.mimetype == "image/png" and shown.data == kept
    printed = PdfReader(io.BytesIO(office.get(f"/quotes/{quote.id}/pdf").data)).pages[0]
    assert "Signed by hand by Pat Payables" in printed.extract_text()
    assert len(printed.images) == 1  # the signature (the company has no logo)
    customers_copy = PdfReader(io.BytesIO(client.get(f"{link}/pdf").data)).pages[0]
    assert "Signed by hand by Pat Payables" in customers_copy.extract_text()


def test_a_quote_approved_without_a_signature_has_none_to_show(app, office, client, acme):
    quote, token = sent_quote(app, acme)
    client.submit(f"/q/{token}/approve", {"version": "1", "name": "Pat Payables"})
    assert office.get(f"/quotes/{quote.id}/signature").status_code == 404
    with pytest.raises(StoredFileMissing):
        file_store(app).get(f"{acme.id}/signatures/quote-{quote.id}-v1.png")


def test_the_setting_is_the_admins_and_is_audited(app, admin, office, acme):
    assert office.submit("/settings/quotes", {"signature_required": "y"}).status_code == 403
    assert 'id="signature_required"' in admin.get("/settings/").text
    admin.submit("/settings/quotes", {"signature_required": "y"})
    unchanged = admin.submit("/settings/quotes", {"signature_required": "y"}, follow_redirects=True)
    assert "Nothing changed." in unchanged.text
    admin.submit("/settings/quotes", {})
    from tests.customers.test_customers import audit_entries
    changes = [e.changes for e in audit_entries(app, acme, "settings.changed")]
    assert changes == [{"quote_signature_required": {"before": False, "after": True}},
                       {"quote_signature_required": {"before": True, "after": False}}]


def test_the_portal_customer_signs_too(app, acme, signing):
    from tests.quotes.test_quotes import _portal_browser

    quote, _ = sent_quote(app, acme, optional=False)
    customer = _portal_browser(app, acme, quote.customer_id)
    assert "data-signature-pad" in customer.get(f"/portal/quotes/{quote.id}").text
    refused = customer.submit(f"/portal/quotes/{quote.id}/approve", {"version": "1", "name": "Pat"})
    assert refused.status_code == 422
    approved = customer.submit(f"/portal/quotes/{quote.id}/approve",
                               {"version": "1", "name": "Pat", "signature": drawn_signature()})
    assert approved.status_code == 303
    with app.extensions["flowtrack.db"].service() as session:
        assert session.get(Quote, quote.id).approved_signature_key is not None
