"""The office's filing of test reports with the water districts: what each district is owed, with its deadline,
and the steps a person takes (marking a report submitted, checking a held one again, the district's answer)."""
from __future__ import annotations

import secrets
import uuid

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.companies.services import company_timezone, company_today
from flowtrack.core import cache
from flowtrack.core.forms import add_error, clean, first_error
from flowtrack.core.permissions import DISTRICTS_MANAGE, requires
from flowtrack.core.storage import file_storage
from flowtrack.core.templating import plural
from flowtrack.core.web import get_db
from flowtrack.districts import services as districts
from flowtrack.field_tests import services as testing
from flowtrack.models.companies import Company
from flowtrack.models.customers import District
from flowtrack.models.submissions import ReportSubmission
from flowtrack.submissions import assemblies, batch_fields, batches, district_mail, services
from flowtrack.submissions.batch_forms import BatchForm, ColumnsForm
from flowtrack.submissions.forms import DistrictListForm, ListColumnsForm, OutcomeForm, SubmittedForm

bp = Blueprint("submissions", __name__)


@bp.get("/submissions/")
@requires(DISTRICTS_MANAGE)
def index():
    return render_template("submissions/index.html", summaries=services.summaries(g.db, company_today(g.db)))


def _district_of(district_id: uuid.UUID) -> District:
    district = districts.get_district(g.db, district_id)
    if district is None:
        abort(404)
    return district


def _district_page(district_id: uuid.UUID, status: int = 200, **forms):
    district = _district_of(district_id)
    return render_template("submissions/district.html", district=district, today=company_today(g.db),
                           waiting=services.waiting_for(g.db, district.id),
                           filed=services.recently_filed(g.db, district.id),
                           submitted_form=forms.get("submitted_form") or SubmittedForm(formdata=None),
                           outcome_form=forms.get("outcome_form") or OutcomeForm(formdata=None),
                           refused_id=forms.get("refused_id"),
                           filing=batches.portal_filing(g.db, district, company_today(g.db)),
                           **_list_context(district, forms.get("list_form"))), status


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


# --- the district's list of assemblies ---------------------------------------------------------------------

def _list_context(district: District, list_form: DistrictListForm | None) -> dict:
    return {"district_list": assemblies.list_state(g.db, district),
            "list_form": list_form or DistrictListForm(formdata=None)}


def _list_columns_page(district: District, listed: assemblies.ListFile, form: ListColumnsForm, status: int):
    return render_template("submissions/district_list_columns.html", district=district, form=form,
                           header=listed.header, sample=listed.rows[:3], fields=assemblies.FIELDS), status


def _import(district: District, listed: assemblies.ListFile, columns: dict[str, int], filename: str):
    result = assemblies.import_list(g.db, district, listed, columns, filename)
    g.db.commit()
    message = f"Imported {district.name}'s list: {plural(result.taken, 'assembly', 'assemblies')}"
    message += f" (it replaces the {result.replaced:,} before)." if result.replaced else "."
    if result.refused:
        flash(f"{message} {plural(len(result.refused), 'row')} refused: "
              f"{result.refused_in_words()}.", "warning")
    else:
        flash(message, "success")
    return redirect(url_for("submissions.district", district_id=district.id, _anchor="district-list"), code=303)


@bp.post("/submissions/districts/<uuid:district_id>/assemblies")
@requires(DISTRICTS_MANAGE)
def import_list(district_id: uuid.UUID):
    """The district's list of assemblies, from its CSV: imported at once when the names of its columns say what
    they hold, else the person names the columns next."""
    district = _district_of(district_id)
    form = DistrictListForm()
    if not form.validate_on_submit():
        return _district_page(district.id, 422, list_form=form)
    filename = form.file.data.filename or "list.csv"
    data = form.file.data.read(assemblies.MAX_BYTES + 1)
    try:
        listed = assemblies.read_list(data)
        columns = assemblies.recognised(listed.header)
        if not assemblies.missing(columns):
            return _import(district, listed, columns, filename)
    except assemblies.UnreadableList as problem:
        g.db.rollback()
        add_error(form.file, str(problem))
        return _district_page(district.id, 422, list_form=form)
    token = secrets.token_urlsafe(24)
    if not cache.park(assemblies.parking_key(district, token), data, assemblies.KEEP_SECONDS):
        add_error(form.file, "Name the columns “Serial” and “Address” in the file and upload it again: FlowTrack "
                             "cannot keep it for you to name them here just now.")
        return _district_page(district.id, 422, list_form=form)
    columns_form = ListColumnsForm(formdata=None, token=token, filename=filename,
                                   **{field: str(number) for field, number in columns.items()})
    columns_form.set_choices(listed.column_choices())
    return _list_columns_page(district, listed, columns_form, 200)


