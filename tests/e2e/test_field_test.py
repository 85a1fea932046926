"""A technician records tests on a phone: pass or fail beside each reading as it is typed, the repair and retest
opening by themselves after a fail, the kit already chosen, and back on the job after each test; a one-device
stop counted in taps."""
import datetime as dt
import random
import re

from flowtrack.field_tests import rules
from tests.customers.factories import records  # noqa: F401 (the fixture)
from tests.e2e.conftest import PHONE
from tests.e2e.test_office_records import OVERFLOW
from tests.field_tests.factories import camera_photo
from tests.scheduling.factories import company_today, planner  # noqa: F401 (the fixture)


class Taps:
    """The technician's thumb: every tap goes through here and is counted (typing readings is not a tap)."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def tap(self, selector: str) -> None:
        self.page.locator(selector).first.click()
        self.count += 1

    def sign(self, pad: str) -> None:
        """One stroke of the finger across the signature pad."""
        canvas = self.page.locator(f"#{pad} canvas")
        canvas.evaluate("pad => pad.scrollIntoView({block: 'center'})")  # a swipe, not a tap
        box = canvas.bounding_box()
        self.page.mouse.move(box["x"] + 20, box["y"] + box["height"] - 20)
        self.page.mouse.down()
        self.page.mouse.move(box["x"] + box["width"] - 20, box["y"] + 20, steps=10)
        self.page.mouse.up()
        self.count += 1


def _todays_stop(acme, records, planner, *devices_fields, customer="Harbor Dairy", street="120 Main Street"):  # noqa: F811
    place = records.location(acme, records.customer(acme, name=customer), address_line1=street)
    devices = [records.device(acme, place, **fields) for fields in devices_fields]
    return planner.assign(acme, *devices, day=company_today(acme)), devices


def test_a_failed_rp_is_repaired_and_retested_on_a_phone_and_the_job_comes_back(
        visit, acme, records, planner, tmp_path):  # noqa: F811
    _todays_stop(acme, records, planner, {"device_type": "RP", "serial": "AC-4512"},
                 {"device_type": "DC", "serial": "DC-7731"})
    records.gauge(acme, serial="G-0999", calibration_due_on=company_today(acme) - dt.timedelta(days=3))
    kit = records.gauge(acme, serial="G-1001")
    tab = visit(PHONE)
    tab.sign_in(acme.members["technician"].email, acme.members["technician"].password)
    page = tab.page
    page.click("text=Open job")
    page.click("#next-device")
    page.wait_for_url(re.compile(r".*/tests/new(\?job=[0-9a-f-]+)?$"))
    # The only calibrated kit is chosen already; the expired one is there, disabled, saying why.
    assert page.input_value("#gauge_id") == str(kit.id)
    expired = page.locator("#gauge_id option", has_text="G-0999")
    assert expired.is_disabled() and "calibration was due" in expired.inner_text()
    page.fill("#r_check1_psid", "4.1")
    assert page.inner_text("#r_check1_psid-verdict") == "✗ Check valve 1 held: 4.1 psid, needs at least 5.0"
    page.fill("#r_relief_opened_psid", "2.8")
    page.fill("#r_check2_psid", "1.6")
    assert "✓ Check valve 2 held: 1.6 psid" in page.inner_text("#r_check2_psid-verdict")
    page.click("#r_check2_closed_tight label:has-text('Yes')")
    page.click("#r_shutoff2_held label:has-text('Yes')")
    assert page.inner_text("#verdict").startswith("Test: Fails")
    assert page.locator("details.retest").get_attribute("open") is not None  # opened by itself on the fail
    tab.screenshot("failed-first-test")
    page.click("label:has-text('Replaced disc')")
    assert page.is_checked("input[name=repairs][value='replaced disc']")
    for name, value in (("check1_psid", "6.3"), ("relief_opened_psid", "2.8"), ("check2_psid", "1.6")):
        page.fill(f"#retest_r_{name}", value)
    page.click("#retest_r_check2_closed_tight label:has-text('Yes')")
    page.click("#retest_r_shutoff2_held label:has-text('Yes')")
    assert "Retest: Passes" in page.inner_text("#verdict")
    bar = page.locator("#verdict").bounding_box()
    assert bar["y"] + bar["height"] <= PHONE["height"] + 1  # the verdict stays in view while typing
    picture = tmp_path / "IMG_0001.JPG"
    picture.write_bytes(camera_photo(gps=True))
    page.set_input_files("#photo", str(picture))
    page.wait_for_selector("#test-photos img")
    assert tab.axe_violations() == [] and page.evaluate(OVERFLOW) == []
    tab.screenshot("retest-passes")
    page.click("text=Submit test")
    page.wait_for_selector("text=Sign the test before you submit it.")
    assert page.input_value("#retest_r_check1_psid") == "6.3"
    assert page.locator("#test-photos img").count() == 1  # the photo waits with the form
    page.fill("#technician_signature [data-signature-typed]", "Theo Tech")  # lettered onto the pad, no drawing
    page.click("text=Submit test")
    page.wait_for_selector("text=RP AC-4512 repaired and passed.")
    assert page.inner_text("#next-device") == "Test DC DC-7731"  # the next device is at hand
    tab.screenshot("back-on-the-job")
    page.click("text=you just recorded")
    assert "Passed" in page.inner_text("h1") and page.locator(".photo img").count() == 1
    assert [p for p in tab.problems if "status of 422" not in p] == []  # the unsigned submit was refused


def test_a_one_device_passing_stop_takes_ten_taps_or_fewer(visit, acme, records, planner, tmp_path):  # noqa: F811
    _todays_stop(acme, records, planner, {"device_type": "RP", "serial": "AC-4512"})
    _todays_stop(acme, records, planner, {"device_type": "DC", "serial": "DC-9000"}, customer="Elm Street Bakery",
                 street="8 Elm Street")
    records.gauge(acme, serial="G-1001")
    tab = visit(PHONE)
    tab.sign_in(acme.members["technician"].email, acme.members["technician"].password)
    taps = Taps(tab.page)
    page = tab.page
    taps.tap("li.stop:has-text('Harbor Dairy') >> text=Open job")
    taps.tap("#next-device")
    for name, value in (("check1_psid", "6.2"), ("relief_opened_psid", "2.8"), ("check2_psid", "1.6")):
        page.fill(f"#r_{name}", value)
    taps.tap("#r_check2_closed_tight label:has-text('Yes')")
    taps.tap("#r_shutoff2_held label:has-text('Yes')")
    picture = tmp_path / "IMG_0002.JPG"
    picture.write_bytes(camera_photo())
    with page.expect_file_chooser() as chooser:
        taps.tap("#photo")
    chooser.value.set_files(str(picture))
    taps.count += 1  # the camera's shutter
    page.wait_for_selector("#test-photos img")
    taps.sign("technician_signature")
    taps.tap("text=Submit test")
    page.wait_for_selector("text=RP AC-4512 passed.")
    taps.tap("text=Complete job")
    page.wait_for_selector("text=Job completed.")
    assert "Elm Street Bakery" in page.inner_text("main")  # My day, with the next stop
    print(f"\nA one-device passing stop, My day to the next stop: {taps.count} taps (19 before)")
    assert taps.count <= 10
    tab.assert_clean()


def _generated_readings(rng: random.Random, keys: list[str]) -> dict[str, str]:
    psid = ["", " ", "abc", "-1", "-0", "1e1", "+5", "4.95", "5", "5.0", "5.", ".5", "06.2", "100", "100.1", "0"]
    answers = ["yes", "no", "", "maybe", "Tight", " NO "]
    return {key: (rng.choice(psid) if rng.random() < .3 else f"{rng.uniform(0, 12):.{rng.choice((0, 1, 2))}f}")
            if rules.is_psid(key) else rng.choice(answers) for key in keys}


def test_the_phone_judges_readings_exactly_as_the_server_does(visit, acme, records, planner):  # noqa: F811
    """field.js applies rules.py's table; over many generated readings, for every assembly type and with a
    district's own thresholds, its verdict is the server's, check by check and word for word."""
    job, [device] = _todays_stop(acme, records, planner, {"device_type": "DC"})
    tab = visit(PHONE)
    tab.sign_in(acme.members["technician"].email, acme.members["technician"].password)
    tab.go(f"/devices/{device.id}/tests/new")
    rng = random.Random(20261207)
    cases, expected = [], []
    for kind in rules.ASSEMBLY_TYPES:
        for overrides in ({}, {"rp_check1_min_psid": "5.5", "check_min_psid": "1.25"}):
            table = rules.table(kind, overrides)
            for _ in range(120):
                readings = _generated_readings(rng, rules.required_readings(kind))
                server = rules.evaluate(kind, readings, overrides)
                cases.append({"table": table, "readings": readings})
                expected.append({"result": server.result, "errors": server.errors,
                                 "checks": [{"key": c.key, "label": c.label, "passed": c.passed, "reason": c.reason}
                                            for c in server.checks]})
    phone = tab.page.evaluate("cases => cases.map(c => FieldRules.evaluate(c.table, c.readings))", cases)
    mismatches = [(case["readings"], want, got)
                  for case, want, got in zip(cases, expected, phone, strict=True) if want != got]
    assert mismatches == [], mismatches[:3]
    assert {want["result"] for want in expected} == {"pass", "fail", "incomplete"}
