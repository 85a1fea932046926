"""The daily anonymization sweep: three safety layers, one transaction per company, nothing left but survivors."""
import datetime as dt
import hashlib
import os
import secrets
import time
import uuid
import zoneinfo

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo

from flowtrack.audit import services as audit
from flowtrack.auth.services import add_member
from flowtrack.booking import services as booking
from flowtrack.companies import state
from flowtrack.companies.jobs import company_session
from flowtrack.field_tests import services as testing
from flowtrack.field_tests.tasks import render_test_report
from flowtrack.hints import services as hints
from flowtrack.imports import services as imports
from flowtrack.inventory import services as inventory
from flowtrack.invoices import logo
from flowtrack.invoices import services as invoices
from flowtrack.lifecycle import anonymize
from flowtrack.models.autopay import AutopayCharge
from flowtrack.models.billing import StripeEvent
from flowtrack.models.companies import Company
from flowtrack.models.customers import Customer, CustomerLocation, Device
from flowtrack.models.notifications import NotificationEmail
from flowtrack.models.security import AccountToken, RecoveryCode
from flowtrack.models.submissions import DistrictAssembly, SubmissionBatch
from flowtrack.notifications import suppressions
from flowtrack.notifications.delivery_reports import DeliveryReport
from flowtrack.photos import services as photos
from flowtrack.quotes import services as quotes
from flowtrack.reminders import services as reminders
from flowtrack.service_requests import services as service_requests
from flowtrack.work_orders import services as work_orders
from tests.booking.factories import open_window
from tests.customers.factories import Records
from tests.devices.factories import dataplate_read
from tests.factories import PEOPLE, file_store
from tests.field_tests.factories import SIGNED, camera_photo, file_storage_of, voice_note
from tests.invoices.factories import card_on_file
from tests.invoices.test_logo import picture
from tests.lifecycle.helpers import end_subscription, set_subscription
from tests.scheduling.factories import Planner

DAYS = dt.timedelta(days=1)


def admin_engine(app):
    return sa.create_engine(app.extensions["flowtrack.settings"].database_url, poolclass=sa.pool.NullPool)


def tenant_tables(connection) -> list[str]:
    return connection.execute(sa.text("""
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'company_id' AND NOT a.attisdropped
        WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1
    """)).scalars().all()


def dump(app, company_id) -> dict[str, list[str]]:
    """Every row of the company in every table (and its companies row), as text."""
    engine = admin_engine(app)
    with engine.connect() as c:
        rows = {"companies": c.execute(sa.text("SELECT t::text FROM companies t WHERE id = :c"),
                                       {"c": company_id}).scalars().all()}
        for table in tenant_tables(c):
            rows[table] = sorted(c.execute(sa.text(f'SELECT t::text FROM "{table}" t WHERE company_id = :c'),
                                           {"c": company_id}).scalars())
    engine.dispose()
    return rows


def whole_database(app) -> str:
    engine = admin_engine(app)
    digest = hashlib.sha256()
    with engine.connect() as c:
        tables = c.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).scalars()
        for table in list(tables):
            for row in sorted(c.execute(sa.text(f'SELECT t::text FROM "{table}" t')).scalars()):
                digest.update(row.encode())
    engine.dispose()
    return digest.hexdigest()


def files_of(app, company_id) -> list[str]:
    """The company's files in the file store: its export, photos, signatures, printed reports and invoices."""
    return list(file_store(app).keys(str(company_id)))


def run_sweep(app, now=None, **kwargs):
    return anonymize.sweep(app.extensions["flowtrack.db"], now or dt.datetime.now(dt.timezone.utc),
                           storage=file_store(app), **kwargs)


def result_for(summary, company_id):
    return next(r for r in summary.results if r.company_id == company_id)


