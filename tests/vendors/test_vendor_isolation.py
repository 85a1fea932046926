"""Vendor isolation, two layers like tenant isolation: the application filters a vendor's person's queries to the
work orders assigned to their vendor, and the database's row-level security (migration 0038) does too, alone: on
the vendor role's connection, which the vendor policies confine, and on the app role's, which refuses a vendor's
token altogether."""
import pytest
import sqlalchemy as sa
import sqlalchemy.exc
from flask import url_for

from flowtrack.audit.services import verify_chain
from flowtrack.core import permissions
from flowtrack.core.config import ROLE_APP
from tests.field_tests.factories import RP_PASSING, SIGNED
from tests.foundation.test_cross_tenant import OBJECT_URLS
from tests.vendors.factories import subcontract

# What a vendor's session may see of each table, as SQL over the service role's view of the company: the rows
# their assigned work needs. Every other tenant table shows them nothing.
VISIBLE = {
    "companies": "SELECT id FROM companies WHERE id = :company",
    "company_settings": "SELECT company_id FROM company_settings WHERE company_id = :company",
    "vendors": "SELECT id FROM vendors WHERE id = :vendor",
    "work_orders": "SELECT id FROM work_orders WHERE vendor_id = :vendor",
    "work_order_devices": "SELECT d.id FROM work_order_devices d JOIN work_orders w ON w.id = d.work_order_id "
                          "WHERE w.vendor_id = :vendor",
    "scheduled_jobs": "SELECT j.id FROM scheduled_jobs j JOIN work_orders w ON w.id = j.work_order_id "
                      "WHERE w.vendor_id = :vendor",
    "devices": "SELECT DISTINCT d.device_id FROM work_order_devices d JOIN work_orders w ON w.id = d.work_order_id "
               "WHERE w.vendor_id = :vendor",
    "customer_locations": "SELECT DISTINCT location_id FROM work_orders WHERE vendor_id = :vendor",
    "customers": "SELECT DISTINCT customer_id FROM work_orders WHERE vendor_id = :vendor",
    "districts": "SELECT DISTINCT l.district_id FROM customer_locations l JOIN work_orders w ON w.location_id = l.id "
                 "WHERE w.vendor_id = :vendor AND l.district_id IS NOT NULL",
    "gauges": "SELECT id FROM gauges WHERE vendor_id = :vendor",
    "profiles": "SELECT id FROM profiles WHERE vendor_id = :vendor",
    "users": "SELECT id FROM users WHERE id = :user",
    "auth_sessions": "SELECT id FROM auth_sessions WHERE user_id = :user",
    "test_records": "SELECT t.id FROM test_records t JOIN profiles p ON p.user_id = t.technician_id "
                    "WHERE p.vendor_id = :vendor",
    "device_photos": "SELECT id FROM device_photos WHERE false",
    "schedule_versions": "SELECT company_id FROM schedule_versions WHERE company_id = :company",
    "device_versions": "SELECT company_id FROM device_versions WHERE company_id = :company",
    "hint_versions": "SELECT company_id FROM hint_versions WHERE company_id = :company",
    "queued_jobs": "SELECT id FROM queued_jobs WHERE company_id = :company",
    "account_tokens": "SELECT id FROM account_tokens WHERE user_id = :user",
    "recovery_codes": "SELECT id FROM recovery_codes WHERE user_id = :user",
}


def _tenant_tables(connection) -> list[str]:
    """The tables the app role may read anything of (a few, like Stripe's events, are the service role's only)."""
    return list(connection.execute(sa.text("""
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r'
          AND has_any_column_privilege(:app, c.oid, 'SELECT')
          AND (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'company_id'
                       AND NOT a.attisdropped) OR c.relname = 'companies')
        ORDER BY 1"""), {"app": ROLE_APP}).scalars())


