"""A technician's day in a vault with no signal: My day opened once with a connection, the phone keeps the day's
pages; two tests with photos and signatures and the job's completion wait in the phone's outbox, through a reload;
when the signal comes back they arrive once each, even when it drops in the middle of sending; a test the server
refuses comes back to the phone with its reason and a way to fix it; signing out leaves nothing of the day."""
import gzip
import re

import pytest
import sqlalchemy as sa

from flowtrack.models.accounts import AuthSession
from flowtrack.models.customers import Device
from flowtrack.models.field_tests import DevicePhoto, TestRecord
from flowtrack.models.scheduling import WorkOrder, WorkOrderDevice
from flowtrack.work_orders import services as work_orders
from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.e2e.conftest import PHONE
from tests.e2e.test_field_test import Taps
from tests.field_tests.factories import camera_photo
from tests.scheduling.factories import company_today, planner  # noqa: F401 (the fixture)

KEPT_PAGES = "user => caches.open('day-' + user).then(cache => cache.keys()).then(keys => keys.length)"
OUTBOX_SIZE = """() => new Promise(done => { const open = indexedDB.open("flowtrack", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("outbox", {keyPath: "id"});
    open.onsuccess = () => { const count = open.result.transaction("outbox").objectStore("outbox").count();
                             count.onsuccess = () => done(count.result); }; })"""
NO_BACKGROUND_SYNC = "delete window.SyncManager; delete ServiceWorkerRegistration.prototype.sync;"


def _stop_with_two_assemblies(acme, records, planner):  # noqa: F811
    place = records.location(acme, records.customer(acme, name="Harbor Dairy"), address_line1="120 Main Street")
    devices = [records.device(acme, place, device_type="DC", serial=serial) for serial in ("DC-1101", "DC-1102")]
    records.gauge(acme, serial="G-1001")
    return planner.assign(acme, *devices, day=company_today(acme))


def _open_my_day_with_signal(visit, acme, init_script=None):
    tab = visit(PHONE)
    if init_script:
        tab.page.context.add_init_script(init_script)
    tab.sign_in(acme.members["technician"].email, acme.members["technician"].password)
    user = str(acme.members["technician"].user_id)
    for _ in range(75):  # My day, the job, and its two test forms
        if tab.page.evaluate(KEPT_PAGES, user) >= 4:
            return tab
        tab.page.wait_for_timeout(200)
    raise AssertionError("the day's pages were not kept on the phone")


def _unexpected(problems):
    """What the console said besides the requests that found no network (or lost their answer), as they should."""
    return [p for p in problems if "ERR_INTERNET_DISCONNECTED" not in p and "ERR_EMPTY_RESPONSE" not in p]


def _go_offline(tab, network):
    network.up = False
    tab.page.context.set_offline(True)


def _come_back(tab, network):
    network.up = True
    tab.page.context.set_offline(False)


def _record_offline(tab, serial, photo_path):
    page = tab.page
    taps = Taps(page)
    page.click("#next-device")
    page.wait_for_selector(f"h1:has-text('{serial}')")
    page.fill("#r_check1_psid", "2.4")
    page.fill("#r_check2_psid", "1.8")
    assert page.inner_text("#verdict").startswith("Test: Passes")  # judged on the phone, no server
    page.set_input_files("#photo", str(photo_path))
    page.wait_for_selector("#test-photos img")
    taps.sign("technician_signature")
    page.click("text=Submit test")
    page.wait_for_selector(f"text={serial}: passes, kept on the phone")


def _items(app, job):
    with app.extensions["flowtrack.db"].service() as s:
        return list(s.scalars(sa.select(WorkOrderDevice).filter_by(work_order_id=job.work_order_id)))


def _one_test_waiting_offline(visit, acme, network, tmp_path, name: str):
    """My day opened with a signal, then in the vault: the first assembly's test taken and waiting on the phone."""
    photo = tmp_path / name
    photo.write_bytes(camera_photo())
    tab = _open_my_day_with_signal(visit, acme)
    _go_offline(tab, network)
    tab.page.click("text=Open job")
    _record_offline(tab, "DC-1101", photo)
    return tab


def _stored(app, model, **where):
    with app.extensions["flowtrack.db"].service() as s:
        return list(s.scalars(sa.select(model).filter_by(**where)))


