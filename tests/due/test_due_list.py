"""The office plans the coming weeks from the "Due and overdue" list, on screen and as CSV."""
import csv
import datetime as dt
import html
import io
import re
import zoneinfo

import pytest
import sqlalchemy as sa

from tests.customers.test_customers import audit_entries

TODAY = dt.datetime.now(zoneinfo.ZoneInfo("America/Los_Angeles")).date()


def due_in(records, tenant, days: int, **fields):
    """A device never tested, installed (so due) `days` from the company's today; negative days are overdue."""
    return records.device(tenant, install_date=TODAY + dt.timedelta(days=days), **fields)


def serials(page_text: str, devices) -> list[str]:
    """The serials of `devices` in the order the page shows them."""
    return sorted((d.serial for d in devices if d.serial in page_text), key=page_text.index)


def test_the_office_sees_overdue_devices_first_then_those_due_within_30_days(office, acme, records):
    late = due_in(records, acme, -40)
    today = due_in(records, acme, 0)
    soon = due_in(records, acme, 12)
    later = due_in(records, acme, 45)
    removed = due_in(records, acme, -3)
    office.submit(f"/devices/{removed.id}/edit", {
        "device_type": "RP", "manufacturer": "Watts", "serial": removed.serial,
        "install_date": removed.install_date.isoformat(), "status": "removed"})
    page = office.get("/due/")
    assert page.status_code == 200
    assert serials(page.text, [late, today, soon, later, removed]) == [late.serial, today.serial, soon.serial]
    assert "40 days overdue" in page.text and "due today" in page.text and "in 12 days" in page.text

    wider = office.get("/due/?window=60").text
    assert serials(wider, [late, soon, later]) == [late.serial, soon.serial, later.serial]
    overdue = office.get("/due/?window=overdue").text
    assert serials(overdue, [late, today, soon]) == [late.serial]


def test_the_list_narrows_to_one_district_to_locations_without_one_and_to_one_customer(office, acme, records):
    north = records.district(acme, name="North Water")
    south = records.district(acme, name="South Water")
    in_north = due_in(records, acme, 5, location=records.location(acme, district_id=north.id))
    in_south = due_in(records, acme, 6, location=records.location(acme, district_id=south.id))
    nowhere = due_in(records, acme, 7)
    everyone = [in_north, in_south, nowhere]

    page = office.get(f"/due/?district={north.id}").text
    assert serials(page, everyone) == [in_north.serial]
    assert serials(office.get("/due/?district=none").text, everyone) == [nowhere.serial]

    customer = records.customer(acme, name="Harbor Foods")
    first = due_in(records, acme, -2, location=records.location(acme, customer))
    second = due_in(records, acme, 20, location=records.location(acme, customer))
    page = office.get(f"/due/?customer={customer.id}").text
    assert serials(page, [*everyone, first, second]) == [first.serial, second.serial]
    assert "Customer: <a" in page and "Harbor Foods" in page
    assert f"/due/?customer={customer.id}&amp;window=90" in office.get(f"/customers/{customer.id}").text


def test_a_bad_filter_is_explained_and_another_companys_customer_is_not_found(office, acme, bravo, records):
    page = office.get("/due/?window=7&district=not-a-district")
    assert page.status_code == 422
    assert "Not a valid choice." in page.text
    assert office.get("/due/devices.csv?window=7").status_code == 422
    assert office.get("/due/?customer=not-an-id").status_code == 422
    theirs = records.customer(bravo)
    assert office.get(f"/due/?customer={theirs.id}").status_code == 404
    assert office.get(f"/due/devices.csv?customer={theirs.id}").status_code == 404


def test_another_companys_devices_never_show(office, acme, bravo, records):
    ours = due_in(records, acme, -1)
    theirs = due_in(records, bravo, -1)
    page = office.get("/due/?window=overdue").text
    assert ours.serial in page and theirs.serial not in page
    assert theirs.serial not in office.get("/due/devices.csv?window=overdue").text


