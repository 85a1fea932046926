"""The test report: a district's own form (or ours), filled from a test record and printed as a PDF.

A district's form is a template that a company admin edits, so it is
rendered in Jinja's sandbox from plain values (never model objects), and
WeasyPrint may not fetch anything while printing it: a form that points at
a URL (an image on another server, an address inside our network) gets
nothing, so a template cannot be used to reach other machines.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import io
import sys
import time
import zoneinfo
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so
from jinja2 import ChainableUndefined, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from PIL import Image, ImageDraw
from weasyprint.urls import URLFetcher

from flowtrack.core import pdf
from flowtrack.core.storage import FileStorage, send_stored
from flowtrack.field_tests import rules
from flowtrack.models.companies import Company
from flowtrack.models.customers import CustomerLocation, Device, District
from flowtrack.models.field_tests import TestRecord, TestType

# Our form, for districts without their own; the same sandbox renders it.
DEFAULT_FORM = (Path(__file__).parents[1] / "templates" / "testing" / "report_form.html").read_text()
MAX_FORM_CHARS = 100_000
# Jinja's sandbox guards attributes, not arithmetic: `{{ 9 ** 9 ** 9 }}` or `{{ "x" * 10 ** 10 }}` would hold a
# worker (or the editor's preview) for minutes or exhaust its memory.
MAX_POWER = 64
MAX_REPEAT = 100_000


class _FormSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, (int, float)) and (
                abs(right) > MAX_POWER or isinstance(left, int) and abs(left).bit_length() * abs(right) > 4096):
            raise SecurityError(f"a form may not compute numbers that large (powers up to {MAX_POWER})")
        if operator == "*":
            counts = [side for side in (left, right) if isinstance(side, int)]
            sized = [side for side in (left, right) if isinstance(side, (str, list, tuple))]
            if counts and sized and len(sized[0]) * counts[0] > MAX_REPEAT:
                raise SecurityError(f"a form may not repeat text or lists beyond {MAX_REPEAT:,} items")
        return super().call_binop(context, operator, left, right)


_SANDBOX = _FormSandbox(autoescape=True, undefined=ChainableUndefined)
# Nor loops: `{% for a in text %}{% for b in text %}` runs for hours. A form fills in within milliseconds; one
# still running after this long is stopped (see `_within_time`).
RENDER_SECONDS = 2.0


class FormTooSlow(Exception):
    def __init__(self, seconds: float):
        super().__init__(f"the form took longer than {seconds:g} seconds to fill in (a loop inside a loop?)")


def _within_time(render, seconds: float) -> str:
    """Run a template's render, stopping it once it has run `seconds`: a trace function on the template's own
    frames (compiled from "<template>") checks the clock at each of its lines, so the cost falls on forms only."""
    deadline = time.monotonic() + seconds

    def each_line(frame, event, arg):
        if time.monotonic() > deadline:
            raise FormTooSlow(seconds)
        return each_line

    def each_call(frame, event, arg):
        return each_line if frame.f_code.co_filename == "<template>" else None

    previous = sys.gettrace()  # a debugger's or coverage's tracer gets its thread back afterwards
    sys.settrace(each_call)
    try:
        return render()
    finally:
        sys.settrace(previous)


class FormTemplateError(ValueError):
    """A district form that cannot be rendered; the message says what and where (`line`, when known)."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def _readings(values: dict | None, assembly_type: str) -> list[dict]:
    if not values:
        return []
    return [{"key": key, "label": rules.LABELS[key], "value": values.get(key, "")}
            for key in rules.required_readings(assembly_type)]


def report_context(record: TestRecord, company: Company, *, signatures: dict | None = None,
                   amended_by: str | None = None) -> dict:
    """Everything a form may show, as plain values (the names are documented in docs/field-tests.md).
    `signatures` holds the drawn signatures as inline images (`technician`, `customer`)."""
    facts = record.facts
    zone = zoneinfo.ZoneInfo(company.timezone)
    tested_at = record.tested_at.astimezone(zone)
    device_type = facts["device"]["type"]
    return {
        "company": {"name": company.name},
        "tester": {"name": facts["tester"], "certification_number": facts["certification_number"],
                   "certification_expires_on": facts["certification_expires_on"]},
        "gauge": facts["gauge"],
        "device": facts["device"],
        "customer": facts["customer"], "location": facts["location"], "district": facts["district"],
        "replaces": facts.get("replaces", []),
        "signatures": {**(signatures or {}), "customer_name": record.customer_signer_name},
        "test": {
            "id": str(record.id), "type": TestType(record.test_type).label, "date": tested_at.strftime("%B %-d, %Y"),
            "time": tested_at.strftime("%-I:%M %p %Z"), "line_pressure_psi": record.line_pressure_psi,
            "shutoff1_tight": record.shutoff1_tight, "initial_result": record.initial_result,
            "result": record.result, "readings": _readings(record.readings, device_type),
            "retest_readings": _readings(record.retest_readings, device_type), "repairs": list(record.repairs),
            "checks": list(record.checks), "notes": record.notes, "amends": str(record.amends_id or "") or None,
            "amendment": None if record.amends_id is None else {
                "by": amended_by, "reason": record.amendment_reason,
                "date": record.submitted_at.astimezone(zone).strftime("%B %-d, %Y")},
        },
    }