class People:
    """A company full of data: its team, sign-ins, sessions, an export on disk, mail, tokens, Stripe events."""

    def __init__(self, app, factory, client):
        self.tenant = factory.tenant("Doomed Backflow")
        self.id = self.tenant.id
        tag = secrets.token_hex(4)
        self.name, self.email, self.phone = f"Zelda Quixote {tag}", f"zelda.{tag}@example.com", f"+1 555 01{tag}"
        # Its subscription at Stripe, and its own Stripe account where its customers paid its invoices.
        self.stripe_ids = (f"cus_{tag}doomed", f"sub_{tag}doomed", f"acct_{tag}doomed")
        self.needles = [self.name, self.email, self.phone, self.tenant.company.name, *self.stripe_ids,
                        *(m.email for m in self.tenant.members.values())]
        db = app.extensions["flowtrack.db"]
        with db.service() as session:
            company = session.get(Company, self.id)
            company.stripe_customer_id, company.stripe_subscription_id, company.stripe_account_id = self.stripe_ids
            profile = add_member(session, self.id, email=self.email, password="zelda's password 1", role="manager",
                                 full_name=self.name, phone=self.phone)
            now = dt.datetime.now(dt.timezone.utc)
            session.add_all([
                AccountToken(company_id=self.id, user_id=profile.user_id, purpose="invite",
                             token_hash=os.urandom(32), expires_at=now + DAYS),
                RecoveryCode(company_id=self.id, user_id=profile.user_id, code_hash=os.urandom(32)),
                NotificationEmail(company_id=self.id, to_address=self.email, subject="Your test is due",
                                  body=f"Hello {self.name}, call {self.phone}.", status="sent"),
                StripeEvent(id=f"evt_{tag}", type="customer.subscription.deleted", created_at=now, received_at=now,
                            company_id=self.id, outcome="applied"),
            ])
            session.commit()
        # A real sign-in: the audit log then holds the email, the IP and the browser of a person.
        assert client.submit("/login", {"email": self.email, "password": "zelda's password 1"}).status_code == 303
        factory.session_token(self.tenant.members["auditor"])
        factory.finished_export(self.tenant)
        self._fill_records(app)
        with db.service() as session:  # and the mail service reported that mail to the person bounced
            suppressions.record_report(session, DeliveryReport("bounce", self.email, permanent=True,
                                                               detail=f"550 no mailbox {self.email}",
                                                               occurred_at=None))
            session.commit()

    def _fill_records(self, app) -> None:
        """The office's records too, with the person as a customer: every table of the company gets rows."""
        records, planner = Records(app), Planner(app)
        customer = records.customer(self.tenant, name=self.name, email=self.email, phone=self.phone,
                                    billing_address="1 Quixote Way")
        district = records.district(self.tenant)
        location = records.location(self.tenant, customer, district_id=district.id,
                                    site_contact_name=self.name, site_contact_phone=self.phone)
        device = records.device(self.tenant, location, device_type="DC",
                                install_date=dt.date.today() - dt.timedelta(days=400))
        gauge = records.gauge(self.tenant)
        job = planner.assign(self.tenant, device)
        with app.app_context(), records.session(self.tenant) as session:
            photo = photos.add_photo(session, file_storage_of(app), session.get(Device, device.id),
                                     self.tenant.members["technician"].user_id, camera_photo(), caption=self.name)
            order = work_orders.get_work_order(session, job.work_order_id)
            work_orders.add_line(session, order, description="Permit fee", quantity=1, unit_price_cents=2500)
            part = inventory.create_part(session, sku="FEB-765-DISC", name="Febco 765 check disc", kind="disc",
                                         unit_cost_cents=900, unit_price_cents=2650, device_types=["DC"])
            inventory.receive(session, part, inventory.create_place(session, name="Main warehouse",
                                                                    kind="warehouse"), 5, by=None)
            self.test_id = testing.record_test(  # the disc fitted comes from the technician's van
                session, session.get(Device, device.id), self.tenant.members["technician"].user_id,
                testing.Submission(test_type="annual", gauge_id=gauge.id, **SIGNED, photo_ids=[photo.id],
                                   readings={"check1_psid": "2.4", "check2_psid": "1.8"},
                                   parts={1: (str(part.id), "1")}),
                storage=file_storage_of(app)).id
            hints.dismiss(session, f"replace:{device.id}:{self.test_id}", "manager",  # the office dismissed a hint
                          self.tenant.members["manager"].user_id)
            reminders.save_settings(session, enabled=True, lead_days=[30], when_overdue=True)
            invoice = invoices.blank_invoice(session, session.get(Customer, customer.id))
            invoices.add_line(session, invoice, "Annual backflow test", 1, 8500, True)
            invoices.send(session, invoice, dt.date.today())
            invoices.record_payment(session, invoice, amount_cents=8500, method="check", reference="101",
                                    received_on=dt.date.today(), recorded_by=None)
            # The district's own list of assemblies, and a batch of reports filed on its portal.
            session.add(DistrictAssembly(company_id=self.id, district_id=district.id, serial=device.serial,
                                         serial_key=device.serial, address="1 Quixote Way", address_key="1 QUIXOTE WAY",
                                         water_account_number=f"WA-{self.phone}"))
            session.add(SubmissionBatch(company_id=self.id, district_id=district.id))
            card = card_on_file(session, customer.id)  # the card declined when the invoice was sent
            session.add(AutopayCharge(company_id=self.id, invoice_id=invoice.id, card_id=card.id, attempt=1,
                                      amount_cents=8500, status="declined", failure="Your card was declined."))
            invoices.set_price(session, kind="trip", unit_price_cents=4500)
            quote = quotes.new_quote(session, session.get(CustomerLocation, location.id), created_by=None,
                                     expires_on=dt.date.today() + dt.timedelta(days=30), notes=f"For {self.name}",
                                     device=session.get(Device, device.id))
            quotes.add_line(session, quote, description="New check disc", quantity=1, unit_price_cents=3250)
            quotes.send(session, quote, dt.date.today(), lambda token: f"https://x.test/q/{token}")
            quotes.approve(session, quote.id, version=1, chosen=set(), name=self.name, ip="203.0.113.9",
                           today=dt.date.today())
            imports.store_upload(session, "customers.csv", (f"customer_name,address_line1,city,state,postal_code\n"
                                                            f"{self.name},1 Quixote Way,Eugene,OR,97401\n").encode(),
                                 None)
            member = add_member(session, self.id, email=f"portal.{self.email}", password="zelda's password 2",
                                role="customer", full_name=self.name, customer_id=customer.id)
            service_requests.ask(session, session.get(Customer, customer.id), member.user_id, location_id=location.id,
                                 kind="repair", device_ids=[device.id], notes=f"Call {self.name} on {self.phone}",
                                 pictures=[camera_photo()], storage=file_storage_of(app))
        # The technician's voice note with the test, and a dataplate photographed for a device not saved yet.
        voice_note(app, self.tenant, test_id=self.test_id, transcript=f"{self.name} was there")
        dataplate_read(app, self.tenant, location, proposal={"serial": f"SN-{self.phone}"})
        overdue = records.device(self.tenant, location, install_date=dt.date.today() - dt.timedelta(days=3))
        window = open_window(app, self.tenant)
        with app.app_context(), records.session(self.tenant) as session:  # the person booked its test online
            booking.book(session, session.get(Customer, customer.id), member.user_id, window_id=window.id,
                         location_id=location.id, device_ids=[overdue.id], today=dt.date.today())
        with app.app_context(), company_session(self.id, db=app.extensions["flowtrack.db"]) as session:
            sent = reminders.run_reminders(session, dt.date.today(), opt_out_link=lambda c: "https://x.test/stop")
            session.commit()
        assert sent.devices == 1 and overdue


