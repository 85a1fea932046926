"""Voice notes: recorded on the test form, kept with the test, transcribed by a job, and the transcript proposed as
the test's remarks.

A submitted test is final (the app role cannot change a test record), and its notes are on the report the district
receives. So accepting the proposed remarks amends the test, as any correction does: a new record naming the
original, with the accepted text as its notes, who accepted it and why, and an amended report. The original keeps
what it said, the audit log holds the change, and the voice note names the amendment that carries its words.
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so

from flowtrack.audit import services as audit
from flowtrack.core.db import utcnow
from flowtrack.core.storage import FileStorage
from flowtrack.field_tests import services as testing
from flowtrack.field_tests import speech
from flowtrack.models.field_help import ReadingStatus, RemarksDecision, VoiceNote
from flowtrack.models.field_tests import TestRecord

MAX_REMARKS = 2000  # a test's notes
AMENDMENT_REASON = "Remarks from the voice note recorded with the test"


class RemarksRefused(ValueError):
    """The remarks cannot be accepted as they are; the message says why."""


def add_voice_note(session: so.Session, storage: FileStorage, record: TestRecord, user_id: uuid.UUID, data: bytes,
                   declared_type: str | None) -> VoiceNote:
    """Keep a voice note that came with a test; speech.AudioRefused with the reason when it is not a recording we
    can use. The audio is checked by decoding it here (milliseconds); transcribing it is the job's."""
    content_type = speech.content_type_of(declared_type)
    duration = speech.seconds(speech.pcm(data, content_type))
    note = VoiceNote(id=uuid.uuid4(), company_id=record.company_id, device_id=record.device_id,
                     test_record_id=record.id, recorded_by=user_id, content_type=content_type,
                     duration_seconds=round(duration, 1), byte_size=len(data),
                     transcript_status=ReadingStatus.queued.value, transcript_progress=0)
    storage.put(note.key, data, content_type)  # the file first: a failed insert leaves a file, never a row without
    session.add(note)
    session.flush()
    audit.record(session, "test.voice_note_added", entity_type="test_record", entity_id=record.id,
                 changes={"voice_note": str(note.id), "seconds": note.duration_seconds})
    return note


def get_voice_note(session: so.Session, note_id: uuid.UUID) -> VoiceNote | None:
    return session.get(VoiceNote, note_id)


def voice_notes_of(session: so.Session, record: TestRecord) -> list[VoiceNote]:
    """The voice notes of a test as it stands: those recorded with it or with any version it amends."""
    return list(session.scalars(sa.select(VoiceNote).where(
        VoiceNote.test_record_id.in_(testing.versions_before(session, record))).order_by(VoiceNote.created_at)))


def proposed_remarks(record: TestRecord, note: VoiceNote) -> str:
    """The remarks proposed from a voice note: its transcript, after the notes the technician typed, if any."""
    typed = (record.notes or "").strip()
    heard = (note.transcript or "").strip()
    if heard:
        heard = heard[0].upper() + heard[1:] + ("" if heard.endswith(".") else ".")
    return f"{typed}\n{heard}" if typed else heard


def card(session: so.Session, note: VoiceNote, record: TestRecord) -> dict:
    """What a voice note's card on a test's page shows: the proposal made from the test as it stands now (its newest
    version's notes), and who decided on it."""
    proposal = proposed_remarks(newest_version(session, record), note) if note.proposed else None
    return {"note": note, "proposal": proposal, "decided_by": testing.person_name(session, note.decided_by)}


def newest_version(session: so.Session, record: TestRecord) -> TestRecord:
    """The test as it stands now: the record itself, or the last amendment in its line."""
    while (newer := testing.amendment_of(session, record.id)) is not None:
        record = newer
    return record


def accept(session: so.Session, note: VoiceNote, record: TestRecord, user_id: uuid.UUID, remarks: str) -> TestRecord:
    """Make `remarks` (the proposal as it is, or as the person edited it) the test's notes by amending its newest
    version; returns the amendment. RemarksRefused when there is nothing to accept or the text will not do;
    testing.TestRefused when the amendment is refused (someone amended the test at the same moment)."""
    if not note.proposed:
        raise RemarksRefused("This voice note has no remarks waiting to be accepted.")
    remarks = (remarks or "").strip()
    if not remarks:
        raise RemarksRefused("Write the remarks, or dismiss the proposal.")
    if len(remarks) > MAX_REMARKS:
        raise RemarksRefused(f"Keep the remarks under {MAX_REMARKS:,} characters.")
    current = newest_version(session, record)
    submission = testing.Submission(
        test_type=current.test_type, gauge_id=current.gauge_id, line_pressure_psi=current.line_pressure_psi,
        shutoff1_tight=current.shutoff1_tight, readings=dict(current.readings), repairs=list(current.repairs),
        retest_readings=dict(current.retest_readings or {}), notes=remarks)
    amendment = testing.amend_test(session, current, user_id, submission, AMENDMENT_REASON)
    _decide(session, note, user_id, RemarksDecision.accepted, amendment_id=amendment.id)
    return amendment


def dismiss(session: so.Session, note: VoiceNote, user_id: uuid.UUID) -> None:
    """The proposal is not wanted: the test keeps its notes, and the voice note and its transcript stay."""
    if not note.proposed:
        raise RemarksRefused("This voice note has no remarks waiting to be accepted.")
    _decide(session, note, user_id, RemarksDecision.dismissed)


def _decide(session: so.Session, note: VoiceNote, user_id: uuid.UUID, decision: RemarksDecision,
            amendment_id: uuid.UUID | None = None) -> None:
    note.decision, note.decided_by, note.decided_at = decision.value, user_id, utcnow()
    note.amendment_id = amendment_id
    session.flush()
    audit.record(session, f"test.voice_remarks_{decision.value}", entity_type="test_record",
                 entity_id=note.test_record_id,
                 changes={"voice_note": str(note.id), "transcript": note.transcript,
                          **({"amendment": str(amendment_id)} if amendment_id else {})})


# --- the job's side ---------------------------------------------------------------------------------------------

def transcribe_note(session: so.Session, storage: FileStorage, note: VoiceNote) -> None:
    """Transcribe a voice note, committing its progress as it goes and the transcript at the end."""
    note.transcript_status, note.transcript_progress = ReadingStatus.running.value, 5
    session.commit()
    samples = speech.pcm(storage.get(note.key), note.content_type)
    note.transcript_progress = 10
    session.commit()

    def progress(share: float) -> None:
        percent = 10 + round(85 * share)
        if percent >= note.transcript_progress + 10:  # a commit per tenth, not per pause in the speech
            note.transcript_progress = percent
            session.commit()

    text = speech.transcribe(samples, progress)
    note.transcript = text[:4000]
    note.transcript_status, note.transcript_progress, note.transcribed_at = ReadingStatus.done.value, 100, utcnow()
    session.commit()