def test_the_list_comes_a_page_at_a_time_with_the_same_queries_however_many_devices(
        office, acme, records, count_queries):
    location = records.location(acme)
    devices = [due_in(records, acme, -60 + n // 3, location=location) for n in range(120)]
    expected = [d.serial for d in sorted(devices, key=lambda d: (d.next_test_due, d.id))]

    seen, url, statements = [], "/due/", []
    while url:
        with count_queries() as counted:
            response = office.htmx("GET", url) if seen else office.get(url)
        statements.append(len(counted))
        seen += serials(response.text, devices)
        more = re.search(r'id="more-due">.*?hx-get="([^"]+)"', response.text, re.S)
        url = more and html.unescape(more.group(1))
    assert seen == expected
    assert len(statements) == 3
    # The next pages (HTMX rows only) cost what the first page's rows cost: no query per row.
    assert statements[1] == statements[2]


def test_the_csv_holds_every_due_device_and_the_export_is_audited(app, office, acme, records):
    customer = records.customer(acme, name="=HYPERLINK(\"http://evil.test\")")
    location = records.location(acme, customer, address_line1="12 Harbor St")
    late = due_in(records, acme, -10, location=location, size="3/4", model="LF909")
    soon = due_in(records, acme, 3, location=location)
    extra = [due_in(records, acme, 25) for _ in range(60)]

    response = office.get("/due/devices.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert f'filename="due-devices-{TODAY.isoformat()}.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 62  # every row, not a page of 50
    first, second = rows[0], rows[1]
    assert ((first["serial"], first["size"], first["model"], first["days_overdue"])
            == (late.serial, "3/4", "LF909", "10"))
    assert first["next_test_due"] == late.next_test_due.isoformat()
    assert first["location"].startswith("12 Harbor St")
    # A name a spreadsheet would run as a formula is written as text.
    assert first["customer"].startswith("'=HYPERLINK")
    assert (second["serial"], second["days_overdue"]) == (soon.serial, "0")
    assert {row["serial"] for row in rows[2:]} == {d.serial for d in extra}

    # The streamed download gives its database connection back when done.
    assert app.extensions["flowtrack.db"].app_engine.pool.checkedout() == 0

    [entry] = audit_entries(app, acme, "devices.due_exported")
    assert entry.changes == {"filters": {}}
    office.get("/due/devices.csv?window=overdue")
    assert audit_entries(app, acme, "devices.due_exported")[-1].changes == {"filters": {"window": "overdue"}}


def test_the_office_dashboard_counts_what_needs_planning(office, technician, acme, records):
    for days in (-30, -1, 0, 29, 31):
        due_in(records, acme, days)
    page = office.get("/dashboard/").text
    assert "<strong>2</strong> devices overdue" in page
    assert "<strong>2</strong> due within 30 days" in page
    assert "Tests to plan" not in technician.get("/dashboard/").text


@pytest.mark.parametrize("role", ["technician", "auditor", "customer", "district_admin"])
def test_only_the_office_and_admins_plan_from_the_list(login, acme, role):
    browser = login(acme, role)
    assert browser.get("/due/").status_code == 403
    assert browser.get("/due/devices.csv").status_code == 403


def _dashboard_counts(browser) -> tuple[int, int]:
    page = browser.get("/dashboard/").text
    overdue = re.search(r"<strong>(\d+)</strong> devices? overdue", page).group(1)
    within_30 = re.search(r"<strong>(\d+)</strong> due within 30 days", page).group(1)
    return int(overdue), int(within_30)


def test_the_dashboards_kept_counts_of_devices_due_follow_every_change_to_a_device(app, office, acme, bravo, records,
                                                                                 count_queries):
    late, soon = due_in(records, acme, -10), due_in(records, acme, 12)
    assert _dashboard_counts(office) == (1, 1)
    with count_queries() as kept:
        assert _dashboard_counts(office) == (1, 1)
    assert not any("count(" in statement and "FROM devices" in statement for statement in kept), \
        "no device changed, so the counts of devices are kept"
    # Another company's new device changes nothing here.
    due_in(records, bravo, -3)
    assert _dashboard_counts(office) == (1, 1)
    # Written past the app, as a fix by hand or a bulk job would: the trigger on devices still sees it.
    engine = sa.create_engine(app.extensions["flowtrack.settings"].database_url, poolclass=sa.pool.NullPool)
    for statement, counts in (
        ("UPDATE devices SET next_test_due = next_test_due + 30 WHERE id = :late", (0, 2)),
        ("DELETE FROM devices WHERE id = :soon", (0, 1)),
        ("UPDATE devices SET status = 'removed' WHERE id = :late", (0, 0)),
    ):
        with engine.begin() as connection:
            connection.execute(sa.text(statement), {"late": late.id, "soon": soon.id})
        assert _dashboard_counts(office) == counts, statement
    engine.dispose()
    due_in(records, acme, -1)
    assert _dashboard_counts(office) == (1, 0)


def _left_to_book(browser) -> tuple[int, str, str]:
    """The dashboard's count of devices due this month not yet booked: (count, month named, link)."""
    page = browser.get("/dashboard/").text
    found = re.search(r'<a href="([^"]+)"><strong>(\d+)</strong> devices? overdue or due by the end of (\w+) '
                      r'and not yet booked</a>', page)
    return int(found.group(2)), found.group(3), html.unescape(found.group(1))


def test_the_office_sees_how_many_devices_due_this_month_are_not_yet_booked_and_opens_just_those(
        office, acme, records, count_queries):
    from flowtrack.due.services import month_end
    to_month_end = (month_end(TODAY) - TODAY).days
    late = due_in(records, acme, -20)
    this_month = due_in(records, acme, to_month_end)  # the month's last day
    booked = due_in(records, acme, -5)
    next_month = due_in(records, acme, to_month_end + 1)
    assert office.submit("/due/plan", {"devices": [str(booked.id)]}).status_code == 303  # an open work order

    count, month, link = _left_to_book(office)
    assert (count, month) == (2, f"{TODAY:%B}")
    assert link == "/due/?window=month&unbooked=y"
    page = office.get(link).text
    assert serials(page, [late, this_month, booked, next_month]) == [late.serial, this_month.serial]
    everything = office.get("/due/?window=60").text  # the booked one is still on the list, marked planned
    assert booked.serial in everything and "planned" in everything

    with count_queries() as kept:
        assert _left_to_book(office)[0] == 2
    assert not any("count(" in statement and "FROM devices" in statement for statement in kept)
    # The work order is canceled: the device is left to book again, and the kept count does not hide it.
    with records.session(acme) as session:
        order_id = session.scalar(sa.text("SELECT work_order_id FROM work_order_devices WHERE device_id = :d"),
                                  {"d": booked.id})
    assert office.submit(f"/work-orders/{order_id}/cancel").status_code == 303
    assert _left_to_book(office)[0] == 3
