"""A photo's upload: the technician adds 1600 px JPEGs (as the phone makes them) to a device of the large company,
in process through the app (the request, the checks, re-encoding without EXIF, the thumbnail, the file store, the
row and its audit entry), against Pillow alone doing the same re-encoding and thumbnail (`images.prepared_photo`).

    python bench/photo_upload.py [--photos 40]
"""
from __future__ import annotations

import argparse
import io
import re
import statistics
import time

import sqlalchemy as sa
from _common import bench_app, seed_large_company
from offline_sync import _photo
from pages import _cookie


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=40)
    args = parser.parse_args()

    from flowtrack.core.images import prepared_photo
    from flowtrack.models.customers import Device
    from flowtrack.models.field_tests import DevicePhoto as Photo

    app = bench_app()
    company = seed_large_company(app)
    db = app.extensions["flowtrack.db"]
    with db.service() as session:
        device_id = session.scalar(sa.select(Device.id).where(Device.company_id == company).limit(1))
    name, value = _cookie(app, company, "technician").split("=", 1)
    client = app.test_client()
    client.set_cookie(name, value)
    photos = [_photo(seed) for seed in range(args.photos)]
    page = client.get(f"/devices/{device_id}").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def upload(photo: bytes) -> None:
        answer = client.post(f"/devices/{device_id}/photos", data={"photo": (io.BytesIO(photo), "valve.jpg")},
                             content_type="multipart/form-data", headers={"X-CSRFToken": csrf})
        assert answer.status_code == 303, answer.get_data(as_text=True)[:500]

    upload(photos[0])  # warm: the first request loads what the rest reuse
    with db.service() as session:
        before = session.scalar(sa.select(sa.func.count()).select_from(Photo).where(Photo.device_id == device_id))
    app_ms, pillow_ms = [], []
    for photo in photos:
        started = time.perf_counter()
        prepared_photo(photo)
        pillow_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        upload(photo)
        app_ms.append((time.perf_counter() - started) * 1000)
    with db.service() as session:
        after = session.scalar(sa.select(sa.func.count()).select_from(Photo).where(Photo.device_id == device_id))
    assert after - before == len(photos), (before, after)

    size = statistics.mean(len(photo) for photo in photos) / 1000
    app_median, pillow_median = statistics.median(app_ms), statistics.median(pillow_ms)
    print(f"{len(photos)} photos of 1600 x 1200, {size:.0f} KB each, all stored")
    print(f"{'':<44}{'median ms':>10}{'p95 ms':>9}")
    print(f"{'Pillow alone (re-encode, thumbnail)':<44}{pillow_median:10.1f}{_p95(pillow_ms):9.1f}")
    print(f"{'the upload through FlowTrack':<44}{app_median:10.1f}{_p95(app_ms):9.1f}")
    print(f"the upload is {app_median / pillow_median:.2f}x Pillow alone; "
          f"{app_median - pillow_median:.1f} ms a photo for the request, the store, the row and the audit entry")


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(len(values) * 0.95) - 1)]


if __name__ == "__main__":
    main()
