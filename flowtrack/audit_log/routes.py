"""The audit log for auditors and admins: filtered viewer, entry detail, chain verification, reports."""
import uuid

import sqlalchemy as sa
from flask import Blueprint, abort, g, render_template, request
from flask_login import current_user

from flowtrack.audit.filters import AuditFilters
from flowtrack.audit_log.forms import AuditFilterForm, AuditReportForm
from flowtrack.audit_log.tasks import verify_company_chain
from flowtrack.core.db import utcnow
from flowtrack.core.paging import BIGINT_MAX, number_position
from flowtrack.core.permissions import AUDIT_EXPORT, AUDIT_VERIFY, AUDIT_VIEW, requires
from flowtrack.core.queue import enqueue_for_company, fetch_company_job
from flowtrack.core.templating import is_fragment
from flowtrack.exports import services as exports
from flowtrack.exports import views as export_views
from flowtrack.models.audit import AuditEntry
from flowtrack.models.companies import Company

bp = Blueprint("audit", __name__, url_prefix="/audit")

PAGE_SIZE = 50
REPORT_KINDS = ("audit_csv", "audit_pdf")


def _company() -> Company:
    return g.db.get(Company, current_user.company_id)


@bp.get("/")
@requires(AUDIT_VIEW)
def index():
    """Entries newest first, filtered, a page at a time (keyset on the sequence number)."""
    form = AuditFilterForm(request.args)
    company = _company()
    valid = form.validate()
    filters = form.filters() if valid else AuditFilters()
    try:
        before = number_position(request.args.get("before"), largest=BIGINT_MAX)
    except ValueError:
        abort(400, "Not a page of this list.")
    query = filters.apply(sa.select(AuditEntry), company.timezone).order_by(AuditEntry.seq.desc()).limit(PAGE_SIZE + 1)
    if before:
        query = query.where(AuditEntry.seq < before)
    entries = list(g.db.scalars(query))
    older = entries[PAGE_SIZE - 1].seq if len(entries) > PAGE_SIZE else None
    context = {"entries": entries[:PAGE_SIZE], "older": older, "query": filters.to_params()}
    if is_fragment() and before:
        return render_template("audit/_rows.html", **context)
    report_form = AuditReportForm(formdata=None, data=form.data)
    return render_template("audit/index.html", form=form, report_form=report_form, company=company,
                           reports=exports.recent_exports(g.db, REPORT_KINDS), now=utcnow(),
                           reports_allowed=exports.audit_reports_allowed(company), **context), 200 if valid else 422


@bp.get("/entries/<uuid:entry_id>")
@requires(AUDIT_VIEW)
def entry(entry_id: uuid.UUID):
    """One entry with its before/after."""
    found = g.db.get(AuditEntry, entry_id)
    if found is None:
        abort(404)
    template = "audit/_entry.html" if is_fragment() else "audit/entry.html"
    return render_template(template, e=found)


@bp.post("/verify")
@requires(AUDIT_VERIFY)
def verify():
    """Start a verification of the company's whole chain in the background."""
    job = enqueue_for_company(verify_company_chain, current_user.company_id, description="Verify audit chain")
    return render_template("audit/_verification.html", job=job), 202


@bp.get("/verify/<job_id>")
@requires(AUDIT_VERIFY)
def verification(job_id: str):
    """Progress, then the result, of a verification job (polled by HTMX)."""
    job = fetch_company_job(job_id, current_user.company_id)
    if job is None:
        abort(404)
    return render_template("audit/_verification.html", job=job)


@bp.post("/reports")
@requires(AUDIT_EXPORT)
def start_report():
    """Queue a CSV or PDF report of the filtered entries (professional and enterprise plans)."""
    company = _company()
    if not exports.audit_reports_allowed(company):
        return render_template("audit/_upgrade.html"), 403
    form = AuditReportForm()
    if not form.validate():
        return render_template("audit/_report_errors.html", form=form), 422
    kind = "audit_pdf" if form.format.data == "pdf" else "audit_csv"
    return export_views.start(kind, "audit", form.filters().to_params())


@bp.get("/reports/<uuid:export_id>")
@requires(AUDIT_EXPORT)
def status(export_id: uuid.UUID):
    """Progress of one report (polled by HTMX), then its download link."""
    return export_views.status(export_views.find_or_404(export_id, REPORT_KINDS), "audit")


@bp.get("/reports/<uuid:export_id>/download")
@requires(AUDIT_EXPORT)
def download(export_id: uuid.UUID):
    """The finished report, to this company's auditors and admins, until it expires."""
    return export_views.download(export_views.find_or_404(export_id, REPORT_KINDS))