@pytest.fixture
def people(app, factory, client):
    return People(app, factory, client)


def test_an_expired_company_keeps_only_its_survivors_and_no_identity(app, people, bravo, login):
    # Its printed report and its invoice logo join the export, the photos, the signature, the voice note and the
    # dataplate's photo (and its thumbnail) in the file store.
    with app.app_context():
        render_test_report(str(people.id), str(people.test_id))
    logo.save_logo(file_store(app), people.id, picture("PNG"))
    end_subscription(app, people.id, ago=31 * DAYS)
    assert len(files_of(app, people.id)) == 11
    before = dump(app, people.id)
    # Data in every table of the company but two: a checkpoint exists only once retention has pruned the log, and
    # no job waits for a worker (the worker ran them all, which drops their rows).
    assert [table for table, rows in before.items() if not rows] == ["audit_checkpoints", "queued_jobs"]
    bravo_before = dump(app, bravo.id)

    summary = run_sweep(app)

    result = result_for(summary, people.id)
    assert result.status == "anonymized", result.reason
    assert result.counts["users"] == result.counts["profiles"] == PEOPLE + 2 and result.counts["exports"] == 1
    # The export, the device's photo and the request's, their thumbnails, the signature, the printed report, the
    # logo, the voice note and the dataplate's photo and thumbnail: one prefix.
    assert result.files_removed == 11 and files_of(app, people.id) == []
    after = dump(app, people.id)
    left = {table for table, rows in after.items() if rows}
    assert left <= set(anonymize.SURVIVING_TABLES) and {"companies", "audit_log", "stripe_events"} <= left
    assert dump(app, bravo.id) == bravo_before

    engine = admin_engine(app)
    with engine.connect() as c:
        for needle in people.needles:
            for table in c.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars():
                hits = c.execute(sa.text(f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE :n'),
                                 {"n": f"%{needle}%"}).scalar()
                allowed = table == "invoices"  # the frozen customer snapshots
                assert hits == 0 or allowed, f"{needle!r} still in {table}"
    engine.dispose()

    with app.extensions["flowtrack.db"].service() as session:
        company = session.get(Company, people.id)
        assert company.name == anonymize.TOMBSTONE_NAME and company.tombstoned_at is not None
        assert (company.stripe_customer_id, company.stripe_subscription_id, company.stripe_account_id) == \
            (None, None, None)
        verification = audit.verify_chain(session, people.id)
        assert verification.ok, verification.problem
        assert verification.entries == len(before["audit_log"]) + 1
        last = session.scalars(sa.select(audit.AuditEntry).where(audit.AuditEntry.company_id == people.id)
                               .order_by(audit.AuditEntry.seq.desc())).first()
        assert last.action == "company.anonymized" and last.changes["rows"]["users"] == PEOPLE + 2
    # Nobody of the company can sign in any more.
    browser = app.test_client()
    refused = browser.submit("/login", {"email": people.email, "password": "zelda's password 1"})
    assert refused.status_code == 422 and "do not match an active account" in refused.text


def test_the_promised_order_holds_where_foreign_keys_allow(app):
    with app.extensions["flowtrack.db"].service() as session:
        present = [t for t in anonymize.DELETED_TABLES if t in anonymize._tenant_tables(session)]
        order = anonymize.deletion_order(session, present)
    assert sorted(order) == sorted(present)
    assert order.index("profiles") < order.index("users")
    assert order.index("auth_sessions") < order.index("users")  # a child before the row it points at
    assert order[-1] == "users"
    assert [t for t in order if t in ("notification_emails", "exports", "profiles")] == \
        ["notification_emails", "exports", "profiles"]


def test_every_table_holding_company_rows_is_either_deleted_or_a_promised_survivor(app):
    """A feature's new table must be placed in DELETED_TABLES (or, with the promise changed, SURVIVING_TABLES)
    before it ships: otherwise the sweep of a company that used the feature would stop on leftover rows."""
    with app.extensions["flowtrack.db"].service() as session:
        tenant_tables = anonymize._tenant_tables(session)
    unplaced = tenant_tables - set(anonymize.DELETED_TABLES) - set(anonymize.SURVIVING_TABLES)
    assert not unplaced, f"add {sorted(unplaced)} to DELETED_TABLES in flowtrack/lifecycle/anonymize.py"


@pytest.mark.parametrize("layer", ["cancellation", "no clock", "grace not over"])
def test_a_failing_safety_layer_alone_writes_nothing(app, people, layer):
    if layer == "cancellation":
        set_subscription(app, people.id, status="past_due", clock=dt.datetime.now(dt.timezone.utc) - 45 * DAYS)
    elif layer == "no clock":
        set_subscription(app, people.id, status="canceled", clock=None)
    else:
        end_subscription(app, people.id, ago=30 * DAYS - dt.timedelta(minutes=1))
    before, files = dump(app, people.id), files_of(app, people.id)
    result = anonymize.anonymize_company(app.extensions["flowtrack.db"], people.id,
                                         dt.datetime.now(dt.timezone.utc),
                                         storage=file_store(app))
    assert result.status == "skipped" and result.reason.startswith(
        {"cancellation": "cancellation", "no clock": "grace", "grace not over": "grace"}[layer])
    assert dump(app, people.id) == before and files_of(app, people.id) == files


def test_an_unknown_company_writes_nothing_anywhere(app, people):
    end_subscription(app, people.id, ago=40 * DAYS)  # an anonymizable company exists beside it
    before = whole_database(app)
    result = anonymize.anonymize_company(app.extensions["flowtrack.db"], uuid.uuid4(),
                                         dt.datetime.now(dt.timezone.utc))
    assert (result.status, result.reason) == ("skipped", "identity: no such company")
    assert whole_database(app) == before


def test_grace_ends_exactly_thirty_days_after_the_clock(app, people):
    clock = end_subscription(app, people.id, ago=31 * DAYS)
    db = app.extensions["flowtrack.db"]
    early = anonymize.anonymize_company(db, people.id, clock + 30 * DAYS - dt.timedelta(seconds=1))
    assert early.status == "skipped"
    assert anonymize.anonymize_company(db, people.id, clock + 30 * DAYS).status == "anonymized"


def test_a_crash_mid_sweep_leaves_that_company_untouched_and_the_next_is_processed(app, people, factory):
    other = factory.tenant("Next in line")
    end_subscription(app, people.id, ago=35 * DAYS)
    end_subscription(app, other.id, ago=34 * DAYS)
    before, files = dump(app, people.id), files_of(app, people.id)
    engine = admin_engine(app)
    # A real failure inside PostgreSQL, after the invoices, the audit strip, the tombstone and the first deletes.
    with engine.begin() as c:
        c.execute(sa.text("CREATE FUNCTION test_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS "
                          "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"))
        c.execute(sa.text(f"CREATE TRIGGER test_crash BEFORE DELETE ON profiles FOR EACH ROW "
                          f"WHEN (OLD.company_id = '{people.id}') EXECUTE FUNCTION test_refuse_delete()"))
    try:
        summary = run_sweep(app)
    finally:
        with engine.begin() as c:
            c.execute(sa.text("DROP TRIGGER test_crash ON profiles"))
            c.execute(sa.text("DROP FUNCTION test_refuse_delete()"))
        engine.dispose()
    crashed = result_for(summary, people.id)
    assert crashed.status == "failed" and "injected failure" in crashed.reason
    assert dump(app, people.id) == before and files_of(app, people.id) == files
    assert result_for(summary, other.id).status == "anonymized"
    # The next run finishes the job.
    assert result_for(run_sweep(app), people.id).status == "anonymized"


def test_a_dry_run_counts_the_same_and_writes_nothing(app, people):
    end_subscription(app, people.id, ago=31 * DAYS)
    before, files = dump(app, people.id), files_of(app, people.id)
    dry = result_for(run_sweep(app, dry_run=True), people.id)
    assert dry.status == "would_anonymize"
    assert dump(app, people.id) == before and files_of(app, people.id) == files
    real = result_for(run_sweep(app), people.id)
    assert real.counts == dry.counts


def test_the_sweep_is_idempotent_and_catches_up_missed_days(app, people, caplog):
    end_subscription(app, people.id, ago=45 * DAYS)  # fifteen daily runs were missed
    with caplog.at_level("INFO", logger="flowtrack.lifecycle"):
        assert result_for(run_sweep(app), people.id).status == "anonymized"
    assert f"company={people.id} anonymized" in caplog.text and f" users={PEOPLE + 2} " in caplog.text
    after = dump(app, people.id)
    second = run_sweep(app)
    assert all(r.company_id != people.id for r in second.results)
    assert dump(app, people.id) == after
    again = anonymize.anonymize_company(app.extensions["flowtrack.db"], people.id, dt.datetime.now(dt.timezone.utc))
    assert (again.status, again.reason) == ("skipped", "identity: already anonymized")


def test_a_company_in_grace_is_skipped_and_logged_with_the_reason(app, people, caplog):
    end_subscription(app, people.id, ago=3 * DAYS)
    with caplog.at_level("INFO", logger="flowtrack.lifecycle"):
        summary = run_sweep(app)
    assert result_for(summary, people.id).status == "skipped"
    assert f"company={people.id} skipped (grace: expires" in caplog.text


def test_a_future_time_is_refused_unless_dry_run(app, people):
    future = dt.datetime.now(dt.timezone.utc) + 60 * DAYS
    end_subscription(app, people.id, ago=1 * DAYS)
    with pytest.raises(ValueError):
        run_sweep(app, future)
    assert result_for(run_sweep(app, future, dry_run=True), people.id).status == "would_anonymize"
    assert dump(app, people.id)["users"]


def test_the_cli_runs_the_same_sweep(app, people):
    from flowtrack.ops.cli import cli

    end_subscription(app, people.id, ago=31 * DAYS)
    runner = CliRunner()
    info = ScriptInfo(create_app=lambda: app)
    ahead = (dt.datetime.now(dt.timezone.utc) + 2 * DAYS).isoformat()
    dry = runner.invoke(cli, ["sweep", "--dry-run", "--now", ahead], obj=info)
    assert dry.exit_code == 0, dry.output
    assert f"would_anonymize {people.id}" in dry.output and dump(app, people.id)["users"]
    assert runner.invoke(cli, ["sweep", "--now", ahead], obj=info).exit_code != 0
    assert runner.invoke(cli, ["sweep", "--now", "yesterday"], obj=info).exit_code == 2
    done = runner.invoke(cli, ["sweep"], obj=info)
    assert done.exit_code == 0 and f"anonymized      {people.id}" in done.output
    assert not dump(app, people.id)["users"]


def test_the_cron_job_runs_the_sweep(app, people):
    from flowtrack.lifecycle.tasks import anonymization_sweep

    end_subscription(app, people.id, ago=31 * DAYS)
    with app.app_context():
        assert anonymization_sweep()["anonymized"] >= 1
    assert not dump(app, people.id)["users"] and files_of(app, people.id) == []


@pytest.mark.parametrize("after, fires_utc", [
    (dt.datetime(2026, 1, 15, 12, 30, tzinfo=dt.timezone.utc), dt.datetime(2026, 1, 16, 12, 0, tzinfo=dt.timezone.utc)),
    (dt.datetime(2026, 7, 15, 12, 30, tzinfo=dt.timezone.utc), dt.datetime(2026, 7, 16, 11, 0, tzinfo=dt.timezone.utc)),
    # Across both changes of the clocks.
    (dt.datetime(2026, 3, 7, 13, 0, tzinfo=dt.timezone.utc), dt.datetime(2026, 3, 8, 11, 0, tzinfo=dt.timezone.utc)),
    (dt.datetime(2026, 10, 31, 12, 0, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.timezone.utc)),
])
def test_the_sweep_fires_at_four_in_los_angeles_winter_and_summer(app, monkeypatch, after, fires_utc):
    from flowtrack.lifecycle.tasks import anonymization_sweep
    from jobs import cron

    monkeypatch.setenv("TZ", "UTC")
    cron.pin_timezone()
    try:
        scheduler = cron.build_scheduler(app.extensions["flowtrack.redis"], "unused-queue")
        [job] = [j for j in scheduler.get_jobs() if j.func is anonymization_sweep]
        job.latest_enqueue_time = after
        fires = job.get_next_enqueue_time()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert fires == fires_utc
    local = fires.astimezone(zoneinfo.ZoneInfo(state.SWEEP_TIMEZONE))
    assert (local.hour, local.minute) == (state.SWEEP_HOUR, 0)
