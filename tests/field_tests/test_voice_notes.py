"""A technician records a voice note on the test form; it waits with the test in the phone's outbox and arrives with
it; a worker writes it out with a speech model on our own servers, and the words are proposed as the test's remarks.
Whoever may amend the test accepts them (an amendment: the test as submitted stays as it was), edits them, or
dismisses them."""
import io
import uuid

import numpy as np
import pytest
import sqlalchemy as sa

from flowtrack.models.field_help import VoiceNote
from flowtrack.models.field_tests import TestRecord
from tests.field_tests.factories import recorded_audio, recorded_test, voice_note
from tests.field_tests.speaking import spoken
from tests.field_tests.test_outbox import phone_test, send
from tests.scheduling.factories import company_today

SAID = "check valve one closed tight"


def _notes(app, **where) -> list[VoiceNote]:
    with app.extensions["flowtrack.db"].service() as s:
        return list(s.scalars(sa.select(VoiceNote).filter_by(**where)))


def _test(app, test_id) -> TestRecord:
    with app.extensions["flowtrack.db"].service() as s:
        return s.get(TestRecord, test_id)


def _at_a_stop(acme, records, planner):
    """A double check on the technician's day, and a calibrated kit."""
    device = records.device(acme, device_type="DC")
    planner.assign(acme, device, day=company_today(acme))
    return device, records.gauge(acme)


def _send_with_voice(technician, device, kit, audio: bytes, kind: str = "audio/webm;codecs=opus"):
    data = {**phone_test(device, kit), "voice_note": (io.BytesIO(audio), "voice-note.webm", kind)}
    return send(technician, uuid.uuid4(), data)


def test_a_spoken_voice_note_is_written_out_by_a_worker_and_accepted_as_the_remarks(
        app, technician, office, acme, records, planner, run_worker):
    device, kit = _at_a_stop(acme, records, planner)
    arrived = _send_with_voice(technician, device, kit, spoken(SAID))
    assert arrived.status_code == 201, arrived.json
    test_id = arrived.json["test"].rsplit("/", 1)[1]
    [note] = _notes(app, test_record_id=uuid.UUID(test_id))
    # The request kept the recording and queued its transcription; it did not transcribe it.
    assert (note.transcript_status, note.transcript, note.content_type) == ("queued", None, "audio/webm")
    assert 1.5 < note.duration_seconds < 4
    page = office.get(f"/tests/{test_id}")
    assert "Waiting for a worker to write it out" in page.text and f"/voice-notes/{note.id}/audio" in page.text

    run_worker()

    [note] = _notes(app, id=note.id)
    assert (note.transcript_status, note.transcript_progress) == ("done", 100)
    heard = set(note.transcript.split())
    # PocketSphinx's general English model on a synthetic voice: "check valve one" comes through whole, "closed
    # tight" as "close to ..." (see speaking.py). Three of the five words, the first three among them, is the bar.
    assert {"check", "valve", "one"} <= heard and len(heard & set(SAID.split())) >= 3, note.transcript
    card = office.get(f"/voice-notes/{note.id}")
    assert "Proposed from the voice note" in card.text and note.transcript in card.text
    listened = office.get(f"/voice-notes/{note.id}/audio")
    assert listened.status_code == 200 and listened.mimetype == "audio/webm"

    accepted = office.submit(f"/voice-notes/{note.id}/accept", {"remarks": note.transcript.capitalize() + "."})
    assert accepted.status_code == 303
    amendment_id = accepted.headers["Location"].rsplit("/", 1)[1]
    amendment, original = _test(app, uuid.UUID(amendment_id)), _test(app, uuid.UUID(test_id))
    assert amendment.amends_id == original.id and amendment.notes == note.transcript.capitalize() + "."
    assert original.notes is None and amendment.readings == original.readings and amendment.result == original.result
    [note] = _notes(app, id=note.id)
    assert (note.decision, note.amendment_id) == ("accepted", amendment.id)
    page = office.get(f"/tests/{amendment_id}")
    assert "Accepted as the test's remarks by" in page.text and amendment.notes in page.text


