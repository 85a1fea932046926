"""Field tests for tests, recorded through the service as a technician's submission is."""
from __future__ import annotations

import base64
import io

from PIL import Image, ImageDraw

from flowtrack.models.customers import Device
from flowtrack.photos import services as photos
from flowtrack.storage import storage_at
from flowtrack.testing import services
from flowtrack.testing.tasks import render_test_report
from tests.customers.factories import Records, _device
from tests.factories import Tenant

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


def photo_jpeg() -> bytes:
    """A small photo as a phone's camera sends it."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 160)).save(out, format="JPEG")
    return out.getvalue()


def file_storage_of(app):
    with app.app_context():
        return storage_at(app.extensions["flowtrack.settings"].instance_path)


def recorded_test(app, factory, tenant: Tenant, device=None, **fields):
    """A submitted passing test of a double check (a new one unless given), by the company's technician."""
    records = Records(app)
    device = device or records.device(tenant, device_type="DC")
    gauge = records.gauge(tenant)
    submission = services.Submission(**{"test_type": "annual", "gauge_id": gauge.id, "readings": DC_PASSING,
                                        **SIGNED, **fields})
    with records.session(tenant) as session:
        return services.record_test(session, session.get(Device, device.id),
                                    tenant.members["technician"].user_id, submission, storage=file_storage_of(app))


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
    return {"test_id": recorded_test(app, factory, tenant).id, "signer": "technician"}


def _photo(app, factory, tenant):
    records = Records(app)
    device = records.device(tenant)
    with records.session(tenant) as session:
        photo = photos.add_photo(session, file_storage_of(app), session.get(Device, device.id),
                                 tenant.members["technician"].user_id, photo_jpeg())
    return {"photo_id": photo.id}


TESTING_URLS = {
    **{endpoint: _device for endpoint in ("testing.new_test", "testing.check", "photos.add")},
    **{endpoint: _test_record for endpoint in ("testing.detail", "testing.report_status", "testing.amend")},
    "testing.report_pdf": _printed_test,
    "testing.signature": _signature,
    **{endpoint: _photo for endpoint in ("photos.full", "photos.thumbnail", "photos.delete")},
}
