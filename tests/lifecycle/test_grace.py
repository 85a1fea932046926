"""Read-only grace: from the paid period's end, a company can sign in, view and export, and change nothing."""
import datetime as dt
import re
import uuid

import pytest
import sqlalchemy as sa
from flask import url_for
from werkzeug.routing import IntegerConverter, UUIDConverter

from flowtrack.companies import state
from flowtrack.companies.jobs import company_session
from flowtrack.core import permissions
from flowtrack.core.permissions import Role
from flowtrack.lifecycle.guard import ALLOWED_IN_GRACE
from flowtrack.models.audit import AuditEntry
from flowtrack.models.companies import Company
from tests.lifecycle.helpers import end_subscription, schedule_cancellation, set_subscription

UTC = dt.timezone.utc
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
READ_ONLY = "subscription has ended, so FlowTrack is read-only: nothing can be changed"


def company_with_clock(clock):
    return Company(name="x", timezone="America/Los_Angeles", deletion_clock_starts_at=clock)


def test_the_grace_clock_boundaries():
    clock = dt.datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    company = company_with_clock(clock)
    assert state.GRACE_DAYS == 30
    assert not state.grace_started(company, clock - dt.timedelta(seconds=1))
    assert state.grace_started(company, clock)
    assert state.deletion_date(company) == clock + dt.timedelta(days=30)
    assert not state.grace_expired(company, clock + dt.timedelta(days=30) - dt.timedelta(seconds=1))
    assert state.grace_expired(company, clock + dt.timedelta(days=30))
    nothing = company_with_clock(None)
    assert not state.grace_started(nothing, clock) and not state.grace_expired(nothing, clock)
    assert state.deletion_date(nothing) is None and state.scheduled_deletion(nothing) is None


@pytest.mark.parametrize("clock, run", [
    # Grace ends exactly at 04:00 PST: that morning's sweep takes it.
    (dt.datetime(2026, 1, 10, 12, 0, tzinfo=UTC), dt.datetime(2026, 2, 9, 12, 0, tzinfo=UTC)),
    # Ends at 05:00 PDT: the next morning's 04:00 PDT run.
    (dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC), dt.datetime(2026, 7, 2, 11, 0, tzinfo=UTC)),
    # Ends 01:59 PST the night daylight saving starts: the 04:00 PDT run that same morning.
    (dt.datetime(2026, 2, 6, 9, 59, tzinfo=UTC), dt.datetime(2026, 3, 8, 11, 0, tzinfo=UTC)),
])
def test_the_banner_names_the_sweep_run_that_deletes(clock, run):
    assert state.scheduled_deletion(company_with_clock(clock)) == run


def _url_for_rule(app, rule) -> str:
    dummy = {}
    for name, converter in rule._converters.items():
        dummy[name] = uuid.uuid4() if isinstance(converter, UUIDConverter) else \
            1 if isinstance(converter, IntegerConverter) else "x"
    with app.test_request_context():
        return url_for(rule.endpoint, **dummy)


def _role_for(needed) -> str | None:
    if needed == permissions.PUBLIC or permissions.allowed(Role.company_admin, needed):
        return Role.company_admin.value
    return next((role.value for role in Role if permissions.allowed(role, needed)), None)


def _audit_count(app, company_id) -> int:
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(sa.func.count()).where(AuditEntry.company_id == company_id))


def test_every_state_changing_route_is_refused_in_grace(app, acme, login):
    # A renamed endpoint would fall out of the allow-list: refused in grace, unnoticed.
    assert ALLOWED_IN_GRACE <= set(app.view_functions)
    end_subscription(app, acme.id, ago=dt.timedelta(days=2))
    browsers = {}
    entries_before = _audit_count(app, acme.id)
    refused = []
    for rule in app.url_map.iter_rules():
        methods = [m for m in STATE_CHANGING if m in rule.methods]
        if not methods or rule.endpoint in ALLOWED_IN_GRACE:
            continue
        role = _role_for(permissions.declared_permission(app.view_functions[rule.endpoint]))
        if role is None:
            continue
        browser = browsers.setdefault(role, login(acme, role))
        url = _url_for_rule(app, rule)
        for method in methods:
            token = browser.csrf_token()
            page = browser.open(url, method=method, data={"csrf_token": token}, headers={"X-CSRFToken": token})
            assert page.status_code == 403 and READ_ONLY in page.text, f"{method} {url}: {page.status_code}"
            fragment = browser.htmx(method.lower(), url)
            assert fragment.status_code == 403 and READ_ONLY in fragment.text and "<html" not in fragment.text
            refused.append(rule.endpoint)
    assert {"audit.verify", "audit.start_report"} <= set(refused)
    assert _audit_count(app, acme.id) == entries_before


