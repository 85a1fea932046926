"""Sign-up through HTTP: a company, its admin and a Stripe subscription (on localstripe), or nothing at all."""
from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import time

import pytest
import sqlalchemy as sa
from wtforms import Form, StringField

from flowtrack.audit import services as audit
from flowtrack.auth.services import add_member
from flowtrack.core.forms import EmailAddress
from flowtrack.models.accounts import AuthSession, Profile, User
from flowtrack.models.audit import AuditEntry
from flowtrack.models.companies import Company
from flowtrack.signup import routes
from tests.signup.conftest import SECRET_KEY, free_port, stripe_settings

PASSWORD = "seven plums under a bridge"


def details(**overrides) -> dict:
    tag = secrets.token_hex(4)
    data = {"company_name": f"Crossflow Testing {tag}", "timezone": "America/Chicago", "plan": "basic",
            "full_name": "Dana Reyes", "email": f"dana.{tag}@example.com", "password": PASSWORD,
            "confirm": PASSWORD}
    data.update(overrides)
    return data


def company_named(app, name: str) -> Company | None:
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(Company).where(Company.name == name))


def user_with(app, email: str) -> User | None:
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.lower()))


def stripe_customers_with(stripe_client, email: str) -> list:
    return [c for c in stripe_client.v1.customers.list(params={"limit": 100}).data if c.email == email.lower()]


def errors_of(page, field: str) -> list[str]:
    block = re.search(rf'<ul class="errors" id="{field}-errors">(.*?)</ul>', page.text, re.S)
    return re.findall(r"<li>(.*?)</li>", block.group(1)) if block else []


def test_sign_up_creates_the_company_its_admin_and_a_stripe_subscription(stripe_app, stripe_client, stripe_prices):
    browser = stripe_app.test_client()
    assert browser.get("/signup").status_code == 200
    form = details(plan="professional")
    response = browser.submit("/signup", form)
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/"

    company = company_named(stripe_app, form["company_name"])
    assert (company.timezone, company.plan) == ("America/Chicago", "professional")
    customer = stripe_client.v1.customers.retrieve(company.stripe_customer_id)
    assert (customer.email, customer.name) == (form["email"], form["company_name"])
    subscription = stripe_client.v1.subscriptions.retrieve(company.stripe_subscription_id)
    assert subscription.customer == customer.id
    assert subscription["items"].data[0].plan.id == stripe_prices["professional"]
    assert subscription.trial_period_days == 14
    assert company.subscription_status == subscription.status
    assert company.current_period_end == dt.datetime.fromtimestamp(subscription.current_period_end, dt.timezone.utc)
    assert company.subscription_state_at == dt.datetime.fromtimestamp(subscription.created, dt.timezone.utc)
    assert company.deletion_clock_starts_at is None and company.cancel_at_period_end is False

    admin = user_with(stripe_app, form["email"])
    with stripe_app.extensions["flowtrack.db"].service() as session:
        profile = session.scalar(sa.select(Profile).where(Profile.user_id == admin.id))
        sessions = session.scalars(sa.select(AuthSession).where(AuthSession.user_id == admin.id)).all()
    assert (admin.company_id, profile.role, profile.full_name) == (company.id, "company_admin", "Dana Reyes")
    assert len(sessions) == 1 and sessions[0].revoked_at is None

    dashboard = browser.get("/dashboard/")
    assert dashboard.status_code == 200 and form["company_name"] in dashboard.text
    assert "is ready; invite your team" in dashboard.text
    billing = browser.get("/billing/")
    # Stripe says "trialing" here; localstripe, which has no trials of its own, says "incomplete".
    assert f"<dd>{subscription.status.replace('_', ' ').capitalize()}</dd>" in billing.text
    assert "Billing is not connected" not in billing.text


def test_the_new_admin_can_sign_in_again_with_the_chosen_password(stripe_app):
    form = details()
    assert stripe_app.test_client().submit("/signup", form).status_code == 303
    again = stripe_app.test_client()
    assert again.submit("/login", {"email": form["email"].upper(), "password": PASSWORD}).status_code == 303
    assert again.get("/team/").status_code == 200  # an admin's page


