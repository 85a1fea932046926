"""A Canadian company's whole journey on an installation with two regions, each on its own PostgreSQL server and
its own Redis: it signs up on the Enterprise plan in Canada, signs in, adds a customer, a place and an assembly,
sends an invoice (printed and mailed by Canada's worker), exports its data, and is swept by Canada's cron job.
Every row, file and queued job is Canada's; afterwards the United States' database (every text column of every
table), its file store and its Redis (every key and value) hold none of the company's names, emails, addresses or
serials (docs/regions.md)."""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import secrets
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from redis import Redis

from flowtrack.core.directory import DirectoryCompany, DirectoryLogin, email_key
from flowtrack.core.queue import get_queue
from flowtrack.core.regions import in_region
from flowtrack.core.storage import file_storage
from flowtrack.districts import services as districts
from flowtrack.lifecycle.tasks import anonymization_sweep
from flowtrack.models.accounts import User
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer, Device
from flowtrack.models.notifications import NotificationEmail
from tests import run_log
from tests.regions.harness import two_regions

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = run_log.remember_secret("maple syrup over granite")


@pytest.fixture(scope="module")
def regions(tmp_path_factory):
    with two_regions(tmp_path_factory.mktemp("regions")) as made:
        yield made


def run_worker(regions, region: str) -> str:
    """A real worker process of one region, until its queue is empty."""
    env = {**os.environ, **regions["env"]}
    env.pop("FILE_STORAGE_URL", None)  # the home region's store is this app's own folder, as the app's is
    result = subprocess.run([sys.executable, "-m", "flowtrack.ops.cli", "worker", "--burst", "--region", region],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    run_log.append(f"worker {region}", result.stdout + result.stderr)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def found_in_database(url: str, needles: list[str]) -> list[str]:
    """Every (table.column: needle) of a text, character, array or JSON column of any table that holds a needle."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    found = []
    with engine.connect() as connection:
        columns = connection.execute(sa.text("""
            SELECT c.table_name, c.column_name FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
              AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')
        """)).all()
        assert len(columns) > 100, "the scan must see the whole schema"
        for table, column in columns:
            for needle in needles:
                hit = connection.execute(sa.text(
                    f'SELECT 1 FROM "{table}" WHERE position(lower(:needle) in lower("{column}"::text)) > 0 LIMIT 1'),
                    {"needle": needle}).first()
                if hit:
                    found.append(f"{table}.{column}: {needle}")
    engine.dispose()
    return found


def found_in_redis(redis: Redis, needles: list[str]) -> list[str]:
    """Every key whose name or value holds a needle (strings, hashes, lists, sets, sorted sets, streams)."""
    found = []
    keys = list(redis.scan_iter(count=1000))
    for key in keys:
        kind = redis.type(key).decode()
        if kind == "string":
            values = [redis.get(key) or b""]
        elif kind == "hash":
            values = [b for pair in redis.hgetall(key).items() for b in pair]
        elif kind == "list":
            values = redis.lrange(key, 0, -1)
        elif kind == "set":
            values = list(redis.smembers(key))
        elif kind == "zset":
            values = redis.zrange(key, 0, -1)
        elif kind == "stream":
            values = [b for _, fields in redis.xrange(key) for pair in fields.items() for b in pair]
        else:
            values = []
        text = b" ".join([key, *values]).lower()
        found += [f"{key!r}: {needle}" for needle in needles if needle.lower().encode() in text]
    return found


def found_in_files(app, region: str, needles: list[str]) -> tuple[list[str], list[str]]:
    """The region's stored keys, and every key whose bytes hold a needle."""
    with app.app_context(), in_region(region):
        store = file_storage()
        keys = list(store.keys())
        found = [f"{key}: {needle}" for key in keys for needle in needles
                 if needle.lower().encode() in store.get(key).lower()]
    return keys, found


def assert_none_in_the_united_states(regions, company_id: uuid.UUID, traces: list[str]) -> None:
    """The United States' database, its file store and its Redis hold nothing of the Canadian company."""
    assert found_in_database(regions["us_database"], traces) == []
    us_keys, us_hits = found_in_files(regions["app"], "us", traces)
    assert us_hits == [] and not any(key.startswith(str(company_id)) for key in us_keys)
    assert found_in_redis(regions["us_redis"], traces) == []


def test_a_canadian_company_lives_and_is_swept_in_canada_and_the_united_states_holds_none_of_it(regions):
    app = regions["app"]
    # Letters no hexadecimal id or hash is made of: the tag alone, found anywhere, is a trace of the company.
    tag = "".join(secrets.choice("ghjkmnpqrstvwxyz") for _ in range(6))
    company_name, admin_name = f"Érablière Backflow {tag}", f"Geneviève Tremblay {tag}"
    admin_email = f"genevieve.{tag}@erabliere.example"
    customer_name, customer_email = f"Maison Lavoie {tag}", f"lavoie.{tag}@example.ca"
    billing_address, street = f"88 Rue Saint-Paul {tag}, Montréal", f"1234 Rue Sainte-Catherine {tag}"
    serial = f"QC-{tag.upper()}-77"
    needles = [company_name, admin_name, admin_email, customer_name, customer_email, billing_address, street, serial]
    # What the United States is searched for: each of them, and the tag that is part of each (should one be stored
    # cut, escaped or transformed).
    traces = [*needles, tag]

    browser = app.test_client()
    signup = {"company_name": company_name, "timezone": "America/Toronto", "full_name": admin_name,
              "email": admin_email, "password": PASSWORD, "confirm": PASSWORD, "region": "ca"}
    # The sign-up page offers the regions; Canada is the Enterprise plan's.
    page = browser.get("/signup")
    assert page.status_code == 200 and '<option value="ca">Canada</option>' in page.text
    refused = browser.submit("/signup", {**signup, "plan": "professional"})
    assert refused.status_code == 422 and "Canada needs the Enterprise plan" in refused.text
    created = browser.submit("/signup", {**signup, "plan": "enterprise"})
    assert created.status_code == 303 and created.headers["Location"] == "/dashboard/"

    ca = app.extensions["flowtrack.regions"]["ca"].db
    us = app.extensions["flowtrack.db"]
    with ca.service() as session:
        company = session.scalar(sa.select(Company).where(Company.name == company_name))
        assert company is not None and company.plan == "enterprise"
        assert session.scalar(sa.select(User.email).where(User.company_id == company.id)) == admin_email
    with us.service() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Company).where(Company.id == company.id)) == 0
        # The directory, in the home region's database, knows the company's region and the address's keyed hash.
        assert session.get(DirectoryCompany, company.id).region == "ca"
        with app.test_request_context():
            assert session.get(DirectoryLogin, email_key(admin_email)).region == "ca"

    # Signed out, the admin signs in again: the directory sends the sign-in to Canada.
    assert browser.submit("/logout").status_code == 303
    assert browser.get("/dashboard/").status_code == 302
    signed_in = browser.submit("/login", {"email": admin_email.upper(), "password": PASSWORD})
    assert signed_in.status_code == 303
    settings = browser.get("/settings/")
    assert settings.status_code == 200 and "Data region: <strong>Canada</strong>" in settings.text

    # Use: a customer, their place (in a district), an assembly, and an invoice sent to them.
    with ca.service() as session:
        from flowtrack.core.db import bind_company

        bind_company(session, company.id)
        district = districts.create_district(session, name=f"Ville de Montréal {tag}")
        session.commit()
    made = browser.submit("/customers/new", {"name": customer_name, "billing_address": billing_address,
                                             "email": customer_email})
    assert made.status_code == 303, made.text
    customer_id = made.headers["Location"].rsplit("/", 1)[-1]
    place = browser.submit(f"/customers/{customer_id}/locations/new", {
        "address_line1": street, "city": "Montréal", "state": "QC", "postal_code": "H3B 1A7",
        "district_id": str(district.id)})
    assert place.status_code == 303, place.text
    location_id = place.headers["Location"].rsplit("/", 1)[-1]
    device = browser.submit(f"/locations/{location_id}/devices/new", {
        "device_type": "RP", "manufacturer": "Watts", "serial": serial, "status": "active"})
    assert device.status_code == 303, device.text
    invoice = browser.submit(f"/customers/{customer_id}/invoices")
    invoice_url = invoice.headers["Location"]
    assert browser.submit(f"{invoice_url}/lines", {"description": f"Annual test of {serial}", "quantity": "1",
                                                   "unit_price": "85.00", "taxable": "y"}).status_code == 303
    assert browser.submit(f"{invoice_url}/send").status_code == 303
    # The invoice's jobs wait on Canada's queue, on Canada's Redis; the United States' queue is empty.
    with app.app_context(), in_region("ca"):
        assert get_queue().count >= 1
    with app.app_context():
        assert get_queue().count == 0
    run_worker(regions, "ca")

    # The export: built by Canada's worker from Canada's database, kept in Canada's store.
    started = browser.htmx("post", "/account/export/")
    assert started.status_code == 202, started.text
    status_url = re.search(r'hx-get="([^"]+)"', started.text).group(1)
    run_worker(regions, "ca")
    done = browser.htmx("get", status_url)
    download = browser.get(re.search(r'href="([^"]+/download)"', done.text).group(1))
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    everything = b"".join(archive.read(name) for name in archive.namelist()).decode()
    assert customer_name in everything and serial in everything and street in everything

    with ca.service() as session:
        assert session.scalar(sa.select(Customer.name).where(Customer.company_id == company.id)) == customer_name
        assert session.scalar(sa.select(Device.serial).where(Device.company_id == company.id)) == serial

    # The scans can find what they look for: Canada's stores hold the company.
    assert len({hit.rsplit(": ", 1)[1] for hit in found_in_database(regions["ca_database"], needles)}) == len(needles)
    ca_keys, ca_hits = found_in_files(app, "ca", needles)
    assert any(key.startswith(f"{company.id}/exports/") for key in ca_keys)
    assert any(key.startswith(f"{company.id}/invoices/") for key in ca_keys)
    regions["ca_redis"].set(f"probe:{tag}", serial)
    assert found_in_redis(regions["ca_redis"], [serial])
    regions["ca_redis"].delete(f"probe:{tag}")

    # A forgotten password: the reset link is emailed from Canada's outbox and names its region, so that a browser
    # that never signed in lands in Canada and the new password works there.
    other_browser = app.test_client()
    assert other_browser.submit("/password/forgot", {"email": admin_email}).status_code == 303
    with ca.service() as session:
        body = session.scalar(sa.select(NotificationEmail.body).where(NotificationEmail.to_address == admin_email)
                              .order_by(NotificationEmail.created_at.desc()))
    link = re.search(r"https?://\S+", body).group(0)
    assert "region=ca" in link
    landing = other_browser.get(f"{urlsplit(link).path}?{urlsplit(link).query}")
    assert landing.status_code == 303
    new_password = run_log.remember_secret("granite under the maple " + tag)
    reset = other_browser.submit("/password/reset", {"password": new_password, "confirm": new_password})
    assert reset.status_code == 303, reset.text
    assert other_browser.submit("/login", {"email": admin_email, "password": new_password}).status_code == 303
    assert "Data region: <strong>Canada</strong>" in other_browser.get("/settings/").text

    # The United States holds nothing of it, when the company is at its fullest (the sweep removes its files) ...
    assert_none_in_the_united_states(regions, company.id, traces)

    # The sweep: Canada's cron job, on Canada's queue, run by Canada's worker, on Canada's database.
    with ca.service() as session:
        session.execute(sa.update(Company).where(Company.id == company.id).values(
            subscription_status="canceled", cancel_at_period_end=True,
            deletion_clock_starts_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)))
        session.commit()
    with app.app_context(), in_region("ca"):
        get_queue().enqueue(anonymization_sweep)
    run_worker(regions, "ca")
    with ca.service() as session:
        swept = session.get(Company, company.id)
        assert swept.tombstoned_at is not None and company_name not in swept.name
        assert session.scalar(sa.select(sa.func.count()).select_from(Customer)
                              .where(Customer.company_id == company.id)) == 0
    # The directory forgets its people's addresses (their keyed hashes): the address may sign up again anywhere.
    with app.test_request_context():
        admin_key = email_key(admin_email)
    with app.extensions["flowtrack.db"].service() as session:
        assert session.get(DirectoryLogin, admin_key) is None
        assert session.get(DirectoryCompany, company.id).region == "ca"

    # ... and after its sweep.
    assert_none_in_the_united_states(regions, company.id, traces)


