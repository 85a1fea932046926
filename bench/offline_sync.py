"""A day with no signal, then the signal back: 20 tests with 3 photos each wait in a phone's outbox, then sync.

    python bench/offline_sync.py [--tests 20] [--photos 3]

Serves FlowTrack under gunicorn (2 workers), opens My day as the large company's benchmark technician in Debian's
Chromium at 360 px, puts the tests in the phone's outbox as the test form does (each with its photos made smaller
on the phone, 1600 px JPEGs, and a signature), then lets the outbox send them all, as it does when the signal
returns. Prints the time until every test is stored (checked in the database), tests a second and bytes a test,
the ratio of those bytes to the photos themselves (the least any sync could send), and, as the reference, the same
number of tests posted online one by one through the plain test form (its page, then the form with the photos)
on other double checks of the technician's.
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("FLOWTRACK_INSTANCE_PATH", str(Path(__file__).resolve().parent.parent / "instance-bench-sync"))

import argparse
import base64
import datetime as dt
import io
import json
import random
import uuid

from _common import bench_app, seed_large_company
from pages import _cookie, _serve

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Build each record as field.js's test form does, and time the outbox's sending of all of them.
QUEUE_AND_SEND = """async ({records, photos, signature}) => {
    // Count what the outbox sends: each test's body as it goes on the wire (headers aside).
    const original = window.fetch;
    let bytes = 0, requests = 0;
    window.fetch = async (url, init) => {
        if (!(init && init.method === "POST" && String(url).includes("/outbox/tests/"))) { return original(url, init); }
        const request = new Request(url, init);
        const body = await request.blob();
        bytes += body.size; requests += 1;
        const headers = new Headers(init.headers);
        headers.set("Content-Type", request.headers.get("Content-Type"));
        return original(url, {...init, body, headers});
    };
    const blobs = photos.map(b64 => new Blob([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], {type: "image/jpeg"}));
    for (const record of records) {
        record.fields.push(["technician_signature", signature]);
        record.photos = blobs;
        await Field.queue(record);
    }
    const started = performance.now();
    let outcome;
    do { outcome = await Field.send(); } while (outcome.stopped === null && (await Outbox.all()).length);
    return {seconds: (performance.now() - started) / 1000, left: (await Outbox.all()).length, bytes, requests};
}"""


def _photo(seed: int) -> bytes:
    """A 1600 x 1200 JPEG at the phone's quality, busy enough to weigh what a photo of a valve does."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    image = Image.effect_noise((1600, 1200), 40).convert("RGB").filter(ImageFilter.GaussianBlur(2))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(1600), rng.randrange(1200)
        draw.rectangle([x, y, x + rng.randrange(40, 400), y + rng.randrange(40, 300)],
                       fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=82)
    return out.getvalue()


def _signature() -> str:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (600, 160), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(20, 120), (200, 30), (570, 110)], fill="black", width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def _technicians_devices(db, company, count: int):
    """The benchmark technician, `count` double checks at the locations of their work, and a calibrated kit."""
    import sqlalchemy as sa

    from flowtrack.models.accounts import Profile, User
    from flowtrack.models.customers import Device, Gauge
    from flowtrack.models.scheduling import ScheduledJob, WorkOrder

    with db.service() as session:
        technician = session.scalars(sa.select(User).join(Profile, Profile.user_id == User.id)
                                     .where(User.company_id == company, Profile.role == "technician")
                                     .order_by(User.email)).first()
        places = sa.select(WorkOrder.location_id).join(ScheduledJob, ScheduledJob.work_order_id == WorkOrder.id) \
            .where(ScheduledJob.technician_id == technician.id)
        devices = session.scalars(sa.select(Device.id).where(
            Device.company_id == company, Device.device_type == "DC", Device.status == "active",
            Device.location_id.in_(places)).order_by(Device.serial).limit(count)).all()
        calibrated = Gauge.calibration_due_on >= dt.date.today() + dt.timedelta(days=2)
        kit = session.scalar(sa.select(Gauge.id).where(Gauge.company_id == company, calibrated))
        return technician.id, devices, kit


