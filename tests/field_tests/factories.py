"""Field tests for tests, recorded through the service as a technician's submission is."""
from __future__ import annotations

import base64
import datetime as dt
import io
import uuid
from urllib.parse import parse_qs, urlsplit

import av
import numpy as np
from PIL import Image, ImageDraw

from flowtrack.field_tests import services, voice_notes
from flowtrack.field_tests.evidence import PhoneEvidence
from flowtrack.field_tests.tasks import render_test_report
from flowtrack.models.customers import Device
from flowtrack.models.field_help import VoiceNote
from flowtrack.models.field_tests import TestRecord
from flowtrack.photos import services as photos
from tests.customers.factories import Records, _device
from tests.factories import Tenant, file_store

DC_PASSING = {"check1_psid": "2.4", "check2_psid": "1.8"}


def drawn_signature(width: int = 600, height: int = 160, ink: bool = True) -> str:
    """What the signature pad sends: a transparent PNG with a stroke on it (none when `ink` is False)."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if ink:
        ImageDraw.Draw(image).line([(20, height - 40), (width // 3, 30), (width - 30, height - 50)], fill="black",
                                   width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


SIGNED = {"technician_signature": drawn_signature()}


def camera_photo(width: int = 2400, height: int = 1800, gps: bool = False, format: str = "JPEG") -> bytes:
    """What a phone camera uploads: a large picture, with a GPS position in its EXIF when `gps` is True."""
    image = Image.new("RGB", (width, height), (40, 90, 160))
    ImageDraw.Draw(image).rectangle([(width // 4, height // 4), (width // 2, height // 2)], fill=(220, 60, 40))
    exif = Image.Exif()
    if gps:
        exif[0x8825] = {1: "N", 2: (44.0, 3.0, 7.0), 3: "W", 4: (123.0, 5.0, 11.0)}
        exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, format=format, exif=exif)
    return out.getvalue()


RP_PASSING = {"r_check1_psid": "6.2", "r_relief_opened_psid": "2.8", "r_check2_psid": "1.6",
              "r_check2_closed_tight": "yes", "r_shutoff2_held": "yes"}


def submit_rp(browser, device, kit, **fields):
    """A technician submits a passing annual test of an RP from the phone form (fields override)."""
    data = {"test_type": "annual", "gauge_id": str(kit.id), "line_pressure_psi": "72", "shutoff1_tight": "yes",
            **RP_PASSING, **SIGNED, **fields}
    return browser.submit(f"/devices/{device.id}/tests/new", data)


def submitted_test_id(response) -> str:
    """The test a submission recorded: named by the page it leads to (the test's own, or the job's `tested`)."""
    assert response.status_code == 303, response.text[:2000]
    location = urlsplit(response.headers["Location"])
    return parse_qs(location.query)["tested"][0] if location.query else location.path.rsplit("/", 1)[1]


def file_storage_of(app):
    return file_store(app)


def recorded_test(app, factory, tenant: Tenant, device=None, client_id=None, evidence=None, **fields):
    """A submitted passing test of a double check (a new one unless given), by the company's technician (sent
    from the phone's outbox when given the phone's `client_id` and `evidence`)."""
    records = Records(app)
    device = device or records.device(tenant, device_type="DC")
    gauge = records.gauge(tenant)
    submission = services.Submission(**{"test_type": "annual", "gauge_id": gauge.id, "readings": DC_PASSING,
                                        **SIGNED, **fields})
    with records.session(tenant) as session:
        return services.record_test(session, session.get(Device, device.id),
                                    tenant.members["technician"].user_id, submission, storage=file_storage_of(app),
                                    client_id=client_id, evidence=evidence)


def printed_test(app, factory, tenant: Tenant, device=None):
    """A recorded test whose report is printed (by the worker's function, called here in-process)."""
    record = recorded_test(app, factory, tenant, device)
    with app.app_context():
        render_test_report(str(tenant.id), str(record.id))
    return record


def _test_record(app, factory, tenant):
    return {"test_id": recorded_test(app, factory, tenant).id}


def _printed_test(app, factory, tenant):
    return {"test_id": printed_test(app, factory, tenant).id}


def _signature(app, factory, tenant):
    return {**_test_record(app, factory, tenant), "signer": "technician"}


def device_photo(app, tenant: Tenant, device_id=None):
    """A photo of a device (a new one unless given), taken by the company's technician."""
    records = Records(app)
    device_id = device_id or records.device(tenant).id
    with records.session(tenant) as session:
        return photos.add_photo(session, file_storage_of(app), session.get(Device, device_id),
                                tenant.members["technician"].user_id, camera_photo(640, 480))


def _phone_test(app, factory, tenant):
    """A test that arrived from a phone's outbox, under the id the phone gave it."""
    now = dt.datetime.now(dt.timezone.utc)
    record = recorded_test(app, factory, tenant, client_id=uuid.uuid4(), evidence=PhoneEvidence(now, now))
    return {"client_id": record.client_id}


def _photo(app, factory, tenant):
    return {"photo_id": device_photo(app, tenant).id}


def recorded_audio(samples: np.ndarray | None = None, rate: int = 48_000, container: str = "webm") -> bytes:
    """What a browser's recorder makes of `samples` (16-bit mono at `rate`; a second of a quiet hum unless given):
    Opus in WebM, or in Ogg."""
    if samples is None:
        samples = (np.sin(np.arange(rate) * 2 * np.pi * 220 / rate) * 3000).astype(np.int16)
    out = io.BytesIO()
    with av.open(out, "w", format=container) as recording:
        stream = recording.add_stream("libopus", rate=48_000, layout="mono")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for converted in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(converted):
                recording.mux(packet)
        for packet in stream.encode(None):
            recording.mux(packet)
    return out.getvalue()


def voice_note(app, tenant: Tenant, record=None, transcript: str | None = None, test_id=None) -> VoiceNote:
    """A voice note kept with a test (a new one unless given), transcribed as `transcript` when given (the words a
    worker would have made out: the transcription itself is tested with speech, in test_voice_notes.py)."""
    test_id = test_id or (record or recorded_test(app, None, tenant)).id
    records = Records(app)
    with records.session(tenant) as session:
        note = voice_notes.add_voice_note(session, file_storage_of(app), session.get(TestRecord, test_id),
                                          tenant.members["technician"].user_id, recorded_audio(), "audio/webm")
        if transcript is not None:
            note.transcript, note.transcript_status, note.transcript_progress = transcript, "done", 100
        return note


def _voice_note(app, factory, tenant):
    return {"note_id": voice_note(app, tenant, transcript="check valve one closed tight").id}


TESTING_URLS = {
    **{endpoint: _voice_note for endpoint in ("voice_notes.audio", "voice_notes.card", "voice_notes.accept",
                                              "voice_notes.dismiss")},
    **{endpoint: _device for endpoint in ("testing.new_test", "photos.add")},
    **{endpoint: _test_record for endpoint in ("testing.detail", "testing.report_status", "testing.amend")},
    **{endpoint: _printed_test for endpoint in ("testing.report_pdf", "submissions.email_again")},
    "testing.signature": _signature,
    "testing.arrive": _phone_test,
    **{endpoint: _photo for endpoint in ("photos.full", "photos.thumbnail", "photos.delete")},
}