def test_an_account_from_before_regions_is_entered_by_the_upgrade_and_keeps_its_address_out_of_canada(regions):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from flowtrack.ops.cli import cli
    from tests.factories import Factory

    app = regions["app"]
    # Made as a deployment from before regions made it: in the home region's database, with no directory entry.
    tenant = Factory(app).tenant("Old Harbour Testing")
    email = tenant.members["company_admin"].email
    with app.test_request_context():
        key = email_key(email)
    with app.extensions["flowtrack.db"].service() as session:
        assert session.get(DirectoryLogin, key) is None and session.get(DirectoryCompany, tenant.id) is None

    upgraded = CliRunner().invoke(cli, ["db", "upgrade"], obj=ScriptInfo(create_app=lambda: app))
    assert upgraded.exit_code == 0, upgraded.output
    assert "region us: database at head" in upgraded.output and "region ca: database at head" in upgraded.output
    with app.extensions["flowtrack.db"].service() as session:
        assert session.get(DirectoryLogin, key).region == "us"
        assert session.get(DirectoryCompany, tenant.id).region == "us"

    # The address has its account in the United States: a Canadian sign-up with it is refused, and makes nothing.
    browser = app.test_client()
    refused = browser.submit("/signup", {"company_name": "Harbour Nord", "timezone": "America/Toronto",
                                         "plan": "enterprise", "region": "ca", "full_name": "Luc Caron",
                                         "email": email, "password": PASSWORD, "confirm": PASSWORD})
    assert refused.status_code == 422 and "This email already has a FlowTrack account." in refused.text
    with app.extensions["flowtrack.regions"]["ca"].db.service() as session:
        assert session.scalar(sa.select(Company.id).where(Company.name == "Harbour Nord")) is None
    # And its owner still signs in, in the United States.
    assert browser.submit("/login", {"email": email, "password": tenant.members["company_admin"].password}
                          ).status_code == 303
    assert "Data region: <strong>United States</strong>" in browser.get("/settings/").text


