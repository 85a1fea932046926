"""The office's filing of test reports with the water districts: what each district is owed, with its deadline,
and the steps a person takes (marking a report submitted, checking a held one again, the district's answer)."""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_login import current_user

from flowtrack.companies.services import company_today
from flowtrack.core.forms import clean
from flowtrack.core.permissions import DISTRICTS_MANAGE, requires
from flowtrack.core.storage import file_storage
from flowtrack.districts import services as districts
from flowtrack.field_tests import services as testing
from flowtrack.models.companies import Company
from flowtrack.models.submissions import ReportSubmission
from flowtrack.submissions import district_mail, services
from flowtrack.submissions.forms import OutcomeForm, SubmittedForm

bp = Blueprint("submissions", __name__)


@bp.get("/submissions/")
@requires(DISTRICTS_MANAGE)
def index():
    return render_template("submissions/index.html", summaries=services.summaries(g.db, company_today(g.db)))


def _district_page(district_id: uuid.UUID, status: int = 200, **forms):
    district = districts.get_district(g.db, district_id)
    if district is None:
        abort(404)
    return render_template("submissions/district.html", district=district, today=company_today(g.db),
                           waiting=services.waiting_for(g.db, district.id),
                           filed=services.recently_filed(g.db, district.id),
                           submitted_form=forms.get("submitted_form") or SubmittedForm(formdata=None),
                           outcome_form=forms.get("outcome_form") or OutcomeForm(formdata=None),
                           refused_id=forms.get("refused_id")), status


@bp.get("/submissions/districts/<uuid:district_id>")
@requires(DISTRICTS_MANAGE)
def district(district_id: uuid.UUID):
    return _district_page(district_id)


def _submission(submission_id: uuid.UUID) -> ReportSubmission:
    found = services.get_submission(g.db, submission_id, for_update=True)
    if found is None:
        abort(404)
    return found


def _back(submission: ReportSubmission, message: str, category: str = "success"):
    flash(message, category)
    return redirect(url_for("submissions.district", district_id=submission.district_id), code=303)


@bp.post("/submissions/<uuid:submission_id>/submitted")
@requires(DISTRICTS_MANAGE)
def submitted(submission_id: uuid.UUID):
    """Filed on the district's portal or on paper."""
    submission = _submission(submission_id)
    form = SubmittedForm()
    if not form.validate_on_submit():
        return _district_page(submission.district_id, 422, submitted_form=form, refused_id=submission.id)
    try:
        services.mark_submitted(g.db, submission, by=current_user.user_id,
                                confirmation_number=clean(form.confirmation_number.data))
    except services.SubmissionRefused as refused:
        g.db.rollback()
        return _back(submission, str(refused), "error")
    g.db.commit()
    return _back(submission, "Marked submitted.")


@bp.post("/submissions/<uuid:submission_id>/check")
@requires(DISTRICTS_MANAGE)
def check_again(submission_id: uuid.UUID):
    submission = _submission(submission_id)
    try:
        services.check_again(g.db, submission)
    except services.SubmissionRefused as refused:
        g.db.rollback()
        return _back(submission, str(refused), "error")
    g.db.commit()
    if submission.status == "held":
        return _back(submission, "Still held back: " + " ".join(submission.held_reasons), "error")
    return _back(submission, "It passes the checks now: " + ("sent." if submission.status == "submitted"
                                                              else "ready to submit."))


@bp.post("/submissions/<uuid:submission_id>/outcome")
@requires(DISTRICTS_MANAGE)
def outcome(submission_id: uuid.UUID):
    """The district's answer to a report filed on its portal, on paper or by email, as the office heard it."""
    submission = _submission(submission_id)
    form = OutcomeForm()
    if not form.validate_on_submit():
        return _district_page(submission.district_id, 422, outcome_form=form, refused_id=submission.id)
    try:
        services.decide(g.db, submission, accepted=form.outcome.data == "accepted", by=current_user.user_id,
                        reason=clean(form.reason.data))
    except services.SubmissionRefused as refused:
        g.db.rollback()
        form.reason.errors = [str(refused)]
        return _district_page(submission.district_id, 422, outcome_form=form, refused_id=submission.id)
    g.db.commit()
    return _back(submission, f"Recorded: {submission.status_label.lower()}.")


@bp.post("/tests/<uuid:test_id>/district-email")
@requires(DISTRICTS_MANAGE)
def email_again(test_id: uuid.UUID):
    """The office sends a printed report to the water district once more."""
    record = testing.get_test(g.db, test_id, None)
    if record is None:
        abort(404)
    try:
        email = district_mail.email_report_again(g.db, record, g.db.get(Company, record.company_id).name,
                                                 file_storage())
    except district_mail.ReportNotSent as refused:
        g.db.rollback()
        flash(str(refused), "error")
        return redirect(url_for("testing.detail", test_id=record.id), code=303)
    g.db.commit()
    flash(f"The report is on its way to {email.to_address}.", "success")
    return redirect(url_for("testing.detail", test_id=record.id), code=303)
