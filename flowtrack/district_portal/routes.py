"""The district view: a district admin's window on their own water district's current tests (filtered, paged, as
CSV), those tests' report PDFs, and the district's devices; and their answer (accepted, or rejected with the reason)
to each report the testing company sent through the district view. Every download is audited, as every answer."""
import uuid

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.audit import services as audit
from flowtrack.companies.services import company_timezone, company_today
from flowtrack.core.permissions import DISTRICT_PORTAL_DECIDE, DISTRICT_PORTAL_VIEW, requires
from flowtrack.core.storage import StoredFileMissing, file_storage
from flowtrack.core.templating import is_fragment
from flowtrack.core.web import get_db
from flowtrack.district_portal import services
from flowtrack.district_portal.forms import DeviceFilterForm, RejectForm, TestFilterForm
from flowtrack.field_tests import report
from flowtrack.models.customers import District, SubmissionMethod
from flowtrack.models.field_tests import ReportStatus
from flowtrack.submissions import services as submissions

bp = Blueprint("district_portal", __name__, url_prefix="/district")


def _district() -> District | None:
    return services.district_of(g.db, current_user.user_id)


def _test_filters() -> tuple[TestFilterForm, services.TestQuery, bool]:
    """The form, the query it asks for (every test when it does not validate) and whether it validated."""
    form = TestFilterForm(request.args)
    if not form.validate():
        return form, services.TestQuery(), False
    return form, services.TestQuery(tested_from=form.tested_from.data, tested_to=form.tested_to.data,
                                    result=form.result.data or None, device_type=form.device_type.data or None,
                                    q=form.q.data or None, after=request.args.get("after")), True


@bp.get("/")
@requires(DISTRICT_PORTAL_VIEW)
def index():
    """The district's current tests, newest first, by date, result, assembly type, serial or address."""
    form, query, valid = _test_filters()
    district = _district()
    zone = company_timezone(g.db)
    page = services.page_of_tests(g.db, district.id if district else None, query, zone)
    status = 200 if valid else 422
    names = {"page": page, "query": query, "zone": zone, "results": services.RESULTS}
    if is_fragment():
        return render_template("district_portal/_tests.html", **names), status
    return render_template("district_portal/index.html", district=district, form=form, **names), status


@bp.get("/tests.csv")
@requires(DISTRICT_PORTAL_VIEW)
def tests_csv():
    """Every test the list's filters select, as a CSV file (streamed: a district may hold thousands)."""
    form, query, valid = _test_filters()
    if not valid:
        abort(422, "The filters are not valid; open the list and choose them again.")
    district = _district()
    district_id = district.id if district else None
    zone = company_timezone(g.db)
    filename = f"district-tests-{company_today(g.db).isoformat()}.csv"
    audit.record(g.db, "district.tests_exported", entity_type="district", entity_id=district_id,
                 changes={"filters": query.params(after=None)})
    g.db.commit()
    session, db = g.db, get_db()

    def chunks():
        # The rows are read after the view returns (and its session is closed): the stream opens the session
        # again and must give its connection back itself.
        try:
            with db.heavy_reads(session) as reads:
                yield from services.csv_of_tests(reads, district_id, query, zone)
        finally:
            session.close()

    return Response(chunks(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/tests/<uuid:test_id>/report.pdf")
@requires(DISTRICT_PORTAL_VIEW)
def report_pdf(test_id: uuid.UUID):
    """A test's printed report; not found until the worker has printed it, and for any test not the district's."""
    district = _district()
    record = services.find_test(g.db, district.id if district else None, test_id)
    if record is None or record.report_status != ReportStatus.done.value:
        abort(404)
    try:
        response = report.send_report(file_storage(), record, company_timezone(g.db))
    except StoredFileMissing:
        abort(404)
    audit.record(g.db, "test_report.downloaded", entity_type="test_record", entity_id=record.id,
                 changes={"by": "district"})
    g.db.commit()
    return response


@bp.get("/devices")
@requires(DISTRICT_PORTAL_VIEW)
def devices():
    """The district's devices by serial, with their latest test and next due date."""
    form = DeviceFilterForm(request.args)
    valid = form.validate()
    query = services.DeviceQuery(device_type=form.device_type.data or None, q=form.q.data or None,
                                 after=request.args.get("after")) if valid else services.DeviceQuery()
    district = _district()
    page = services.page_of_devices(g.db, district.id if district else None, query)
    status = 200 if valid else 422
    names = {"page": page, "query": query, "today": company_today(g.db), "zone": company_timezone(g.db),
             "results": services.RESULTS}
    if is_fragment():
        return render_template("district_portal/_devices.html", **names), status
    return render_template("district_portal/devices.html", district=district, form=form, **names), status


# --- the district's answers --------------------------------------------------------------------------------

def _page_to_answer(status: int = 200, form: RejectForm | None = None, refused_id: uuid.UUID | None = None):
    district = _district()
    waiting = submissions.waiting_for_answer(g.db, district.id) if district else []
    return render_template("district_portal/answers.html", district=district, waiting=waiting,
                           zone=company_timezone(g.db), form=form or RejectForm(formdata=None),
                           refused_id=refused_id), status


@bp.get("/answers")
@requires(DISTRICT_PORTAL_DECIDE)
def answers():
    """The reports sent through the district view that wait for the district's answer."""
    return _page_to_answer()


def _submission_of(test_id: uuid.UUID):
    district = _district()
    record = services.find_test(g.db, district.id if district else None, test_id)
    submission = submissions.submission_of(g.db, record.id, for_update=True) if record else None
    if submission is None or submission.method != SubmissionMethod.district_view.value:
        abort(404)
    return submission


@bp.post("/tests/<uuid:test_id>/accept")
@requires(DISTRICT_PORTAL_DECIDE)
def accept(test_id: uuid.UUID):
    submission = _submission_of(test_id)
    try:
        submissions.decide(g.db, submission, accepted=True, by=current_user.user_id, reason=None)
    except submissions.SubmissionRefused as refused:
        g.db.rollback()
        flash(str(refused), "error")
        return redirect(url_for("district_portal.answers"), code=303)
    g.db.commit()
    flash("Accepted.", "success")
    return redirect(url_for("district_portal.answers"), code=303)


@bp.post("/tests/<uuid:test_id>/reject")
@requires(DISTRICT_PORTAL_DECIDE)
def reject(test_id: uuid.UUID):
    submission = _submission_of(test_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return _page_to_answer(422, form, submission.id)
    try:
        submissions.decide(g.db, submission, accepted=False, by=current_user.user_id, reason=form.reason.data.strip())
    except submissions.SubmissionRefused as refused:
        g.db.rollback()
        flash(str(refused), "error")
        return redirect(url_for("district_portal.answers"), code=303)
    g.db.commit()
    flash("Rejected: the testing company sees your reason.", "success")
    return redirect(url_for("district_portal.answers"), code=303)