def render_form(template_source: str | None, context: dict) -> str:
    """The filled form as HTML; a broken district form raises FormTemplateError.

    Anything a form can raise counts: syntax, the sandbox refusing an attribute, an undefined name called,
    or plain Python errors of its expressions (a division by zero, text plus a number).
    """
    try:
        template = _SANDBOX.from_string(template_source or DEFAULT_FORM)
    except TemplateSyntaxError as error:
        raise _problem(error.message, error.lineno) from None
    try:
        return _within_time(lambda: template.render(**context), RENDER_SECONDS)
    except Exception as error:  # a form is a program the admin wrote; whatever it raises is its error
        raise _problem(str(error) or type(error).__name__, _template_line(error)) from None


def _problem(message: str | None, line: int | None) -> FormTemplateError:
    where = f" (line {line})" if line else ""
    return FormTemplateError(f"The form template cannot be used{where}: {message}", line)


def _template_line(error: Exception) -> int | None:
    """The form's line that raised: Jinja rewrites the traceback so a template's frames carry its lines."""
    line, frame = None, error.__traceback__
    while frame is not None:
        if frame.tb_frame.f_code.co_filename == "<template>":
            line = frame.tb_lineno
        frame = frame.tb_next
    return line


def sample_form(template_source: str | None) -> str:
    """The form (None: ours) filled in with the sample test, as HTML: the editor's check and preview. Raises
    FormTemplateError for a form the editor must not save (too long, does not compile, fails to fill in)."""
    if template_source and len(template_source) > MAX_FORM_CHARS:
        raise FormTemplateError(f"The form is {len(template_source):,} characters long; the limit is "
                                f"{MAX_FORM_CHARS:,}.")
    return render_form(template_source, sample_context())


@functools.cache
def sample_signature() -> str:
    """A stroke of ink as a PNG data URL: what the signature pad sends, and how a report shows a signature."""
    image = Image.new("RGBA", (600, 160), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(30, 120), (140, 40), (230, 110), (330, 50), (560, 100)], fill="black", width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def sample_context() -> dict:
    """A made-up test with every value a form can show filled in (a reduced pressure assembly that failed,
    was repaired and passed its retest), for the editor's check and previews."""
    readings = {"check1_psid": "4.1", "relief_opened_psid": "2.8", "check2_psid": "1.6",
                "check2_closed_tight": "yes", "shutoff2_held": "yes"}
    retest = {**readings, "check1_psid": "6.2"}
    return {
        "company": {"name": "Sample Backflow Co."},
        "tester": {"name": "Sam Sample", "certification_number": "BAT-0000", "certification_expires_on": "2027-06-30"},
        "gauge": {"make": "Midwest", "model": "845", "serial": "K-0000", "last_calibrated_on": "2026-01-15",
                  "calibration_due_on": "2027-01-15"},
        "device": {"type": "RP", "serial": "SAMPLE-0001", "manufacturer": "Watts", "model": "009", "size": "1",
                   "where_installed": "Basement, by the meter"},
        "customer": "Sample Customer", "location": "100 Sample Street, Springfield, OR 97477",
        "district": "Sample Water District", "replaces": [],
        "signatures": {"technician": sample_signature(), "customer": None, "customer_name": None},
        "test": {
            "id": "00000000-0000-4000-8000-000000000000", "type": "Annual test", "date": "March 3, 2026",
            "time": "10:15 AM PST", "line_pressure_psi": 72, "shutoff1_tight": True, "initial_result": "fail",
            "result": "pass", "readings": _readings(readings, "RP"), "retest_readings": _readings(retest, "RP"),
            "repairs": ["replaced disc"],
            "checks": [{"key": "check1_psid", "label": "Check valve 1 held", "passed": True,
                        "reason": "6.2 psid is at least 5.0"}],
            "notes": "Sample notes.", "amends": None, "amendment": None,
        },
    }


# Untrusted forms may embed images as data: URLs; every other scheme (http, file, ftp) is refused.
_INLINE_ONLY = URLFetcher(allowed_protocols={"data"})


def print_pdf(html: str) -> bytes:
    return pdf.print_pdf(html, url_fetcher=_INLINE_ONLY)


def store_pdf(html: str, storage: FileStorage, record: TestRecord) -> str:
    """Print the form into the file store as the record's report; returns the file's SHA-256."""
    data = print_pdf(html)
    storage.put(report_key(record), data, "application/pdf")
    return hashlib.sha256(data).hexdigest()


def report_key(record: TestRecord) -> str:
    """Where the printed report is in the file store (also the attachment of the district's email)."""
    return f"{record.company_id}/reports/{record.id}.pdf"


def send_report(storage: FileStorage, record: TestRecord, zone: dt.tzinfo):
    """The printed report as a download (StoredFileMissing until it is printed)."""
    return send_stored(storage, report_key(record), mimetype="application/pdf",
                       download_name=download_name(record, zone))


def download_name(record: TestRecord, zone: dt.tzinfo) -> str:
    """test-report-<serial>-<the day of the test where the company is>.pdf"""
    serial = "".join(c if c.isalnum() else "-" for c in record.facts["device"]["serial"])
    return f"test-report-{serial}-{record.tested_at.astimezone(zone):%Y%m%d}.pdf"


def district_of(session: so.Session, record: TestRecord) -> District | None:
    """The water district of the tested device's location, if it has one: its form prints the report."""
    return session.scalar(sa.select(District)
                          .join(CustomerLocation, CustomerLocation.district_id == District.id)
                          .join(Device, Device.location_id == CustomerLocation.id)
                          .where(Device.id == record.device_id))
