"""The nine roles: the admin reads on one page what each may do, straight from the permission matrix; the office
of before is the Manager; and every link and button a role is shown leads somewhere it may go."""
import re
from collections import deque
from html import escape, unescape
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from alembic import command
from werkzeug.exceptions import MethodNotAllowed, NotFound

from flowtrack.core import permissions
from flowtrack.core.permissions import Role
from flowtrack.ops.migrate import alembic_config
from tests.customers.factories import Records
from tests.field_tests.factories import recorded_test
from tests.invoices.factories import sent_invoice
from tests.operations.test_backup_drill import _new_database
from tests.scheduling.factories import Planner


def _cells(page: str) -> dict[str, list[str]]:
    """The roles page's matrix: a permission's meaning -> yes/no for each role, in the columns' order."""
    rows = re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', page, re.S)
    return {unescape(meaning): re.findall(r'visually-hidden">(yes|no)<', cells) for meaning, cells in rows}


def test_the_admin_reads_what_each_role_may_do_from_the_matrix_itself(login, acme):
    page = login(acme, "company_admin").get("/team/roles")
    assert page.status_code == 200
    for role in Role:
        assert f"<dt>{role.label}</dt><dd>{escape(role.summary, quote=True)}</dd>".replace("&#x27;", "&#39;") \
            in page.text
    cells = _cells(page.text)
    assert len(cells) == len(permissions.MEANINGS)
    for permission, (_, meaning) in permissions.MEANINGS.items():
        assert cells[meaning] == ["yes" if permission in permissions.MATRIX[role] else "no" for role in Role]
    assert cells["Make, send, void and credit invoices; record payments; keep the price list"][:5] == \
        ["yes", "yes", "no", "no", "no"]  # admin, manager; not the scheduler, coordinator or inventory manager
    assert login(acme, "manager").get("/team/roles").status_code == 403


def test_the_admin_gives_someone_a_new_role_and_it_shapes_what_they_see(login, acme, factory):
    admin = login(acme, "company_admin")
    member = factory.member(acme.id, "manager")
    answer = admin.submit(f"/team/{member.profile_id}/role", {"role": "coordinator"}, follow_redirects=True)
    assert "is now Coordinator" in answer.text
    coordinator = admin.application.test_client()
    coordinator.sign_in_as(member)
    assert coordinator.get("/customers/").status_code == 200
    assert coordinator.get("/invoices/").status_code == 403  # no money
    assert "Money owed" not in coordinator.get("/dashboard/").text


def test_the_office_of_before_becomes_the_manager(app):
    with _new_database(app) as url:
        config = alembic_config(url)
        command.upgrade(config, "0032")
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1), poolclass=sa.pool.NullPool)
        with engine.begin() as connection:
            company = connection.execute(sa.text(
                "INSERT INTO companies (id, name, timezone, plan, subscription_status, cancel_at_period_end, "
                "require_mfa, created_at) VALUES (gen_random_uuid(), 'Old Office', 'America/Los_Angeles', "
                "'professional', 'active', false, false, now()) RETURNING id")).scalar()
            user = connection.execute(sa.text(
                "INSERT INTO users (id, company_id, email, password_hash, is_active, created_at) VALUES "
                "(gen_random_uuid(), :c, 'olivia@old.example', 'x', true, now()) RETURNING id"),
                {"c": company}).scalar()
            connection.execute(sa.text(
                "INSERT INTO profiles (id, company_id, user_id, full_name, role, created_at) VALUES "
                "(gen_random_uuid(), :c, :u, 'Olivia', 'office', now())"), {"c": company, "u": user})
        command.upgrade(config, "head")
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT role FROM profiles")).scalars().all() == ["manager"]
        command.downgrade(config, "0032")
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT role FROM profiles")).scalars().all() == ["office"]
        engine.dispose()


@pytest.fixture
def a_week_of_work(app, acme):
    """A customer with a device on a work order booked today, a recorded test, a sent invoice and a test kit."""
    records = Records(app)
    customer = records.customer(acme, name="Harbor Dairy", email="ap@harbordairy.example")
    device = records.device(acme, records.location(acme, customer), device_type="DC")
    Planner(app).assign(acme, device)
    recorded_test(app, None, acme, device)
    sent_invoice(app, acme, customer=customer)
    records.gauge(acme)


LINK = re.compile(r'<a [^>]*href="(/[^"#]*)')
ACTION = re.compile(r'<form [^>]*method="post"[^>]*action="(/[^"]*)"|<form [^>]*action="(/[^"]*)"[^>]*method="post"')
HX = re.compile(r'hx-(post|put|delete)="(/[^"]*)"')
NOT_FOLLOWED = ("/logout", "/static/", "/sw.js")


@pytest.mark.parametrize("role", [role.value for role in Role])
def test_every_link_and_button_a_role_is_shown_leads_where_it_may_go(app, login, acme, a_week_of_work, role):
    browser = login(acme, role)
    routes = app.url_map.bind("localhost")
    seen, waiting, refused = set(), deque(["/dashboard/"]), []
    while waiting and len(seen) < 80:
        url = waiting.popleft()
        if url in seen:
            continue
        seen.add(url)
        page = browser.get(url)
        if page.status_code in (403, 404) or page.status_code >= 500:
            refused.append(f"GET {url}: {page.status_code}")
            continue
        if not page.content_type.startswith("text/html"):
            continue
        html = page.get_data(as_text=True)
        waiting.extend(link.replace("&amp;", "&") for link in LINK.findall(html) if not link.startswith(NOT_FOLLOWED))
        posts = [("POST", a or b) for a, b in ACTION.findall(html)] + \
                [(method.upper(), target) for method, target in HX.findall(html)]
        for method, target in posts:
            try:
                endpoint, _ = routes.match(urlsplit(target.replace("&amp;", "&")).path, method=method)
            except (NotFound, MethodNotAllowed):
                refused.append(f"{method} {target} on {url}: no such route")
                continue
            needed = permissions.declared_permission(app.view_functions[endpoint])
            if needed != permissions.PUBLIC and not permissions.allowed(role, needed):
                refused.append(f"{method} {target} on {url}: needs {needed}")
    assert refused == [], "\n".join(refused)
    assert len(seen) > 3