def whole_copy(app, region: str, company_id) -> tuple[dict, list[str]]:
    """A region's rows of the company (each table's count and checksum) and its stored files' keys."""
    from flowtrack.ops import move

    with app.app_context():
        where = app.extensions["flowtrack.regions"][region]
        with move.admin_connection(where) as connection:
            rows = {table: move.table_checksum(connection, table, columns, company_id)
                    for table, columns in move.tenant_tables(connection)}
    keys, _ = found_in_files(app, region, [])
    return {table: sums for table, sums in rows.items() if sums[0]}, [k for k in keys if k.startswith(str(company_id))]


class Crash(Exception):
    """The move's process dies here."""


def crash_after(stop: str, also=None):
    def after(step: str) -> None:
        if also is not None:
            also(step)
        if step == stop:
            raise Crash(step)
    return after


def audit_actions(app, region: str, company_id) -> list[str]:
    from flowtrack.models.audit import AuditEntry

    with app.extensions["flowtrack.regions"][region].db.service() as session:
        return list(session.scalars(sa.select(AuditEntry.action).where(AuditEntry.company_id == company_id)
                                    .order_by(AuditEntry.seq)))


def run_cli(app, *args: str):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from flowtrack.ops.cli import cli

    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


def test_a_company_moved_to_canada_is_whole_in_one_region_whichever_step_the_move_stops_at(regions):
    from flowtrack.companies.jobs import company_session
    from flowtrack.core.directory import region_of_company
    from flowtrack.models.companies import CompanyMoving
    from flowtrack.ops import move
    from tests.customers.factories import Records
    from tests.factories import Factory

    app = regions["app"]
    tenant = Factory(app).tenant("Upgrading to Enterprise")
    records = Records(app)
    serial = f"MV-{secrets.token_hex(3).upper()}"
    records.device(tenant, serial=serial)
    with app.app_context():
        file_storage().put(f"{tenant.id}/photos/dataplate.jpg", b"\xff\xd8 a photo", "image/jpeg")
    admin = tenant.members["company_admin"]
    signed_in = app.test_client()
    assert signed_in.submit("/login", {"email": admin.email, "password": admin.password}).status_code == 303

    # The move starts: the company is marked, its people are signed out and kept out, and jobs that write pass it by.
    with app.app_context(), pytest.raises(Crash):
        move.move_company(tenant.id, "ca", after_step=crash_after("freeze"))
    assert signed_in.get("/customers/").status_code == 302
    refused = app.test_client().submit("/login", {"email": admin.email, "password": admin.password})
    assert refused.status_code == 503 and "Your company is moving to Canada" in refused.text
    with app.app_context(), pytest.raises(CompanyMoving):
        with company_session(tenant.id, writes=True):
            pytest.fail("a writing job ran for a moving company")
    frozen, files = whole_copy(app, "us", tenant.id)
    assert frozen["companies"][0] == 1 and frozen["devices"][0] == 1 and files
    assert audit_actions(app, "us", tenant.id)[-1] == "company.move_started"

    # Stopped before the switch, the company is whole in the United States and Canada holds none of its rows.
    for stop in ("files", "rows"):
        with app.app_context(), pytest.raises(Crash):
            move.move_company(tenant.id, "ca", after_step=crash_after(stop))
        with app.app_context():
            assert region_of_company(tenant.id) == "us"
        assert whole_copy(app, "us", tenant.id) == (frozen, files), f"stopped after {stop}"
        assert whole_copy(app, "ca", tenant.id)[0] == {}, f"stopped after {stop}"

    # A webhook writes for the company while its rows are being copied: the switch finds the change, and the copy
    # is made again with it. Then the process dies just after the switch.
    def a_late_write(step: str) -> None:
        if step == "rows" and not late_writes:
            late_writes.append(step)
            with app.extensions["flowtrack.regions"]["us"].db.service() as session:
                session.execute(sa.update(Device).where(Device.company_id == tenant.id).values(serial=serial + "-B"))
                session.commit()

    late_writes: list[str] = []
    with app.app_context(), pytest.raises(Crash):
        move.move_company(tenant.id, "ca", after_step=crash_after("switch", also=a_late_write))
    with app.app_context():
        assert region_of_company(tenant.id) == "ca"
    in_canada = whole_copy(app, "ca", tenant.id)
    assert in_canada == whole_copy(app, "us", tenant.id)  # the source is not removed yet, and equals the copy
    with app.extensions["flowtrack.regions"]["ca"].db.service() as session:
        assert session.scalar(sa.select(Device.serial).where(Device.company_id == tenant.id)) == serial + "-B"
        assert session.get(Company, tenant.id).moving_to == "ca"  # still closed until the command finishes
    assert app.test_client().submit("/login", {"email": admin.email, "password": admin.password}).status_code == 503
    refused = run_cli(app, "company", "move", str(tenant.id), "--cancel")  # too late to stay
    assert refused.exit_code == 1 and "has switched to ca already" in refused.output, refused.output

    # Run again, the command removes the source and opens the company in Canada.
    with app.app_context():
        finished = move.move_company(tenant.id, "ca")
        assert finished.done == ["source", "open"] and region_of_company(tenant.id) == "ca"
    assert whole_copy(app, "us", tenant.id) == ({}, [])
    rows, files_in_canada = whole_copy(app, "ca", tenant.id)
    assert files_in_canada == files and rows["devices"] == in_canada[0]["devices"]
    actions = audit_actions(app, "ca", tenant.id)
    assert actions[-2:] == ["company.move_started", "company.moved"]
    with app.extensions["flowtrack.regions"]["ca"].db.service() as session:
        from flowtrack.audit.services import verify_chain

        assert verify_chain(session, tenant.id).ok

    # Its people sign in again, and find it in Canada; the command, run again, has nothing left to do.
    browser = app.test_client()
    assert browser.submit("/login", {"email": admin.email, "password": admin.password}).status_code == 303
    assert "Data region: <strong>Canada</strong>" in browser.get("/settings/").text
    again = run_cli(app, "company", "move", str(tenant.id), "--to", "ca")
    assert again.exit_code == 0 and f"company {tenant.id} is in ca" in again.output, again.output