@bp.post("/submissions/districts/<uuid:district_id>/assemblies/columns")
@requires(DISTRICTS_MANAGE)
def list_columns(district_id: uuid.UUID):
    """The district's list imported with the columns the person named."""
    district = _district_of(district_id)
    form = ListColumnsForm()
    key = assemblies.parking_key(district, form.token.data or "")
    data = cache.parked(key) if form.token.validate(form) else None
    if data is None:
        flash("The file waited too long for its columns to be named and is gone: upload it again.", "error")
        return redirect(url_for("submissions.district", district_id=district.id, _anchor="district-list"), code=303)
    listed = assemblies.read_list(data)  # read once already, when it was uploaded
    form.set_choices(listed.column_choices())
    if not form.validate_on_submit():
        return _list_columns_page(district, listed, form, 422)
    try:
        answer = _import(district, listed, form.columns(), form.filename.data or "list.csv")
    except assemblies.UnreadableList as problem:
        g.db.rollback()
        add_error(form.serial, str(problem))
        return _list_columns_page(district, listed, form, 422)
    cache.unpark(key)
    return answer


# --- filing on the district's portal: the ready-to-copy sheet, the batch file and its columns -----------------

def _found(thing):
    if thing is None:
        abort(404)
    return thing


def _to_district(district_id: uuid.UUID, anchor: str | None = None):
    return redirect(url_for("submissions.district", district_id=district_id, _anchor=anchor), code=303)


def _sheet_page(submission: ReportSubmission, form: SubmittedForm, status: int = 200):
    return render_template("submissions/sheet.html", sheet=batches.sheet(g.db, submission), form=form,
                           today=company_today(g.db)), status


@bp.route("/submissions/<uuid:submission_id>/sheet", methods=["GET", "POST"])
@requires(DISTRICTS_MANAGE)
def sheet(submission_id: uuid.UUID):
    """One test's values in the order the district's portal asks for them, each to copy; then it is marked
    submitted and the next report waiting opens."""
    if request.method == "GET":
        return _sheet_page(_found(services.get_submission(g.db, submission_id)), SubmittedForm(formdata=None))
    submission = _submission(submission_id)
    form = SubmittedForm()
    if not form.validate_on_submit():
        return _sheet_page(submission, form, 422)
    try:
        services.mark_submitted(g.db, submission, by=current_user.user_id,
                                confirmation_number=clean(form.confirmation_number.data))
    except services.SubmissionRefused as refused:
        g.db.rollback()
        flash(str(refused), "error")
        return redirect(url_for("submissions.sheet", submission_id=submission_id), code=303)
    g.db.commit()
    following = batches.next_to_submit(g.db, submission.district_id)
    if following is None:
        flash("Marked submitted. Nothing else is waiting to be filed one by one.", "success")
        return _to_district(submission.district_id)
    flash("Marked submitted. This is the next report waiting.", "success")
    return redirect(url_for("submissions.sheet", submission_id=following), code=303)


def _columns_page(district, rows: list, status: int = 200, *, form: ColumnsForm | None = None,
                  problems: batch_fields.MappingError | None = None, focus: str | None = None,
                  notice: str | None = None):
    example = batches.example(g.db, district)
    return render_template(
        "submissions/columns.html", district=district, rows=rows, form=form or ColumnsForm(formdata=None),
        groups=batch_fields.grouped_choices(), fields=batch_fields.FIELDS, problems=problems, focus=focus,
        notice=notice, example=example,
        examples=[batch_fields.value_of(example, field) if example else "" for _, field in rows],
        preset=batch_fields.preset_named([batch_fields.Column(*row) for row in rows])), status


