"""Help in the field from our own servers, in the browser: a technician records a voice note on the phone's test
form in a vault with no signal (Chromium's fake microphone plays a spoken sentence), it waits with the test and goes
with it when the signal returns, a worker writes it out and the office accepts it as the remarks; the office
photographs a new assembly's dataplate and uses what a worker read on it, field by field."""
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa

from flowtrack.models.customers import Device
from flowtrack.models.field_help import VoiceNote
from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.devices.factories import dataplate_photo, require_ocr
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, Visit
from tests.e2e.test_office_records import OVERFLOW
from tests.e2e.test_offline import KEPT_PAGES, _come_back, _go_offline
from tests.field_tests.speaking import VOICE, require_flite
from tests.scheduling.factories import company_today, planner  # noqa: F401 (the fixture)


def test_a_voice_note_recorded_on_the_phone_becomes_the_remarks_the_office_accepts(
        app, visit, chromium, live_server, network, acme, records, planner, run_worker, request):  # noqa: F811
    flite = require_flite()
    place = records.location(acme, records.customer(acme, name="Harbor Dairy"), address_line1="120 Main Street")
    device = records.device(acme, place, device_type="DC", serial="DC-7731")
    planner.assign(acme, device, day=company_today(acme))
    records.gauge(acme, serial="G-1001")
    with tempfile.TemporaryDirectory() as folder:
        spoken = Path(folder) / "said.wav"
        subprocess.run([flite, "-voice", VOICE, "-t", "check valve one closed tight", "-o", str(spoken)], check=True)
        # A phone whose microphone hears the sentence once (Chromium's fake device plays the file).
        phone_browser = chromium.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={spoken}%noloop"])
        try:
            context = phone_browser.new_context(viewport=PHONE, has_touch=True, permissions=["microphone"])
            tab = Visit(context.new_page(), live_server, request.node.name)
            tab.sign_in(acme.members["technician"].email, acme.members["technician"].password)
            for _ in range(75):  # My day opened with a signal keeps the day: My day, the job, the test form
                if tab.page.evaluate(KEPT_PAGES, str(acme.members["technician"].user_id)) >= 3:
                    break
                tab.page.wait_for_timeout(200)
            _go_offline(tab, network)  # in the vault
            page = tab.page
            page.click("text=Open job")
            page.click("#next-device")
            page.wait_for_selector("h1:has-text('DC-7731')")
            page.fill("#r_check1_psid", "2.4")
            page.fill("#r_check2_psid", "1.8")
            page.fill("#technician_signature [data-signature-typed]", "Theo Tech")
            page.click("text=Record a voice note")
            page.wait_for_selector("text=Recording: speak now.")
            page.wait_for_selector("#voice-clock:has-text('0:03 of 1:00')")
            tab.screenshot("recording")
            page.click("text=Stop recording")
            page.wait_for_selector("text=kept with the test.")
            assert page.is_visible("#voice-playback") and page.is_visible("text=Record it again")
            assert tab.axe_violations() == [] and page.evaluate(OVERFLOW) == []
            tab.screenshot("recorded")
            page.click("text=Submit test")
            page.wait_for_selector("text=DC DC-7731: passes, kept on the phone")
            _come_back(tab, network)  # the signal returns: the test goes, with its voice note
            page.wait_for_selector("#outbox-badge", state="hidden", timeout=15_000)
            assert [p for p in tab.problems if "ERR_INTERNET_DISCONNECTED" not in p] == []
        finally:
            phone_browser.close()

    run_worker()

    with app.extensions["flowtrack.db"].service() as s:
        note = s.scalar(sa.select(VoiceNote).where(VoiceNote.device_id == device.id))
    assert note.transcript_status == "done" and "check valve" in note.transcript, note.transcript
    office = visit(DESKTOP)
    office.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    page = office.go(f"/tests/{note.test_record_id}")
    proposal = page.locator(".proposal")
    assert f"Proposed from the voice note: “{note.transcript}”" in proposal.inner_text()
    assert office.axe_violations() == []
    office.screenshot("proposed")
    proposal.locator("summary", has_text="Edit before accepting").click()
    page.fill(f"#remarks-{note.id}", "Check valve one closed tight.")
    page.click("text=Accept these remarks")
    page.wait_for_selector("text=The remarks from the voice note are on the test now")
    assert "Check valve one closed tight." in page.inner_text(".facts")
    assert "Accepted as the test's remarks by" in page.inner_text("#voice-notes-heading + div")
    office.screenshot("accepted")
    office.assert_clean()


def test_the_office_reads_a_new_assemblys_dataplate_and_uses_each_value(
        app, visit, acme, records, run_worker, tmp_path):  # noqa: F811
    require_ocr()
    place = records.location(acme, records.customer(acme, name="Harbor Dairy"), address_line1="42 Harbor Road")
    picture = tmp_path / "IMG_2201.JPG"
    picture.write_bytes(dataplate_photo())
    tab = visit(DESKTOP)
    tab.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    page = tab.go(f"/locations/{place.id}/devices/new")
    page.set_input_files("#dataplate-photo", str(picture))
    page.click("text=Read the dataplate")
    page.wait_for_selector("text=Waiting for a worker to read the dataplate")
    tab.screenshot("waiting")

    run_worker()

    page.wait_for_selector("text=Read from the dataplate.", timeout=15_000)
    assert tab.axe_violations() == []
    tab.screenshot("proposed")
    assert page.input_value("#serial") == ""  # nothing is put in until the person chooses it
    for label in ("manufacturer", "model", "size", "serial number"):
        page.click(f"button[aria-label$='as the {label}']")
    assert [page.input_value(f"#{name}") for name in ("manufacturer", "model", "size", "serial")] == \
        ["Watts", "909", "3/4", "AB12345"]
    page.select_option("#device_type", "RP")
    tab.screenshot("used")
    page.click("text=Add device")
    page.wait_for_selector("text=Device AB12345 added.")
    assert page.locator(".photo figcaption", has_text="Dataplate").count() == 1
    tab.screenshot("saved")
    tab.assert_clean()
    with app.extensions["flowtrack.db"].service() as s:
        device = s.scalar(sa.select(Device).where(Device.location_id == place.id))
    assert (device.manufacturer, device.model, device.size, device.serial) == ("Watts", "909", "3/4", "AB12345")

    phone = visit(PHONE)  # the form at a phone's width, with its proposal, stays within the screen
    phone.sign_in(acme.members["manager"].email, acme.members["manager"].password)
    phone_page = phone.go(f"/locations/{place.id}/devices/new")
    assert phone_page.evaluate(OVERFLOW) == []