def test_a_move_stopped_before_the_switch_is_cancelled_and_the_company_opens_where_it_was(regions):
    from flowtrack.core.directory import region_of_company
    from flowtrack.ops import move
    from tests.factories import Factory

    app = regions["app"]
    tenant = Factory(app).tenant("Second Thoughts Backflow")
    with app.app_context():
        file_storage().put(f"{tenant.id}/logo.png", b"\x89PNG a logo", "image/png")
    before = whole_copy(app, "us", tenant.id)
    with app.app_context(), pytest.raises(Crash):
        move.move_company(tenant.id, "ca", after_step=crash_after("files"))
    assert whole_copy(app, "ca", tenant.id)[1]  # the files were copied

    assert run_cli(app, "company", "move", str(tenant.id)).exit_code == 2  # neither --to nor --cancel
    cancelled = run_cli(app, "company", "move", str(tenant.id), "--cancel")
    assert cancelled.exit_code == 0 and f"company {tenant.id} stays in us" in cancelled.output, cancelled.output
    with app.app_context():
        assert region_of_company(tenant.id) == "us"
    assert whole_copy(app, "ca", tenant.id) == ({}, [])
    rows, files = whole_copy(app, "us", tenant.id)
    assert files == before[1] and rows["customers" if "customers" in rows else "companies"][0] >= 1
    assert audit_actions(app, "us", tenant.id)[-2:] == ["company.move_started", "company.move_canceled"]
    admin = tenant.members["company_admin"]
    assert app.test_client().submit("/login", {"email": admin.email, "password": admin.password}).status_code == 303