@bp.route("/submissions/districts/<uuid:district_id>/columns", methods=["GET", "POST"])
@requires(DISTRICTS_MANAGE)
def batch_columns(district_id: uuid.UUID):
    """The columns of the district's batch file, in its order: rows to add, remove and move, presets to start
    from. The buttons rearrange the rows as typed; only Save keeps them."""
    district = _district_of(district_id)
    if request.method == "GET":
        return _columns_page(district, [tuple(column) for column in batch_fields.columns_of(district)])
    form = ColumnsForm()
    rows = [(entry.header.data or "", entry.field.data or "") for entry in form.columns]
    action = request.form.get("action", "save")
    if not form.validate_on_submit():
        return _columns_page(district, rows, 422, form=form)
    if action != "save":
        edit = batch_fields.edited(rows, action, form.preset.data)
        return _columns_page(district, edit.rows, 422 if edit.refused else 200, form=form, problems=edit.refused,
                             focus=edit.focus, notice=edit.notice)
    try:
        columns = batch_fields.checked(rows)
    except batch_fields.MappingError as problems:
        return _columns_page(district, rows, 422, form=form, problems=problems)
    changed = batches.save_columns(g.db, district, columns)
    g.db.commit()
    flash("The batch file's columns are saved." if changed else "Nothing changed.", "success")
    return _to_district(district.id, "portal-filing")


@bp.post("/submissions/districts/<uuid:district_id>/batches")
@requires(DISTRICTS_MANAGE)
def make_batch(district_id: uuid.UUID):
    """A batch of the reports waiting (this week's, or all), whose file the office then downloads."""
    district = _district_of(district_id)
    form = BatchForm()
    if not form.validate_on_submit():
        flash(first_error(form), "error")
        return _district_page(district.id, 422)
    try:
        batch, taken = batches.make_batch(g.db, district, scope=form.scope.data, by=current_user.user_id,
                                          today=company_today(g.db))
    except batches.BatchRefused as refused:
        g.db.rollback()
        flash(str(refused), "error")
        return _to_district(district.id, "portal-filing")
    g.db.commit()
    flash(f"A batch of {taken:,} report{'s' if taken != 1 else ''} is ready: download its file, upload it on the "
          "district's portal, then mark the batch submitted.", "success")
    return _to_district(district.id, f"batch-{batch.id}")


@bp.get("/submissions/batches/<uuid:batch_id>.csv")
@requires(DISTRICTS_MANAGE)
def batch_csv(batch_id: uuid.UUID):
    """The batch's file in the district's columns (streamed: a batch may hold thousands of tests)."""
    batch = _found(batches.get_batch(g.db, batch_id))
    filename = batches.download_name(districts.get_district(g.db, batch.district_id), batch, company_timezone(g.db))
    batches.record_download(g.db, batch)
    g.db.commit()
    session, db = g.db, get_db()

    def chunks():
        # Read after the view returns (and its session is closed): the stream opens the session again and must
        # give its connection back itself.
        try:
            with db.heavy_reads(session) as reads:
                yield from batches.csv_of_batch(reads, batch)
        finally:
            session.close()

    return Response(chunks(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.post("/submissions/batches/<uuid:batch_id>/submitted")
@requires(DISTRICTS_MANAGE)
def batch_submitted(batch_id: uuid.UUID):
    """The batch's file is on the district's portal: each of its reports is submitted, with the confirmation."""
    batch = _found(batches.get_batch(g.db, batch_id, for_change=True))
    form = SubmittedForm()
    if not form.validate_on_submit():
        return _district_page(batch.district_id, 422, submitted_form=form, refused_id=batch.id)
    try:
        marked = batches.mark_batch_submitted(g.db, batch, by=current_user.user_id,
                                              confirmation_number=clean(form.confirmation_number.data))
    except batches.BatchRefused as refused:
        g.db.rollback()
        flash(str(refused), "error")
        return _to_district(batch.district_id, "portal-filing")
    g.db.commit()
    flash(f"Batch submitted: {marked:,} report{'s' if marked != 1 else ''} marked submitted"
          + (f", confirmation {batch.confirmation_number}." if batch.confirmation_number else "."), "success")
    return _to_district(batch.district_id, "portal-filing")
