"""Every route declares what it needs; the matrix decides; undeclared routes are refused."""
import re
from pathlib import Path

import pytest
from flask import Blueprint, url_for

from flowtrack.core import menu, permissions
from flowtrack.core.permissions import Role
from flowtrack.core.templating import permission_check

# Routes whose URL carries an id: each must be in the cross-tenant sweep (tests/foundation/test_cross_tenant.py).
ROLES = [role.value for role in Role]


def test_every_endpoint_declares_a_permission(app):
    undeclared = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in permissions.PUBLIC_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        if permissions.declared_permission(view) is None:
            undeclared.append(rule.endpoint)
    assert undeclared == []


def test_a_route_that_declares_nothing_is_refused(app_factory, acme):
    fresh = app_factory()
    forgotten = Blueprint("forgotten", __name__)

    @forgotten.get("/forgotten")
    def forgotten_view():
        return "should never be served"

    fresh.register_blueprint(forgotten)
    browser = fresh.test_client()
    browser.sign_in_as(acme.members["company_admin"])
    response = browser.get("/forgotten")
    assert response.status_code == 403
    assert "should never be served" not in response.text


def test_unknown_permissions_cannot_be_declared():
    with pytest.raises(ValueError):
        permissions.requires("customers.destroy_everything")


def _simple_get_routes(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint not in permissions.PUBLIC_ENDPOINTS:
            needed = permissions.declared_permission(app.view_functions[rule.endpoint])
            if needed != permissions.PUBLIC:
                yield rule.rule, needed


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_pages_the_matrix_allows(app, login, acme, role):
    browser = login(acme, role)
    checked = 0
    for path, needed in _simple_get_routes(app):
        status = browser.get(path).status_code
        if permissions.allowed(role, needed):
            assert status == 200, f"{role} should reach {path}"
        else:
            assert status == 403, f"{role} must not reach {path} ({needed})"
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_post_exactly_what_the_matrix_allows(app, login, acme, role):
    """State-changing routes without ids: a wrong role gets 403 and nothing happens."""
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.arguments:
            continue
        needed = permissions.declared_permission(app.view_functions[rule.endpoint])
        if needed in (permissions.PUBLIC, None) or permissions.allowed(role, needed):
            continue
        browser = login(acme, role)
        response = browser.submit(rule.rule)
        assert response.status_code == 403, f"{role} POST {rule.rule}"


def test_the_matrix_names_only_known_roles_and_permissions():
    assert set(permissions.MATRIX) == set(Role)
    for granted in permissions.MATRIX.values():
        assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", p) for p in granted)


def test_the_district_view_is_the_district_admins_and_all_they_hold_beyond_everyones():
    holders = {role for role, granted in permissions.MATRIX.items() if permissions.DISTRICT_PORTAL_VIEW in granted}
    assert holders == {Role.district_admin}
    assert permissions.MATRIX[Role.district_admin] == {permissions.DASHBOARD_VIEW, permissions.ACCOUNT_SELF,
                                                       permissions.DISTRICT_PORTAL_VIEW,
                                                       permissions.DISTRICT_PORTAL_DECIDE}


def _menu_of(page: str) -> list[tuple[str, bool]]:
    """The main menu's links on a page: (URL, whether marked as the current page)."""
    menu = re.search(r'<nav class="nav" aria-label="Main">(.*?)</nav>', page, re.S).group(1)
    return [(url, bool(current)) for url, current in re.findall(r'<a href="([^"]+)" (aria-current="page")?', menu)]


@pytest.mark.parametrize("role", ROLES)
def test_the_menu_offers_each_role_exactly_the_sections_it_may_open_and_marks_where_they_are(app, login, acme, role):
    browser = login(acme, role)
    shown = [url for url, _ in _menu_of(browser.get("/dashboard/").text)]
    with app.test_request_context():
        expected = [url_for(endpoint) for endpoint, _, needed in menu.SECTIONS if permissions.allowed(role, needed)]
    assert shown == expected
    for url in shown:
        page = browser.get(url)
        assert page.status_code == 200, f"{role} is offered {url} but cannot open it"
        assert [link for link, current in _menu_of(page.text) if current] == [url]


def test_a_template_asking_for_a_permission_that_does_not_exist_fails_loudly(app):
    """`can('cutsomers.edit')` would otherwise hide a button from everyone, silently."""
    can = permission_check(Role.company_admin.value)
    assert can(permissions.CUSTOMERS_EDIT)
    with pytest.raises(KeyError, match="cutsomers.edit"):
        can("cutsomers.edit")
    asked = set()
    for template in Path(app.root_path, "templates").rglob("*.html"):
        asked |= set(re.findall(r"""can\(['"]([^'"]+)['"]\)""", template.read_text()))
    assert asked and asked <= permissions.ALL_PERMISSIONS, asked - permissions.ALL_PERMISSIONS
