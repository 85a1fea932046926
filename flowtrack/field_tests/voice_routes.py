"""Voice notes on a test's page: listen to one, follow its transcription, accept its proposed remarks (which amends
the test) or dismiss them. Each is seen by whoever may see its test, and decided by whoever may amend it."""
import uuid

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from flowtrack.core.permissions import TESTS_RECORD, TESTS_VIEW, own_work_of, requires
from flowtrack.core.queue import enqueue_after_commit
from flowtrack.core.storage import StoredFileMissing, file_storage
from flowtrack.field_tests import services as testing
from flowtrack.field_tests import voice_notes as services
from flowtrack.field_tests.tasks import render_test_report
from flowtrack.models.companies import Company
from flowtrack.models.field_help import VoiceNote
from flowtrack.models.field_tests import TestRecord

bp = Blueprint("voice_notes", __name__)


def _note(note_id: uuid.UUID) -> tuple[VoiceNote, TestRecord]:
    """A voice note whose test the person may see (a technician: their own tests), with that test."""
    note = services.get_voice_note(g.db, note_id)
    record = testing.get_test(g.db, note.test_record_id, own_work_of(current_user)) if note else None
    if record is None:
        abort(404)
    return note, record


def _card(note: VoiceNote, record: TestRecord) -> dict:
    return {**services.card(g.db, note, record), "timezone": g.db.get(Company, current_user.company_id).timezone}


@bp.get("/voice-notes/<uuid:note_id>/audio")
@requires(TESTS_VIEW)
def audio(note_id: uuid.UUID):
    note, _ = _note(note_id)
    try:
        data = file_storage().get(note.key)
    except StoredFileMissing:
        abort(404)
    response = Response(data, mimetype=note.content_type)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/voice-notes/<uuid:note_id>")
@requires(TESTS_VIEW)
def card(note_id: uuid.UUID):
    """The voice note's card on its test's page, polled while its transcript is made."""
    return render_template("testing/_voice_note.html", **_card(*_note(note_id)))


@bp.post("/voice-notes/<uuid:note_id>/accept")
@requires(TESTS_RECORD)
def accept(note_id: uuid.UUID):
    """The proposed remarks, as they are or as edited, become the test's notes in an amendment."""
    note, record = _note(note_id)
    remarks = request.form.get("remarks", "")
    try:
        amendment = services.accept(g.db, note, record, current_user.user_id, remarks)
    except (services.RemarksRefused, testing.TestRefused) as refused:
        g.db.rollback()
        message = str(refused) if isinstance(refused, services.RemarksRefused) else \
            " ".join(dict.fromkeys(refused.errors.values()))
        return render_template("testing/remarks.html", record=record, remarks=remarks, error=message,
                               **_card(note, record)), 422
    enqueue_after_commit(g.db, render_test_report, current_user.company_id, str(amendment.id),
                         description="test report")
    g.db.commit()
    flash("The remarks from the voice note are on the test now, in an amendment; the original is kept as it was.",
          "success")
    return redirect(url_for("testing.detail", test_id=amendment.id), code=303)


@bp.post("/voice-notes/<uuid:note_id>/dismiss")
@requires(TESTS_RECORD)
def dismiss(note_id: uuid.UUID):
    note, record = _note(note_id)
    try:
        services.dismiss(g.db, note, current_user.user_id)
    except services.RemarksRefused as refused:
        g.db.rollback()
        flash(str(refused), "error")
        return redirect(url_for("testing.detail", test_id=record.id), code=303)
    g.db.commit()
    flash("The proposed remarks were dismissed; the voice note stays with the test.", "success")
    return redirect(url_for("testing.detail", test_id=record.id), code=303)
