"""Help in the field from models that run on our own servers: voice notes recorded with a test (transcribed into
proposed remarks) and photos of dataplates (read into a proposed manufacturer, model, size and serial)."""
from __future__ import annotations

import datetime as dt
import enum
import uuid

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects.postgresql import JSONB

from flowtrack.core.db import Base, TenantScoped, new_id, utcnow
from flowtrack.models.customers import _check_in


class ReadingStatus(str, enum.Enum):
    """Where a model's job on a file stands: waiting for a worker, running, done, or given up."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class RemarksDecision(str, enum.Enum):
    accepted = "accepted"
    dismissed = "dismissed"


# The browser's recorders: Chromium and Firefox record Opus in WebM or Ogg, Safari AAC in MP4.
AUDIO_EXTENSIONS = {"audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a"}


class VoiceNote(TenantScoped, Base):
    """A short voice note a technician recorded on the test form; it arrives with the test and stays with it, as a
    photo on a test does. A job transcribes it; the transcript is proposed as the test's remarks, which someone who
    may amend the test accepts (an amendment carries them: the submitted record is never changed) or dismisses."""

    __tablename__ = "voice_notes"
    __table_args__ = (
        sa.Index("voice_notes_device_idx", "device_id"),
        sa.Index("voice_notes_recorded_by_idx", "recorded_by"),
        sa.Index("voice_notes_decided_by_idx", "decided_by"),
        sa.Index("voice_notes_amendment_idx", "amendment_id"),
        sa.Index("voice_notes_test_record_idx", "test_record_id"),
        _check_in("transcript_status", ReadingStatus, "voice_notes_transcript_status_check"),
        _check_in("decision", RemarksDecision, "voice_notes_decision_check"),
        sa.CheckConstraint("transcript_progress BETWEEN 0 AND 100", name="voice_notes_progress_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    device_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("devices.id"))
    test_record_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("test_records.id"))
    recorded_by: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("users.id"))
    content_type: so.Mapped[str] = so.mapped_column(sa.String(40))
    duration_seconds: so.Mapped[float] = so.mapped_column(sa.REAL)
    byte_size: so.Mapped[int]
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    transcript_status: so.Mapped[str] = so.mapped_column(sa.String(8), default=ReadingStatus.queued.value)
    transcript_progress: so.Mapped[int] = so.mapped_column(sa.SmallInteger, default=0)
    transcript: so.Mapped[str | None] = so.mapped_column(sa.String(4000))
    transcribed_at: so.Mapped[dt.datetime | None]
    decision: so.Mapped[str | None] = so.mapped_column(sa.String(10))
    decided_by: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("users.id"))
    decided_at: so.Mapped[dt.datetime | None]
    # The amendment that carries the accepted remarks.
    amendment_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("test_records.id"))

    @property
    def key(self) -> str:
        return f"{self.company_id}/voice-notes/{self.id}.{AUDIO_EXTENSIONS[self.content_type]}"

    @property
    def proposed(self) -> bool:
        """Whether its transcript waits for someone to accept or dismiss it as the test's remarks."""
        return self.transcript_status == ReadingStatus.done.value and bool(self.transcript) and self.decision is None


class DataplateRead(TenantScoped, Base):
    """A photo of an assembly's dataplate, taken while adding a device (or its replacement) at a location, and what
    OCR read on it: the lines of text and the fields proposed from them. The person confirms each field on the device
    form; once the device is saved, the photo joins the device as one of its photos and this row goes."""

    __tablename__ = "dataplate_reads"
    __table_args__ = (
        sa.Index("dataplate_reads_location_idx", "location_id"),
        sa.Index("dataplate_reads_replacing_idx", "replacing_id"),
        sa.Index("dataplate_reads_uploaded_by_idx", "uploaded_by"),
        _check_in("status", ReadingStatus, "dataplate_reads_status_check"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="dataplate_reads_progress_check"),
    )

    id: so.Mapped[uuid.UUID] = so.mapped_column(primary_key=True, default=new_id)
    location_id: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("customer_locations.id"))
    replacing_id: so.Mapped[uuid.UUID | None] = so.mapped_column(sa.ForeignKey("devices.id"))
    uploaded_by: so.Mapped[uuid.UUID] = so.mapped_column(sa.ForeignKey("users.id"))
    width: so.Mapped[int]
    height: so.Mapped[int]
    status: so.Mapped[str] = so.mapped_column(sa.String(8), default=ReadingStatus.queued.value)
    progress: so.Mapped[int] = so.mapped_column(sa.SmallInteger, default=0)
    lines: so.Mapped[list] = so.mapped_column(JSONB, default=list)
    # {"manufacturer": ..., "model": ..., "size": ..., "serial": ...}: each only when it was read.
    proposal: so.Mapped[dict] = so.mapped_column(JSONB, default=dict)
    created_at: so.Mapped[dt.datetime] = so.mapped_column(default=utcnow)
    read_at: so.Mapped[dt.datetime | None]

    @property
    def key(self) -> str:
        return f"{self.company_id}/dataplates/{self.id}.jpg"

    @property
    def thumbnail_key(self) -> str:
        return f"{self.company_id}/dataplates/{self.id}.thumb.jpg"
