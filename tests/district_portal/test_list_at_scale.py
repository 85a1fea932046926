"""At 40,000 tests in a company the district's list costs what it costs at ten: one statement for the rows, walking
the (company_id, tested_at, id) index newest first from the last row shown, never counting or skipping rows. The
device list walks the serial index the same way, and finds each shown device's latest test through its own index.

The plans are taken as the app role under the district admin's row-level security.
"""
import re

import sqlalchemy as sa

from tests.customers.test_list_at_scale import _admin, _plan, index_condition, statements

DEVICES_PER_DISTRICT = 1000
TESTS_PER_DEVICE = 20


def _fill(app, districts, area, other, base_device, base_test) -> None:
    """Copies of a real location, device and test: half the devices in each district, 20 tests a device."""
    engine = _admin(app)
    with engine.begin() as c:
        # A customer per location, as in life (ids made from the row number, so the location can name its own).
        c.execute(sa.text(
            "INSERT INTO customers (id, company_id, name, created_at) "
            "SELECT md5(:company || 'customer' || n)::uuid, CAST(:company AS uuid), 'Bulk customer ' || n, now() "
            "FROM generate_series(1, :count) AS n"),
            {"company": str(area.tenant.id), "count": 2 * DEVICES_PER_DISTRICT})
        location_columns = [r[0] for r in c.execute(sa.text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'customer_locations' "
            "AND column_name NOT IN ('id', 'customer_id', 'district_id', 'address_key', 'address_line1')"))]
        listed = ", ".join(location_columns)
        c.execute(sa.text(
            f"INSERT INTO customer_locations (id, customer_id, district_id, address_key, address_line1, {listed}) "
            f"SELECT gen_random_uuid(), md5(:company || 'customer' || n)::uuid, "
            f"CASE WHEN n % 2 = 0 THEN :mine ELSE :other END, "
            f"n || ' bulk st|springfield|or|97477', n || ' Bulk Street', {listed} "
            "FROM customer_locations, generate_series(1, :count) AS n WHERE id = :location"),
            {"mine": area.district.id, "other": other.district.id, "count": 2 * DEVICES_PER_DISTRICT,
             "location": base_device.location_id, "company": str(area.tenant.id)})
        device_columns = [r[0] for r in c.execute(sa.text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'devices' "
            "AND column_name NOT IN ('id', 'location_id', 'serial')"))]
        c.execute(sa.text(
            f"INSERT INTO devices (id, location_id, serial, {', '.join(device_columns)}) "
            f"SELECT gen_random_uuid(), l.id, 'BULK-' || split_part(l.address_line1, ' ', 1), "
            f"{', '.join('d.' + name for name in device_columns)} FROM devices d JOIN customer_locations l "
            "ON l.company_id = d.company_id AND l.address_line1 LIKE '% Bulk Street' WHERE d.id = :device"),
            {"device": base_device.id})
        test_columns = [r[0] for r in c.execute(sa.text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'test_records' "
            "AND column_name NOT IN ('id', 'device_id', 'tested_at')"))]
        listed = ", ".join(f"t.{name}" for name in test_columns)
        c.execute(sa.text(
            f"INSERT INTO test_records (id, device_id, tested_at, {', '.join(test_columns)}) "
            f"SELECT gen_random_uuid(), d.id, t.tested_at - n * interval '1 day' - random() * interval '1 day', "
            f"{listed} FROM test_records t JOIN devices d ON d.company_id = t.company_id AND d.serial LIKE 'BULK-%', "
            "generate_series(1, :count) AS n WHERE t.id = :test"),
            {"test": base_test.id, "count": TESTS_PER_DEVICE})
        c.execute(sa.text("ANALYZE customers"))
        c.execute(sa.text("ANALYZE customer_locations"))
        c.execute(sa.text("ANALYZE devices"))
        c.execute(sa.text("ANALYZE test_records"))
    engine.dispose()


def test_forty_thousand_tests_are_paged_along_the_index_without_sorting_or_skipping(app, factory, districts,
                                                                                      district_admin_of, acme, eweb):
    other = districts.area(acme)
    device = districts.device(eweb, serial="BASE-1")
    _fill(app, districts, eweb, other, device, districts.tested(acme, device))
    browser = district_admin_of(eweb)
    first = browser.get("/district/")
    assert first.status_code == 200 and first.text.count("<time datetime=") == 50
    next_page = re.search(r'href="(/district/\?after=[^"]+)"', first.text).group(1).replace("&amp;", "&")
    for path in ("/district/", next_page, "/district/?result=pass"):
        with statements(app) as seen:
            assert browser.get(path).status_code == 200
        for sql, _ in seen:
            assert not re.search(r"\bOFFSET\b|count\(", sql, re.IGNORECASE), sql
        sql, parameters = next((s, p) for s, p in seen if "FROM test_records" in s)
        plan = _plan(app, factory, eweb.admin, sql, parameters)
        assert "test_records_tested_idx" in plan, (path, plan)
        assert '"Node Type": "Sort"' not in plan, (path, plan)
        if "after=" in path:
            # The page position bounds the index scan; it is not a filter over every newer row.
            assert "tested_at" in index_condition(plan), (path, plan)
    assert browser.get(next_page).text.count("<strong>BULK-") == 50


def test_the_districts_devices_are_paged_along_the_serial_index_with_one_lookup_of_each_latest_test(
        app, factory, districts, district_admin_of, acme, eweb):
    other = districts.area(acme)
    device = districts.device(eweb, serial="BASE-1")
    _fill(app, districts, eweb, other, device, districts.tested(acme, device))
    browser = district_admin_of(eweb)
    first = browser.get("/district/devices")
    assert first.status_code == 200 and first.text.count('data-label="Device"') == 50
    next_page = re.search(r'href="(/district/devices\?after=[^"]+)"', first.text).group(1).replace("&amp;", "&")
    for path in ("/district/devices", next_page):
        with statements(app) as seen:
            assert browser.get(path).status_code == 200
        sql, parameters = next((s, p) for s, p in seen if "FROM devices" in s)
        plan = _plan(app, factory, eweb.admin, sql, parameters)
        assert "devices_company_serial_key" in plan and "test_records_device_idx" in plan, (path, plan)
        assert '"Node Type": "Sort"' not in plan, (path, plan)