def _stored(db, company, ids) -> int:
    import sqlalchemy as sa

    from flowtrack.models.field_tests import TestRecord

    with db.service() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(TestRecord)
                              .where(TestRecord.company_id == company, TestRecord.client_id.in_(ids)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--photos", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    app = bench_app()
    settings, db = app.extensions["flowtrack.settings"], app.extensions["flowtrack.db"]
    # What the sync costs does not depend on the company's size: a small one seeds in seconds. (Its own database,
    # so that the large company of the other benchmarks is not seeded short.)
    company = seed_large_company(app, audit_entries=1_000, customers=300, small_companies=0)
    technician, devices, kit = _technicians_devices(db, company, 2 * args.tests)
    if len(devices) < 2 * args.tests or kit is None:
        raise SystemExit(f"the benchmark technician reaches {len(devices)} double checks; {2 * args.tests} needed")
    devices, online_devices = devices[:args.tests], devices[args.tests:]
    photos = [_photo(n) for n in range(args.photos)]
    now = dt.datetime.now(dt.timezone.utc)
    records = []
    for n, device in enumerate(devices):
        client_id = str(uuid.uuid4())
        taken = now - dt.timedelta(hours=3) + dt.timedelta(minutes=8 * n)
        steps = {"opened": (taken - dt.timedelta(minutes=11)).isoformat(), "submitted": taken.isoformat()}
        records.append({"id": client_id, "kind": "test", "url": f"/outbox/tests/{client_id}", "device": str(device),
                        "job": None, "label": f"Test {n + 1}", "verdict": "Passes", "formUrl": "/my-day/",
                        "fields": [["test_type", "annual"], ["gauge_id", str(kit)], ["r_check1_psid", "2.4"],
                                   ["r_check2_psid", "1.8"], ["device_id", str(device)],
                                   ["phone_steps", json.dumps(steps)]]})
    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
               SECRET_KEY=settings.secret_key)
    web, base = _serve("wsgi:app", env, 2)
    try:
        name, value = _cookie(app, company, "technician").split("=", 1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
            context = browser.new_context(viewport={"width": 360, "height": 740})
            context.add_cookies([{"name": name, "value": value, "url": base}])
            # The page sends it all, so that every byte is counted (Background Sync would send some from the
            # service worker, by the same code).
            context.add_init_script("delete window.SyncManager; delete ServiceWorkerRegistration.prototype.sync;")
            page = context.new_page()
            page.goto(base + "/my-day/")
            page.wait_for_function("() => typeof Field !== 'undefined' && Field.user")
            result = page.evaluate(QUEUE_AND_SEND, {"records": records,
                                                    "photos": [base64.b64encode(p).decode() for p in photos],
                                                    "signature": _signature()})
            browser.close()
        online = _post_online(base, (name, value), online_devices, kit, photos, _signature())
    finally:
        web.terminate()
    stored = _stored(db, company, [r["id"] for r in records])
    photo_bytes = sum(len(p) for p in photos) * args.tests
    average = sum(len(p) for p in photos) / args.photos / 1024
    print(f"{args.tests} tests with {args.photos} photos each ({average:.0f} KB a photo), queued offline, then synced "
          "by the phone's outbox")
    print(f"stored: {stored} of {args.tests}; left on the phone: {result['left']}")
    print(f"time until all stored: {result['seconds']:.2f} s ({result['seconds'] / args.tests * 1000:.0f} ms a test, "
          "each checked, judged, its photos re-encoded and thumbnailed on the server)")
    print(f"bytes sent for the tests: {result['bytes'] / 1024 / 1024:.2f} MB in {result['requests']} requests; "
          f"the photos alone are {photo_bytes / 1024 / 1024:.2f} MB: ratio {result['bytes'] / photo_bytes:.3f} "
          "(1.0 is the least any sync could send)")
    print(f"at a 5 Mbit/s phone uplink those bytes take {result['bytes'] * 8 / 5e6:.1f} s on the wire")
    synced_rate, online_rate = args.tests / result["seconds"], args.tests / online["seconds"]
    print(f"{'':<44}{'tests/s':>9}{'KB a test':>11}")
    print(f"{'synced from the outbox':<44}{synced_rate:9.1f}{result['bytes'] / args.tests / 1024:11.0f}")
    print(f"{'posted online one by one (page, then form)':<44}{online_rate:9.1f}"
          f"{online['bytes'] / args.tests / 1024:11.0f}")
    print(f"the sync stores {synced_rate / online_rate:.2f}x the tests a second of posting them online, and sends "
          f"{result['bytes'] / online['bytes']:.3f}x the bytes (both stored: {_stored_on(db, company, online_devices)} "
          f"of {args.tests} online)")


def _post_online(base: str, cookie: tuple[str, str], devices, kit, photos: list[bytes], signature: str) -> dict:
    """The same tests through the plain form, one after the other: open the form (its CSRF token), post it."""
    import re
    import time

    import requests

    session, sent = requests.Session(), 0
    name, value = cookie
    started = time.perf_counter()
    for device in devices:
        page = session.get(f"{base}/devices/{device}/tests/new", headers={"Cookie": f"{name}={value}"})
        value = page.cookies.get(name, value)  # the session as the form's page left it (its CSRF secret)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        fields = {"csrf_token": token, "test_type": "annual", "gauge_id": str(kit), "r_check1_psid": "2.4",
                  "r_check2_psid": "1.8", "technician_signature": signature}
        request = requests.Request("POST", f"{base}/devices/{device}/tests/new", data=fields,
                                   headers={"Cookie": f"{name}={value}"},
                                   files=[("photo", (f"p{n}.jpg", photo, "image/jpeg"))
                                          for n, photo in enumerate(photos)]).prepare()
        sent += len(request.body)
        answer = session.send(request, allow_redirects=False)
        value = answer.cookies.get(name, value)
        if answer.status_code != 303:
            said = re.sub(r"<[^>]+>|\s+", " ", answer.text)[-1500:]
            raise SystemExit(f"the form answered {answer.status_code}: {said}")
    return {"seconds": time.perf_counter() - started, "bytes": sent}


def _stored_on(db, company, devices) -> int:
    import sqlalchemy as sa

    from flowtrack.models.field_tests import TestRecord

    with db.service() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(TestRecord).where(
            TestRecord.company_id == company, TestRecord.device_id.in_(devices),
            TestRecord.tested_at > dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)))


if __name__ == "__main__":
    main()