def test_the_remarks_proposed_follow_the_notes_typed_and_can_be_edited_before_they_are_accepted(
        app, office, acme):
    record = recorded_test(app, None, acme, notes="Vault lid cracked.")
    note = voice_note(app, acme, record, transcript="relief valve opened at three")
    page = office.get(f"/tests/{record.id}")
    assert "Proposed from the voice note:</strong> “relief valve opened at three”" in page.text
    assert "Vault lid cracked.\nRelief valve opened at three." in page.text  # what Accept sends as it is
    emptied = office.submit(f"/voice-notes/{note.id}/accept", {"remarks": "  "})
    assert emptied.status_code == 422 and "Write the remarks, or dismiss the proposal." in emptied.text
    assert _notes(app, id=note.id)[0].decision is None
    edited = office.submit(f"/voice-notes/{note.id}/accept", {"remarks": "Vault lid cracked. Relief opened at 3.0."})
    amendment = _test(app, uuid.UUID(edited.headers["Location"].rsplit("/", 1)[1]))
    assert amendment.notes == "Vault lid cracked. Relief opened at 3.0."
    assert amendment.amendment_reason == "Remarks from the voice note recorded with the test"
    again = office.submit(f"/voice-notes/{note.id}/accept", {"remarks": "Twice"})
    assert again.status_code == 422 and "no remarks waiting" in again.text


def test_dismissed_remarks_leave_the_test_as_it_was(app, office, acme):
    record = recorded_test(app, None, acme)
    note = voice_note(app, acme, record, transcript="hello there")
    assert office.submit(f"/voice-notes/{note.id}/dismiss", {}).status_code == 303
    [note] = _notes(app, id=note.id)
    assert note.decision == "dismissed" and note.amendment_id is None
    page = office.get(f"/tests/{record.id}")
    assert "Dismissed by" in page.text and "Proposed from the voice note" not in page.text


def test_who_may_only_see_the_test_sees_the_proposal_but_cannot_accept_it(app, login, acme):
    record = recorded_test(app, None, acme)
    note = voice_note(app, acme, record, transcript="check valve one closed tight")
    scheduler = login(acme, "scheduler")
    page = scheduler.get(f"/tests/{record.id}")
    assert "Proposed from the voice note" in page.text and f"/voice-notes/{note.id}/accept" not in page.text
    assert scheduler.submit(f"/voice-notes/{note.id}/accept", {"remarks": "x"}).status_code == 403


@pytest.mark.parametrize("audio, kind, problem", [
    (b"not a recording at all" * 40, "audio/webm", "could not be read"),
    (recorded_audio(container="ogg"), "video/mp4", "Record the voice note in the browser"),
    (recorded_audio(container="ogg"), "audio/webm", "could not be read"),  # not what the phone said it was
], ids=["noise", "another type", "mislabelled"])
def test_a_voice_note_that_is_not_a_usable_recording_is_refused_with_the_test(
        app, technician, acme, records, planner, audio, kind, problem):
    device, kit = _at_a_stop(acme, records, planner)
    refused = _send_with_voice(technician, device, kit, audio, kind)
    assert refused.status_code == 422 and problem in refused.json["errors"]["voice_note"]
    assert _notes(app, device_id=device.id) == []
    with app.extensions["flowtrack.db"].service() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(TestRecord).where(TestRecord.device_id == device.id)) \
            == 0


def test_a_recording_over_a_minute_is_refused(app, technician, acme, records, planner):
    device, kit = _at_a_stop(acme, records, planner)
    long = recorded_audio(np.zeros(48_000 * 70, dtype=np.int16))
    refused = _send_with_voice(technician, device, kit, long)
    assert refused.status_code == 422 and "at most a minute" in refused.json["errors"]["voice_note"]