@pytest.fixture
def busy_company(app, factory, acme, bravo, login, run_worker):
    """Acme with two vendors' work, its own work with a test, an invoice and a price list, and Bravo likewise;
    the first vendor's tester has recorded a test."""
    ours = subcontract(app, factory, acme)
    subcontract(app, factory, acme)  # another vendor of the same company
    subcontract(app, factory, bravo)
    for tenant in (acme, bravo):
        for endpoint in ("invoices.detail", "testing.detail", "photos.full", "service_requests.detail"):
            OBJECT_URLS[endpoint](app, factory, tenant)
    tester = app.test_client()
    tester.sign_in_as(ours.tester)
    with app.extensions["flowtrack.db"].service() as session:
        device_id = session.execute(sa.text("SELECT device_id FROM work_order_devices WHERE work_order_id = :o "
                                            "LIMIT 1"), {"o": ours.order.id}).scalar()
        kit = session.execute(sa.text("SELECT id FROM gauges WHERE vendor_id = :v"), {"v": ours.vendor.id}).scalar()
    sent = tester.submit(f"/devices/{device_id}/tests/new", {
        "test_type": "annual", "gauge_id": str(kit), "line_pressure_psi": "72", "shutoff1_tight": "yes",
        **RP_PASSING, **SIGNED})
    assert sent.status_code == 303
    run_worker()
    return ours


def test_the_database_alone_shows_a_vendor_only_what_their_assigned_work_needs(app, factory, acme, busy_company):
    """The app's filter plays no part here: plain SQL on the vendor role's connection, with the vendor's token."""
    ours = busy_company
    token = factory.session_token(ours.tester)
    db = app.extensions["flowtrack.db"]
    keys = {"company": acme.id, "vendor": ours.vendor.id, "user": ours.tester.user_id}
    with db.service_engine.connect() as service, db.vendor_engine.connect() as vendor:
        tables = _tenant_tables(service)
        assert set(VISIBLE) < set(tables)
        with vendor.begin():
            vendor.execute(sa.text("SELECT set_config('app.session_token', :t, true)"), {"t": token})
            for table in tables:
                seen = set(vendor.execute(sa.text(f"SELECT {_key(table)} FROM {table}")).scalars())
                expected = set(service.execute(sa.text(VISIBLE[table]), keys).scalars()) if table in VISIBLE \
                    else set()
                assert seen == expected, table
    # Their own work is there to see: the assigned order, its devices, and the test they recorded.
    with db.service_engine.connect() as service:
        assert service.execute(sa.text(VISIBLE["test_records"]), keys).scalar() is not None
        assert len(service.execute(sa.text(VISIBLE["devices"]), keys).all()) == 2


def _key(table: str) -> str:
    return {"companies": "id", "company_settings": "company_id", "schedule_versions": "company_id",
            "device_versions": "company_id", "hint_versions": "company_id", "audit_checkpoints": "company_id",
            "invoice_counters": "company_id"}.get(table, "id")