@pytest.mark.parametrize("plan", ["basic", "professional", "enterprise"])
def test_each_plan_subscribes_to_its_own_price(stripe_app, stripe_client, stripe_prices, plan):
    form = details(plan=plan)
    assert stripe_app.test_client().submit("/signup", form).status_code == 303
    company = company_named(stripe_app, form["company_name"])
    subscription = stripe_client.v1.subscriptions.retrieve(company.stripe_subscription_id)
    assert company.plan == plan and subscription["items"].data[0].plan.id == stripe_prices[plan]


def test_sign_up_is_audited_on_the_new_company_chain(stripe_app):
    browser = stripe_app.test_client()
    form = details()
    browser.submit("/signup", form, headers={"User-Agent": "signup-test-browser"})
    company = company_named(stripe_app, form["company_name"])
    admin = user_with(stripe_app, form["email"])
    with stripe_app.extensions["flowtrack.db"].service() as session:
        entries = session.scalars(sa.select(AuditEntry).where(AuditEntry.company_id == company.id)
                                  .order_by(AuditEntry.seq)).all()
        assert audit.verify_chain(session, company.id).ok
    assert [e.action for e in entries] == ["company.created", "user.created", "subscription.started",
                                           "login.succeeded"]
    assert {(e.ip, e.user_agent, e.actor_label) for e in entries} == {
        (browser.environ_base["REMOTE_ADDR"], "signup-test-browser", form["email"])}
    assert [e.actor_user_id for e in entries] == [None, None, admin.id, admin.id]
    started = entries[2].changes
    assert started["stripe_customer_id"]["after"] == company.stripe_customer_id
    assert started["stripe_subscription_id"]["after"] == company.stripe_subscription_id
    assert started["subscription_status"]["after"] == company.subscription_status
    assert "password" not in str([e.changes for e in entries]) and PASSWORD not in str([e.changes for e in entries])


def test_invalid_fields_answer_422_with_the_error_next_to_each_field(stripe_app, stripe_client):
    browser = stripe_app.test_client()
    empty = browser.submit("/signup", {})
    assert empty.status_code == 422
    for field in ("company_name", "full_name", "email", "password", "confirm"):
        assert errors_of(empty, field), field

    form = details(timezone="Mars/Olympus_Mons", plan="platinum", email="not-an-address", password="short",
                   confirm="different")
    page = browser.submit("/signup", form)
    assert page.status_code == 422
    assert errors_of(page, "timezone") == ["Choose a time zone from the list."]
    assert errors_of(page, "plan") == ["Choose Basic, Professional or Enterprise."]
    assert errors_of(page, "email") == ["Enter an email address like name@example.com."]
    assert errors_of(page, "confirm") == ["The two passwords differ."]
    assert form["company_name"] in page.text and 'value="short"' not in page.text
    assert company_named(stripe_app, form["company_name"]) is None


def test_the_password_rule_is_the_one_of_password_reset(stripe_app):
    for password, problem in (("eleven-char", "Use at least 12 characters."),
                              ("aaaaaaaaaaaaaaaa", "Use a less repetitive password.")):
        form = details(password=password, confirm=password)
        page = stripe_app.test_client().submit("/signup", form)
        assert page.status_code == 422 and errors_of(page, "password") == [problem]
        assert company_named(stripe_app, form["company_name"]) is None


def test_the_time_zone_is_any_zone_zoneinfo_knows(stripe_app):
    form = details(timezone="Europe/Lisbon")
    assert stripe_app.test_client().submit("/signup", form).status_code == 303
    assert company_named(stripe_app, form["company_name"]).timezone == "Europe/Lisbon"


