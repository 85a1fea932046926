"""A district's own test report form: edited on its own page, checked as it is typed, previewed with a sample
test, refused with the reason when it cannot work, audited when saved, and used for the reports printed after."""
import io
import re

import pytest
from pypdf import PdfReader

from flowtrack.districts import services as districts
from flowtrack.field_tests import report
from flowtrack.models.customers import District
from tests.customers.test_customers import audit_entries
from tests.factories import file_store
from tests.field_tests.factories import printed_test

EWEB_FORM = ("<h1>EWEB cross-connection report</h1>\n"
             "<p>{{ device.serial }} {{ test.result|upper }} by {{ tester.name }}</p>\n")


def stored(app, district_id) -> District:
    with app.extensions["flowtrack.db"].service() as s:
        return s.get(District, district_id)


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def district(records, acme):
    return records.district(acme, name="Eugene Water")


def editor(district) -> str:
    return f"/districts/{district.id}/report-form"


def test_the_admin_writes_a_form_saves_it_and_the_next_report_is_printed_on_it(app, factory, acme, admin, district,
                                                                                records):
    page = admin.get(editor(district))
    assert page.status_code == 200 and "printed on the standard form" in page.text
    assert '<label for="report_template">' in page.text and 'class="code-editor"' in page.text
    assert admin.get(f"/districts/{district.id}/edit").text.count(editor(district)) == 1

    saved = admin.submit(editor(district), {"report_template": EWEB_FORM.replace("\n", "\r\n")})
    assert saved.status_code == 303 and saved.headers["Location"].endswith(editor(district))
    assert "Eugene Water&#39;s report form saved" in admin.get(editor(district)).text
    assert stored(app, district.id).report_template == EWEB_FORM  # as typed, with the browser's CRLFs made LFs
    [entry] = audit_entries(app, acme, "district.report_form_changed")
    assert entry.changes == {"report_template": {"before": None, "after": EWEB_FORM}}

    device = records.device(acme, records.location(acme, district_id=district.id), device_type="DC", serial="DC-77")
    record = printed_test(app, factory, acme, device)
    text = pdf_text(file_store(app).get(report.report_key(record)))
    assert "EWEB cross-connection report" in text and "DC-77 PASS" in text


def test_the_editor_starts_from_the_standard_form_and_an_unchanged_copy_stays_the_standard(app, acme, office,
                                                                                           district):
    page = office.get(editor(district) + "?start=standard")
    assert "Backflow prevention assembly test report" in page.text and "{{ company.name }}" in page.text
    assert office.submit(editor(district), {"report_template": report.DEFAULT_FORM}).status_code == 303
    assert stored(app, district.id).report_template is None  # our later improvements still reach it
    assert audit_entries(app, acme, "district.report_form_changed") == []
    assert "Nothing changed." in office.get(editor(district)).text


def test_going_back_to_the_standard_form_is_one_button_and_audited(app, acme, admin, district):
    admin.submit(editor(district), {"report_template": EWEB_FORM})
    assert "Go back to the standard form" in admin.get(editor(district)).text
    assert admin.submit(editor(district), {"report_template": ""}).status_code == 303
    assert stored(app, district.id).report_template is None
    assert "Eugene Water&#39;s reports use the standard form." in admin.get(editor(district)).text
    back = audit_entries(app, acme, "district.report_form_changed")[-1]
    assert back.changes == {"report_template": {"before": EWEB_FORM, "after": None}}


BROKEN_FORMS = [
    ("<h1>Report</h1>\n{% if test.result %}\n<p>passed</p>\n", "(line 2): Unexpected end of template"),
    ("<p>\n{{ device.serial.__class__.__mro__[1].__subclasses__() }}</p>", "(line 2)"),
    ("<p>ok</p>\n<p>{{ tester.name.upper.__globals__ }}</p>\n{{ [].append(1) }}",
     "(line 3): access to attribute 'append' of 'list' object is unsafe"),
    ("<p>\n\n{{ no_such_filter_function() }}</p>", "(line 3): 'no_such_filter_function' is undefined"),
    ("{{ test.line_pressure_psi / 0 }}", "(line 1): division by zero"),
    ("{{ 'x' * 10 ** 9 }}", "may not repeat text or lists beyond 100,000 items"),
    ("{{ 9 ** 99999999 }}", "may not compute numbers that large"),
    ("{{ test.readings|bogus }}", "(line 1): No filter named 'bogus'"),
]


@pytest.mark.parametrize("source, message", BROKEN_FORMS)
def test_a_form_that_cannot_work_is_refused_with_the_reason_and_the_text_kept(app, acme, admin, district, source,
                                                                              message):
    refused = admin.submit(editor(district), {"report_template": source})
    assert refused.status_code == 422
    assert "The form template cannot be used" in refused.text and message.replace("'", "&#39;") in refused.text
    assert 'aria-describedby="report_template-errors"' in refused.text
    kept = re.search(r'<textarea[^>]*id="report_template"[^>]*>(.*?)</textarea>', refused.text, re.S).group(1)
    assert kept.replace("&#39;", "'").replace("&#34;", '"').replace("&lt;", "<").replace("&gt;", ">") \
        .replace("&amp;", "&").strip("\r\n") == source.strip("\n")
    assert stored(app, district.id).report_template is None
    assert audit_entries(app, acme, "district.report_form_changed") == []


