"""The test report: a district's own form (or ours), filled from a test record and printed as a PDF.

A district's form is a template that a company admin edits, so it is
rendered in Jinja's sandbox from plain values (never model objects), and
WeasyPrint may not fetch anything while printing it: a form that points at
a URL (an image on another server, an address inside our network) gets
nothing, so a template cannot be used to reach other machines.
"""
from __future__ import annotations

import hashlib
import zoneinfo
from pathlib import Path

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from flowtrack.models.companies import Company
from flowtrack.models.testing import TestRecord, TestType
from flowtrack.testing import rules

# Our form, for districts without their own; the same sandbox renders it.
DEFAULT_FORM = (Path(__file__).parents[1] / "templates" / "testing" / "report_form.html").read_text()
_SANDBOX = ImmutableSandboxedEnvironment(autoescape=True, undefined=ChainableUndefined)
READING_LABELS = {
    "check1_psid": "Check valve 1 (psid)", "check2_psid": "Check valve 2 (psid)",
    "relief_opened_psid": "Relief valve opened at (psid)", "check2_closed_tight": "Check valve 2 tight against backpressure",
    "shutoff2_held": "Shutoff valve 2 tight", "check_psid": "Check valve (psid)",
    "air_inlet_opened_psid": "Air inlet opened at (psid)", "air_inlet_fully_open": "Air inlet fully open",
    "air_inlet_opens": "Air inlet opens", "air_inlet_seals": "Air inlet seals",
}


class FormTemplateError(ValueError):
    """A district form that cannot be rendered; the message says where."""


def _readings(values: dict | None, assembly_type: str) -> list[dict]:
    if not values:
        return []
    return [{"key": key, "label": READING_LABELS.get(key, key), "value": values.get(key, "")}
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
    """The filled form as HTML; a broken district form raises FormTemplateError."""
    try:
        return _SANDBOX.from_string(template_source or DEFAULT_FORM).render(**context)
    except TemplateError as error:
        line = f" (line {error.lineno})" if getattr(error, "lineno", None) else ""
        raise FormTemplateError(f"The form template cannot be used{line}: {error.message}") from None


# Untrusted forms may embed images as data: URLs; every other scheme (http, file, ftp) is refused.
_INLINE_ONLY = URLFetcher(allowed_protocols={"data"})


def write_pdf(html: str, path: Path) -> str:
    """Print the form to `path`; returns the file's SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = HTML(string=html, url_fetcher=_INLINE_ONLY).write_pdf()
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def report_path(storage_dir: Path, record: TestRecord) -> Path:
    return storage_dir / str(record.company_id) / f"{record.id}.pdf"


def download_name(record: TestRecord) -> str:
    serial = "".join(c if c.isalnum() else "-" for c in record.facts["device"]["serial"])
    return f"test-report-{serial}-{record.tested_at:%Y%m%d}.pdf"