def test_a_forged_setting_reveals_nothing_more(app, factory, acme, busy_company):
    ours = busy_company
    token = factory.session_token(ours.tester)
    manager = acme.members["manager"]
    with app.extensions["flowtrack.db"].vendor_engine.connect() as vendor:
        with vendor.begin():
            vendor.execute(sa.text("SELECT set_config('app.session_token', :t, true)"), {"t": token})
            for name, value in (("app.vendor_id", ""), ("app.user_id", str(manager.user_id)),
                                ("app.company_id", str(acme.id)), ("app.role", "company_admin")):
                vendor.execute(sa.text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
            assert vendor.execute(sa.text("SELECT count(*) FROM invoices")).scalar() == 0
            assert vendor.execute(sa.text("SELECT count(*) FROM customers")).scalar() == 1
            assert vendor.execute(sa.text("SELECT count(*) FROM work_orders")).scalar() == 1
            assert vendor.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() == 0
            assert vendor.execute(sa.text("SELECT auth_vendor_id()")).scalar() == ours.vendor.id


def test_a_vendors_token_on_the_app_roles_connection_sees_nothing_at_all(app, factory, acme, busy_company):
    """Should the application ever send a vendor's request through its own role, where no vendor policy applies,
    the token opens nothing; another person's token on the vendor role sees nothing either."""
    db = app.extensions["flowtrack.db"]
    for engine, member in ((db.app_engine, busy_company.tester), (db.vendor_engine, acme.members["manager"])):
        with engine.connect() as connection:
            with connection.begin():
                connection.execute(sa.text("SELECT set_config('app.session_token', :t, true)"),
                                   {"t": factory.session_token(member)})
                for table in ("companies", "work_orders", "devices", "profiles", "invoices"):
                    assert connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0, table
    with db.service_engine.connect() as service:
        acmes = service.execute(sa.text("SELECT count(*) FROM work_orders WHERE company_id = :c"), {"c": acme.id})
        acmes = acmes.scalar()
    with db.app_engine.connect() as connection:  # the office, on the app role, is unaffected
        with connection.begin():
            connection.execute(sa.text("SELECT set_config('app.session_token', :t, true)"),
                               {"t": factory.session_token(acme.members["manager"])})
            assert connection.execute(sa.text("SELECT count(*) FROM work_orders")).scalar() == acmes > 0


def test_a_vendor_cannot_write_outside_their_work(app, factory, acme, busy_company):
    ours = busy_company
    token = factory.session_token(ours.tester)
    manager = acme.members["manager"]
    db = app.extensions["flowtrack.db"]

    def as_vendor(statement: str, **values):
        with db.vendor_engine.connect() as vendor:
            with vendor.begin():
                vendor.execute(sa.text("SELECT set_config('app.session_token', :t, true)"), {"t": token})
                return vendor.execute(sa.text(statement), values).rowcount

    # Nothing outside their view is changed: the rows are not there to them.
    assert as_vendor("UPDATE work_orders SET notes = 'mine' WHERE vendor_id IS DISTINCT FROM :v",
                     v=ours.vendor.id) == 0
    assert as_vendor("UPDATE profiles SET full_name = 'x' WHERE user_id = :u", u=manager.user_id) == 0
    assert as_vendor("DELETE FROM devices") == 0
    # Nor can they give their work order away, or sign an audit entry as someone else.
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        as_vendor("UPDATE work_orders SET vendor_id = NULL WHERE vendor_id = :v", v=ours.vendor.id)
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        as_vendor("INSERT INTO audit_log (id, company_id, seq, occurred_at, action, actor_user_id, payload_salt, "
                  "prev_hash, payload_digest, entry_hash) VALUES (gen_random_uuid(), :c, 99999, now(), 'forged', :u, "
                  "'\\x00', '\\x00', '\\x00', '\\x00')", c=acme.id, u=manager.user_id)
    with app.extensions["flowtrack.db"].service() as session:
        assert verify_chain(session, acme.id).ok  # the tester's entries were appended to the chain in order


def test_every_route_refuses_a_vendor_what_is_not_their_assigned_work(app, factory, acme, bravo, busy_company):
    """The crawl: each route with an id, given one of the vendor's own company's objects that is not their work
    (and another company's), is refused (403) or not found (404)."""
    tester = app.test_client()
    tester.sign_in_as(busy_company.tester)
    for endpoint in sorted(OBJECT_URLS):
        view = app.view_functions[endpoint]
        needed = permissions.declared_permission(view)
        for tenant in (acme, bravo):
            arguments = OBJECT_URLS[endpoint](app, factory, tenant)
            with app.test_request_context():
                url = url_for(endpoint, **arguments)
            expected = 404 if permissions.allowed("vendor", needed) else 403
            for rule in (r for r in app.url_map.iter_rules() if r.endpoint == endpoint):
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    response = tester.open(url, method=method, headers={"X-CSRFToken": tester.csrf_token()})
                    assert response.status_code == expected, f"{endpoint} {method} {url}: {response.status_code}"