def test_an_email_in_use_is_refused_without_naming_its_company(stripe_app, stripe_client, factory):
    other = factory.tenant("Keeps Its Name Secret")
    taken = other.members["manager"].email
    form = details(email=taken.upper())
    page = stripe_app.test_client().submit("/signup", form)
    assert page.status_code == 422 and errors_of(page, "email") == [routes.EMAIL_IN_USE]
    assert other.company.name not in page.text and "Keeps Its Name Secret" not in page.text
    assert company_named(stripe_app, form["company_name"]) is None
    assert stripe_customers_with(stripe_client, taken) == []  # Stripe was never asked


def test_an_address_taken_while_stripe_answered_is_refused_and_the_stripe_customer_deleted(stripe_app, factory,
                                                                                          stripe_client):
    """Two sign-ups with one address: the one that commits second is refused and undoes its Stripe customer."""
    form = details()
    db = stripe_app.extensions["flowtrack.db"]
    rival = factory.company("Rival")
    with db.service() as first:
        # The other sign-up's admin, written but not committed: invisible to the address check, and
        # PostgreSQL makes this sign-up's insert of the same address wait for it.
        add_member(first, rival.id, email=form["email"], password=PASSWORD, role="company_admin", full_name="Rival")
        answers = []
        racer = threading.Thread(target=lambda: answers.append(stripe_app.test_client().submit("/signup", form)))
        racer.start()
        deadline = time.monotonic() + 30
        while not _waiting_on_a_lock(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        first.commit()
    racer.join(30)
    [page] = answers
    assert page.status_code == 422 and errors_of(page, "email") == [routes.EMAIL_IN_USE]
    assert company_named(stripe_app, form["company_name"]) is None
    assert user_with(stripe_app, form["email"]).company_id == rival.id
    assert stripe_customers_with(stripe_client, form["email"]) == []


def _waiting_on_a_lock(db) -> bool:
    with db.service() as session:
        return session.scalar(sa.text("SELECT count(*) FROM pg_stat_activity "
                                      "WHERE datname = current_database() AND wait_event_type = 'Lock'")) > 0


def test_sign_up_is_rate_limited_per_address(app):
    browser = app.test_client()
    for _ in range(10):
        assert browser.submit("/signup", details(password="x", confirm="x")).status_code == 422
    assert browser.submit("/signup", details()).status_code == 429
    assert app.test_client().submit("/signup", details(password="x", confirm="x")).status_code == 422


def test_stripe_unreachable_leaves_nothing_behind(app_factory, stripe_prices, caplog):
    offline = app_factory(**stripe_settings(f"http://127.0.0.1:{free_port()}", stripe_prices))
    browser = offline.test_client()
    form = details()
    page = browser.submit("/signup", form)
    assert page.status_code == 503 and routes.STRIPE_UNREACHABLE in page.text
    assert "creating the customer: APIConnectionError" in caplog.text
    assert SECRET_KEY not in caplog.text and PASSWORD not in caplog.text
    assert form["company_name"] in page.text  # the form is kept for another try
    assert company_named(offline, form["company_name"]) is None and user_with(offline, form["email"]) is None
    assert browser.get("/dashboard/").status_code == 302  # not signed in


def test_a_refusal_by_stripe_leaves_nothing_behind_there_either(app_factory, localstripe_url, stripe_prices,
                                                                 stripe_client):
    wrong_price = app_factory(**stripe_settings(localstripe_url, {**stripe_prices, "enterprise": "price_deleted"}))
    form = details(plan="enterprise")
    page = wrong_price.test_client().submit("/signup", form)
    assert page.status_code == 503 and routes.STRIPE_REFUSED in page.text
    assert company_named(wrong_price, form["company_name"]) is None and user_with(wrong_price, form["email"]) is None
    # The customer was made before the subscription was refused, and deleted again.
    assert stripe_customers_with(stripe_client, form["email"]) == []


def test_a_database_failure_after_stripe_deletes_the_stripe_customer(stripe_app, stripe_client):
    marker = f"crash-{secrets.token_hex(4)}"
    engine = sa.create_engine(stripe_app.extensions["flowtrack.settings"].database_url, poolclass=sa.pool.NullPool)
    # A real failure inside PostgreSQL at the last write of the transaction (the admin's session row).
    with engine.begin() as c:
        c.execute(sa.text("CREATE FUNCTION test_refuse_session() RETURNS trigger LANGUAGE plpgsql AS "
                          "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"))
        c.execute(sa.text(f"CREATE TRIGGER test_crash BEFORE INSERT ON auth_sessions FOR EACH ROW "
                          f"WHEN (NEW.user_agent = '{marker}') EXECUTE FUNCTION test_refuse_session()"))
    form = details()
    try:
        page = stripe_app.test_client().submit("/signup", form, headers={"User-Agent": marker})
    finally:
        with engine.begin() as c:
            c.execute(sa.text("DROP TRIGGER test_crash ON auth_sessions"))
            c.execute(sa.text("DROP FUNCTION test_refuse_session()"))
        engine.dispose()
    assert page.status_code == 500 and routes.DATABASE_FAILED in page.text
    assert company_named(stripe_app, form["company_name"]) is None and user_with(stripe_app, form["email"]) is None
    assert stripe_customers_with(stripe_client, form["email"]) == []


def test_without_stripe_sign_up_works_and_billing_says_it_is_not_connected(app):
    browser = app.test_client()
    assert "Billing is not connected on this installation" in browser.get("/signup").text
    form = details(plan="enterprise")
    assert browser.submit("/signup", form).status_code == 303
    company = company_named(app, form["company_name"])
    assert company.plan == "enterprise"
    assert (company.stripe_customer_id, company.stripe_subscription_id) == (None, None)
    page = browser.get("/billing/")
    assert page.status_code == 200 and "Billing is not connected." in page.text
    assert "Manage billing in Stripe" not in page.text


def test_in_production_without_stripe_sign_up_is_closed(app_factory):
    production = app_factory(ENV="production", SECRET_KEY="p" * 48)
    page = production.test_client().get("/signup", base_url="https://flowtrack.example")
    assert page.status_code == 503 and routes.CLOSED in page.text and "<form" not in page.text


def test_a_secret_key_without_every_price_closes_sign_up(app_factory, localstripe_url, stripe_prices):
    settings = stripe_settings(localstripe_url, stripe_prices)
    del settings["STRIPE_PRICE_PROFESSIONAL"]
    half_configured = app_factory(**settings)
    browser = half_configured.test_client()
    assert browser.get("/signup").status_code == 503
    form = details()
    assert browser.submit("/signup", form).status_code == 503
    assert company_named(half_configured, form["company_name"]) is None


def test_a_form_without_its_csrf_token_is_refused(stripe_app):
    form = details()
    assert stripe_app.test_client().post("/signup", data=form).status_code == 400
    assert company_named(stripe_app, form["company_name"]) is None


def test_someone_signed_in_is_sent_to_the_dashboard(admin):
    response = admin.get("/signup")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/"


def test_the_sign_in_page_links_to_sign_up(client):
    assert 'href="/signup"' in client.get("/login").text


def test_someone_trying_flowtrack_signs_up_with_a_test_address_like_the_demos(app):
    """The demo logins are at .test; a person trying FlowTrack on their own machine may use one too."""
    browser = app.test_client()
    form = details(email=f"owner.{secrets.token_hex(3)}@crossflow.test")
    assert browser.submit("/signup", form).status_code == 303
    assert user_with(app, form["email"]) is not None


def test_in_production_a_test_address_is_refused_since_no_mail_reaches_it(app_factory):
    class Signup(Form):
        email = StringField(validators=[EmailAddress()])

    app = app_factory(ENV="production", SECRET_KEY=SECRET_KEY)
    with app.test_request_context():
        refused = Signup(data={"email": "owner@crossflow.test"})
        assert not refused.validate() and refused.email.errors == ["Enter an email address like name@example.com."]
        assert Signup(data={"email": "owner@crossflow.com"}).validate()