@pytest.mark.parametrize("background_sync", [True, False], ids=["background-sync", "no-background-sync"])
def test_a_day_in_a_vault_is_kept_on_the_phone_and_arrives_once(visit, app, acme, records, planner, network,  # noqa: F811
                                                                 tmp_path, background_sync):
    job = _stop_with_two_assemblies(acme, records, planner)
    photo = tmp_path / "IMG_0101.JPG"
    photo.write_bytes(camera_photo())
    tab = _open_my_day_with_signal(visit, acme, None if background_sync else NO_BACKGROUND_SYNC)
    page = tab.page
    assert page.evaluate("'SyncManager' in window") is background_sync

    _go_offline(tab, network)
    page.click("text=Open job")
    page.wait_for_selector("h1:has-text('Harbor Dairy')")
    _record_offline(tab, "DC-1101", photo)
    assert "Passes · waiting to send" in page.inner_text("li.stop:has-text('DC-1101')")
    assert page.inner_text("#next-device") == "Test DC DC-1102"
    _record_offline(tab, "DC-1102", photo)
    tab.screenshot("offline-job")
    page.click("text=Complete job")
    page.wait_for_selector("text=Job completed on this phone")
    page.reload()  # still no signal: the phone keeps all of it
    page.wait_for_selector("#outbox-summary:has-text('3 waiting to send when there is signal')")
    assert page.inner_text("#outbox-badge") == "3 waiting to send"
    stop = page.inner_text("li.stop")
    assert "Completed · waiting to send" in stop and stop.count("Passes · waiting to send") == 2
    tab.screenshot("offline-my-day")
    assert _stored(app, TestRecord, technician_id=acme.members["technician"].user_id) == []

    # The signal comes back and drops again while the first test is being sent: the server has it, the phone
    # never hears so, and sends it again.
    network.drop_answer_to("/outbox/tests/")
    _come_back(tab, network)
    page.wait_for_function("() => document.querySelector('#outbox-summary').textContent.includes('3 waiting')")
    page.click("#outbox-send")
    page.wait_for_selector("#outbox", state="hidden", timeout=15000)
    tests = _stored(app, TestRecord, technician_id=acme.members["technician"].user_id)
    assert sorted(str(t.device_id) for t in tests) == sorted(str(i.device_id) for i in _items(app, job))  # once each
    assert all(t.client_id and t.steps["opened"] < t.steps["submitted"] for t in tests)
    assert all(t.submitted_at > t.tested_at for t in tests)  # taken, then arrived
    assert len(_stored(app, DevicePhoto, device_id=tests[0].device_id)) == 1
    [order] = _stored(app, WorkOrder, id=job.work_order_id)
    assert order.status == "completed"
    page.reload()
    assert page.locator("#outbox-badge").is_hidden()
    assert _unexpected(tab.problems) == []


def test_a_test_the_server_refuses_stays_on_the_phone_with_its_reason_until_it_can_go(
        visit, app, acme, records, planner, network, tmp_path):  # noqa: F811
    job = _stop_with_two_assemblies(acme, records, planner)
    tab = _one_test_waiting_offline(visit, acme, network, tmp_path, "IMG_0102.JPG")
    page = tab.page
    with records.session(acme) as session:  # meanwhile the office cancels the visit
        work_orders.cancel(session, work_orders.get_work_order(session, job.work_order_id))
    _come_back(tab, network)
    page.goto(tab.base_url + "/my-day/")
    page.wait_for_selector("#outbox-list >> text=This device is not on any of your jobs now")
    assert page.inner_text("#outbox-badge") == "1 to fix"
    tab.screenshot("refused")
    page.click("#outbox-list >> text=Try again")  # nothing has changed yet: refused again, still kept
    page.wait_for_selector("#outbox-list >> text=This device is not on any of your jobs now")
    with records.session(acme) as session:  # the office books the assembly again
        [first] = session.scalars(sa.select(Device).where(Device.serial == "DC-1101")).all()
    rebooked = planner.assign(acme, first, day=company_today(acme))
    page.click("#outbox-list >> text=Send it as a test of the device on its own")
    page.wait_for_selector("#outbox", state="hidden")
    [test] = _stored(app, TestRecord, technician_id=acme.members["technician"].user_id)
    assert test.device_id == first.id and test.result == "pass"
    assert [i.test_record_id for i in _items(app, rebooked)] == [test.id]  # it settles the new booking
    assert [p for p in _unexpected(tab.problems) if "status of 404" not in p] == []  # the refusals