def test_stripe_events_reach_a_canadian_company_through_its_region_s_webhook_endpoint(regions):
    from tests.billing.helpers import WEBHOOK_SECRET, deliver, now, signature, subscription_event
    from tests.factories import Factory

    app = regions["app"]
    ca = app.extensions["flowtrack.regions"]["ca"].db
    canadian = Factory(app)
    canadian.db = ca  # made in Canada's database, as a Canadian sign-up makes it
    company = canadian.company("Nordic Flow")
    customer, subscription = f"cus_{secrets.token_hex(6)}", f"sub_{secrets.token_hex(6)}"
    with ca.service() as session:
        session.execute(sa.update(Company).where(Company.id == company.id).values(
            stripe_customer_id=customer, stripe_subscription_id=subscription, subscription_status="active"))
        session.commit()
    app.config["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    try:
        # Stripe sends every event to every endpoint: the home region's finds no such company ...
        event = subscription_event("customer.subscription.updated", subscription, customer, created=now(),
                                   cancel_at_period_end=True, period_end=now() + 86400 * 20)
        home = deliver(app.test_client(), event)
        assert home.status_code == 200 and home.json["outcome"] == "unmatched"
        # ... and Canada's endpoint applies it in Canada's database.
        payload = json.dumps(event)
        canada = app.test_client().post("/webhooks/stripe?region=ca", data=payload, content_type="application/json",
                                        headers={"Stripe-Signature": signature(payload)})
        assert canada.status_code == 200 and canada.json["outcome"] == "applied"
    finally:
        app.config.pop("STRIPE_WEBHOOK_SECRET")
    with ca.service() as session:
        assert session.get(Company, company.id).cancel_at_period_end is True


def test_bounce_and_stop_reports_reach_a_canadian_company_through_its_region_s_endpoints(regions, monkeypatch):
    """The mail provider's bounce and the text-message provider's STOP, each sent to both regions' endpoints (as a
    provider with one endpoint per region sends them): the home region's finds no such address or number among its
    companies, Canada's applies them to the Canadian company."""
    import time

    from flowtrack.companies.jobs import company_session
    from flowtrack.models.notifications import EmailSuppression
    from flowtrack.notifications import services as outbox
    from flowtrack.notifications import sms
    from flowtrack.notifications.delivery_reports import SIGNATURE_HEADER
    from flowtrack.notifications.delivery_reports import sign as sign_report
    from tests.customers.factories import Records
    from tests.factories import Factory

    app = regions["app"]
    ca = app.extensions["flowtrack.regions"]["ca"].db
    canadian, records = Factory(app), Records(app)
    canadian.db = records.db = ca  # made in Canada's database, as a Canadian sign-up makes it
    tenant = canadian.tenant("Laurentian Backflow")
    tag = secrets.token_hex(3)
    address, phone = f"ap.{tag}@laurentian.example", f"+1514555{secrets.randbelow(10_000):04d}"
    customer = records.customer(tenant, email=address, phone=phone, sms_consent=True)
    with app.app_context(), in_region("ca"), company_session(tenant.id, db=ca) as session:
        outbox.send_email(session, address, "Your test certificate", "Body text")
        session.commit()

    mail_secret, sms_token = "mail-webhook-" + "c" * 32, "sms-auth-token-" + tag
    run_log.remember_secret(mail_secret)
    run_log.remember_secret(sms_token)
    for name, value in {"SMS_ACCOUNT_SID": "AC0123456789", "SMS_AUTH_TOKEN": sms_token,
                        "SMS_FROM": "+15145550000"}.items():
        monkeypatch.setenv(name, value)
    app.config["MAIL_WEBHOOK_SECRET"] = mail_secret
    try:
        body = json.dumps({"type": "bounce", "email": address, "bounce_class": "permanent",
                           "description": "550 5.1.1 mailbox does not exist",
                           "occurred_at": "2026-12-01T14:03:00Z"}).encode()
        stop = {"From": phone, "To": "+15145550000", "Body": "STOP"}
        for endpoint in ("", "?region=ca"):
            bounced = app.test_client().post(f"/webhooks/email{endpoint}", data=body, content_type="application/json",
                                             headers={SIGNATURE_HEADER: sign_report(mail_secret, body,
                                                                                    int(time.time()))})
            assert bounced.status_code == 200, bounced.text
            url = f"http://localhost/reminders/webhooks/sms{endpoint}"
            stopped = app.test_client().post(f"/reminders/webhooks/sms{endpoint}", data=stop,
                                             headers={"X-Twilio-Signature": sms.signature(sms_token, url, stop)})
            assert stopped.status_code == 200, stopped.text
            with ca.service() as session:
                suppressed = session.scalar(sa.select(EmailSuppression.id).where(
                    EmailSuppression.company_id == tenant.id, EmailSuppression.address == address))
                opted_out = session.get(Customer, customer.id).sms_opted_out_at
            if endpoint == "":  # the home region's endpoint: nothing of Canada's is touched
                assert suppressed is None and opted_out is None
            else:
                assert suppressed is not None and opted_out is not None
    finally:
        app.config.pop("MAIL_WEBHOOK_SECRET")