def test_a_form_that_would_run_for_hours_is_stopped_and_refused(app, admin, district, monkeypatch):
    monkeypatch.setattr(report, "RENDER_SECONDS", 0.3)
    endless = "<p>\n{% set s = 'x' * 100000 %}\n{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}</p>"
    refused = admin.submit(editor(district), {"report_template": endless})
    assert refused.status_code == 422
    assert "(line 3): the form took longer than 0.3 seconds to fill in" in refused.text
    assert stored(app, district.id).report_template is None


def test_a_form_too_long_to_keep_is_refused(app, admin, district):
    refused = admin.submit(editor(district), {"report_template": "<p>x</p>" * 20_000})
    assert refused.status_code == 422 and "the limit is 100,000" in refused.text
    assert stored(app, district.id).report_template is None


def test_the_live_check_answers_as_the_form_is_typed(admin, district):
    url = f"/districts/{district.id}/report-form/check"
    broken = admin.htmx("post", url, {"report_template": "<p>\n{% for r in test.readings %}{{ r.label }}"})
    assert broken.status_code == 200 and "<html" not in broken.text
    assert "(line 2): Unexpected end of template" in broken.text and "form-check-problem" in broken.text
    fine = admin.htmx("post", url, {"report_template": EWEB_FORM})
    assert "The form works: it fills in with the sample test." in fine.text
    empty = admin.htmx("post", url, {"report_template": "  "})
    assert "Empty: reports use the standard form." in empty.text
    # Without HTMX (the Check button, no script): the whole page, the problem beside the field.
    page = admin.submit(url, {"report_template": "{{ 1 / 0 }}"})
    assert page.status_code == 422 and "<html" in page.text and 'id="report_template-errors"' in page.text
    assert "The form works" in admin.submit(url, {"report_template": EWEB_FORM}).text


def test_the_check_needs_a_csrf_token_even_from_htmx(admin, district):
    response = admin.post(f"/districts/{district.id}/report-form/check", data={"report_template": EWEB_FORM},
                          headers={"HX-Request": "true"})
    assert response.status_code == 400


def test_the_preview_fills_the_unsaved_form_in_a_sandboxed_frame_of_its_own(app, admin, district):
    page = admin.get(editor(district)).text
    assert re.search(r'<iframe name="report-preview"[^>]* sandbox[ >]', page)
    assert 'formtarget="report-preview"' in page

    preview = admin.submit(f"/districts/{district.id}/report-form/preview", {"report_template": EWEB_FORM})
    assert preview.status_code == 200 and preview.mimetype == "text/html"
    assert "<h1>EWEB cross-connection report</h1>" in preview.text and "SAMPLE-0001 PASS by Sam Sample" in preview.text
    csp = preview.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'self'" in csp
    assert csp.endswith("sandbox") and "form-action 'none'" in csp
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert stored(app, district.id).report_template is None  # a preview saves nothing

    broken = admin.submit(f"/districts/{district.id}/report-form/preview", {"report_template": "{{ 1 / 0 }}"})
    assert broken.status_code == 422 and "(line 1): division by zero" in broken.text
    assert broken.headers["Content-Security-Policy"] == csp


def test_the_preview_shows_a_drawn_signature_where_the_form_asks_for_one(admin, district):
    preview = admin.submit(f"/districts/{district.id}/report-form/preview",
                           {"report_template": '<img src="{{ signatures.technician }}" alt="">'})
    assert preview.text.startswith('<img src="data:image/png;base64,')


def test_a_preview_escapes_what_the_sample_holds_and_runs_no_script_of_ours(admin, district):
    preview = admin.submit(f"/districts/{district.id}/report-form/preview",
                           {"report_template": "{{ '<script>alert(1)</script>' }}"})
    assert "<script>" not in preview.text and "&lt;script&gt;" in preview.text


def test_the_pdf_preview_prints_the_saved_or_the_typed_form_with_the_sample(admin, district):
    url = f"/districts/{district.id}/report-form/preview.pdf"
    standard = admin.get(url)
    assert standard.status_code == 200 and standard.mimetype == "application/pdf"
    assert "Backflow prevention assembly test report" in pdf_text(standard.data)
    typed = admin.submit(url, {"report_template": EWEB_FORM})
    assert typed.status_code == 200 and "SAMPLE-0001 PASS by Sam Sample" in pdf_text(typed.data)
    broken = admin.submit(url, {"report_template": "{% if %}"})
    assert broken.status_code == 422 and "(line 1)" in broken.text and "{% if %}" in broken.text
    admin.submit(editor(district), {"report_template": EWEB_FORM})
    assert "EWEB cross-connection report" in pdf_text(admin.get(url).data)


def test_a_form_the_printer_chokes_on_is_a_form_error_too(admin, district, monkeypatch):
    def choke(html):
        raise ValueError("unsupported page size")

    monkeypatch.setattr(report, "print_pdf", choke)
    refused = admin.submit(f"/districts/{district.id}/report-form/preview.pdf", {"report_template": EWEB_FORM})
    assert refused.status_code == 422 and "The form cannot be printed: unsupported page size" in refused.text


def test_a_form_saved_before_the_checks_falls_back_to_the_standard_form_in_the_pdf_preview(app, acme, admin,
                                                                                           district, records):
    # Written straight to the database, as forms saved before this editor existed were never checked.
    with records.session(acme) as s:
        s.get(District, district.id).report_template = "{{ 1 / 0 }}"
    page = admin.get(f"/districts/{district.id}/report-form/preview.pdf")
    assert page.status_code == 422 and "(line 1): division by zero" in page.text


def test_the_district_form_no_longer_holds_the_report_form(admin, district):
    page = admin.get(f"/districts/{district.id}/edit").text
    assert 'name="report_template"' not in page and "Test report form" in page
    assert "report_template" not in districts.DISTRICT_FIELDS