def test_viewing_signing_out_and_the_export_still_work_in_grace(app, acme, admin, auditor, run_worker):
    end_subscription(app, acme.id, ago=dt.timedelta(days=2))
    for browser, path in ((admin, "/dashboard/"), (admin, "/account/export/"), (auditor, "/audit/"),
                          (admin, "/billing/")):
        assert browser.get(path).status_code == 200, path
    started = admin.htmx("post", "/account/export/")
    assert started.status_code == 202
    status_url = re.search(r'hx-get="([^"]+)"', started.text).group(1)
    run_worker()
    assert "/download" in admin.htmx("get", status_url).text
    assert auditor.submit("/logout").status_code == 303
    assert auditor.get("/dashboard/").status_code == 302  # signed out: back to the sign-in page


def test_people_of_a_company_in_grace_can_sign_in(app, client, acme):
    end_subscription(app, acme.id, ago=dt.timedelta(days=29))
    office = acme.members["manager"]
    response = client.submit("/login", {"email": office.email, "password": office.password})
    assert response.status_code == 303 and client.get("/dashboard/").status_code == 200


def test_a_scheduled_cancellation_warns_on_every_page_but_changes_nothing_yet(app, acme, admin, office):
    clock = schedule_cancellation(app, acme.id, ends_in=dt.timedelta(days=10))
    deletion = state.scheduled_deletion(Company(deletion_clock_starts_at=clock))
    page = admin.get("/dashboard/")
    banner = " ".join(re.search(r'<section class="lifecycle-banner"[^>]*>(.*?)</section>', page.text, re.S)
                      .group(1).split())
    assert "The subscription is cancelled" in banner and "read-only for 30 days" in banner
    local = deletion.astimezone(dt.timezone(dt.timedelta(hours=-7 if deletion.dst() else -8)))
    assert f"{local:%B} {local.day}, {local:%Y}" in banner
    assert 'href="/billing/"' in banner and 'href="/account/export/"' in banner
    assert "ask a company admin" in office.get("/dashboard/").text
    assert admin.htmx("post", "/audit/verify").status_code == 202  # not read-only yet


def test_the_banner_turns_read_only_in_grace_and_goes_away_on_reversal(app, acme, admin):
    end_subscription(app, acme.id, ago=dt.timedelta(days=3))
    page = admin.get("/audit/")
    assert 'class="lifecycle-banner read-only"' in page.text and "FlowTrack is read-only." in page.text
    set_subscription(app, acme.id, status="active", clock=None, cancel_at_period_end=False)
    page = admin.get("/audit/")
    assert "lifecycle-banner" not in page.text
    assert admin.htmx("post", "/audit/verify").status_code == 202


def test_a_company_without_cancellation_sees_no_banner(admin, acme):
    assert "lifecycle-banner" not in admin.get("/dashboard/").text


def test_jobs_that_write_are_refused_in_grace_and_reading_jobs_run(app, acme, bravo):
    end_subscription(app, acme.id, ago=dt.timedelta(hours=1))
    with app.app_context():
        with pytest.raises(state.CompanyReadOnly):
            with company_session(acme.id, writes=True):
                pytest.fail("a writing job ran for a company in grace")
        with company_session(acme.id) as session:
            assert session.scalar(sa.select(Company.name)) == acme.company.name
        with company_session(bravo.id, writes=True) as session:
            assert session.scalar(sa.select(Company.id)) == bravo.id



def test_an_error_page_after_a_failed_statement_still_renders(app_factory, acme):
    from flask import Blueprint, g

    from flowtrack.core.permissions import DASHBOARD_VIEW, requires

    fresh = app_factory()
    broken = Blueprint("broken", __name__)

    @broken.get("/broken")
    @requires(DASHBOARD_VIEW)
    def broken_view():
        g.db.execute(sa.text("SELECT no_such_column FROM companies"))

    fresh.register_blueprint(broken)
    schedule_cancellation(fresh, acme.id, ends_in=dt.timedelta(days=5))
    browser = fresh.test_client()
    browser.sign_in_as(acme.members["company_admin"])
    page = browser.get("/broken")
    assert page.status_code == 500 and "Something went wrong" in page.text