def test_signing_out_leaves_nothing_of_the_day_and_asks_before_dropping_what_waits(
        visit, app, acme, records, planner, network, tmp_path):  # noqa: F811
    _stop_with_two_assemblies(acme, records, planner)
    tab = _one_test_waiting_offline(visit, acme, network, tmp_path, "IMG_0103.JPG")
    page = tab.page
    _come_back(tab, network)
    network.up = False  # the connection is there for the page, not for the server: nothing can be sent
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("label.nav-toggle-label")
    page.click("text=Sign out")
    page.wait_for_timeout(500)
    assert "1 record is not sent yet" in asked[0]
    assert page.evaluate("Outbox.all().then(r => r.length)") == 1  # kept: the technician said no
    network.up = True
    page.click("text=Sign out")  # now it goes first, and then the day is cleared
    page.wait_for_url(re.compile(r".*/login$"))
    assert page.evaluate("caches.keys().then(names => names.filter(n => n.startsWith('day-')).length)") == 0
    assert page.evaluate(OUTBOX_SIZE) == 0
    assert len(_stored(app, TestRecord, technician_id=acme.members["technician"].user_id)) == 1


WEIGHT = """() => {
    const loaded = [performance.getEntriesByType("navigation")[0], ...performance.getEntriesByType("resource")];
    return loaded.map(entry => ({name: new URL(entry.name).pathname, bytes: entry.encodedBodySize}));
}"""


def test_the_test_form_loads_light_on_a_phone(visit, acme, records, planner, live_server):  # noqa: F811
    """The first load of the test form: at most 4 requests and 60 KB over the wire, of which the offline code
    (the outbox in field.js, and the service worker) is at most 30 KB."""
    job = _stop_with_two_assemblies(acme, records, planner)
    with records.session(acme) as session:
        [item] = session.scalars(sa.select(WorkOrderDevice).filter_by(work_order_id=job.work_order_id)).all()[:1]
    tab = visit(PHONE)
    tab.sign_in(acme.members["technician"].email, acme.members["technician"].password)
    fresh = visit(PHONE)  # a phone with nothing cached yet, signed in by its cookie
    fresh.page.context.add_cookies(tab.page.context.cookies())
    page = fresh.go(f"/devices/{item.device_id}/tests/new?job={job.id}")
    page.wait_for_load_state("load")
    loaded = page.evaluate(WEIGHT)
    total = sum(entry["bytes"] for entry in loaded)
    print(f"\nThe test form's first load: {len(loaded)} requests, {total / 1024:.1f} KB over the wire: "
          + ", ".join(f"{e['name']} {e['bytes'] / 1024:.1f} KB" for e in loaded))
    assert len(loaded) <= 4 and total <= 60 * 1024
    worker = page.request.get(live_server + "/sw.js", headers={"Accept-Encoding": "gzip"})
    field_js = next(entry["bytes"] for entry in loaded if entry["name"].endswith("/field.js"))
    offline_bytes = field_js + len(gzip.compress(worker.body()))
    print(f"The offline code: {offline_bytes / 1024:.1f} KB compressed (field.js with the rules and the verdict, "
          "and sw.js)")
    assert offline_bytes <= 30 * 1024


def test_a_session_that_ended_offline_asks_to_sign_in_and_then_sends(visit, app, acme, records, planner,  # noqa: F811
                                                                     network, tmp_path):
    _stop_with_two_assemblies(acme, records, planner)
    tab = _one_test_waiting_offline(visit, acme, network, tmp_path, "IMG_0104.JPG")
    page = tab.page
    with app.extensions["flowtrack.db"].service() as s:  # the session runs out while the phone is in the vault
        s.execute(sa.update(AuthSession).where(AuthSession.user_id == acme.members["technician"].user_id)
                  .values(revoked_at=sa.func.now()))
        s.commit()
    _come_back(tab, network)
    page.goto(tab.base_url + "/my-day/")
    page.wait_for_url(re.compile(r".*/login.*"))  # asked to sign in again; the test waits on the phone
    assert page.evaluate(OUTBOX_SIZE) == 1
    assert page.evaluate("caches.keys().then(names => names.filter(n => n.startsWith('day-')).length)") == 0
    tab.sign_in(acme.members["technician"].email, acme.members["technician"].password)
    for _ in range(50):
        if _stored(app, TestRecord, technician_id=acme.members["technician"].user_id):
            break
        page.wait_for_timeout(200)
    assert len(_stored(app, TestRecord, technician_id=acme.members["technician"].user_id)) == 1
    page.wait_for_selector("#outbox-badge", state="hidden")
