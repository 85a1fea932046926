"""Data regions in the browser, on an installation with two (tests/regions/harness.py: two PostgreSQL servers, two
Redis): an office manager whose company must keep its data in Canada signs up there at a desk, is told Canada
needs the Enterprise plan without losing what was typed, and finds the region on the company's settings and the
trust page; a United States company's admin, mid-move to Canada, is told at sign-in that the company is moving,
and once it has moved finds it in Canada."""
from __future__ import annotations

import re
import secrets
import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from flowtrack.models.companies import Company
from tests.e2e.conftest import DESKTOP, PHONE, Visit
from tests.regions.harness import two_regions
from tests.valid_html import nu_validator_errors

PASSWORD = "maple leaves on wet granite"


@pytest.fixture(scope="module")
def two_region_site(tmp_path_factory):
    """The two-region app on a real HTTP server."""
    with two_regions(tmp_path_factory.mktemp("regions-e2e")) as made:
        server = make_server("127.0.0.1", 0, made["app"], threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield made["app"], f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()


@pytest.fixture
def open_tab(chromium, two_region_site, request):
    contexts = []

    def open_visit(viewport=DESKTOP) -> Visit:
        context = chromium.new_context(viewport=viewport)
        contexts.append(context)
        return Visit(context.new_page(), two_region_site[1], request.node.name)

    yield open_visit
    for context in contexts:
        context.close()


def _page_file(tab: Visit, tmp_path, name: str):
    path = tmp_path / f"{name}.html"
    path.write_text(tab.page.content())
    return path


def test_a_company_that_must_keep_its_data_in_canada_signs_up_there(two_region_site, open_tab, tmp_path):
    app, _ = two_region_site
    tag = secrets.token_hex(3)
    tab = open_tab(DESKTOP)
    page = tab.go("/signup")
    assert page.locator("#region option").all_inner_texts() == ["United States", "Canada"]
    assert "Canada is offered on the Enterprise plan." in page.inner_text("form")
    page.fill("#company_name", f"Érable Backflow {tag}")
    page.select_option("#timezone", "America/Toronto")
    page.select_option("#plan", "professional")
    page.select_option("#region", "ca")
    page.fill("#full_name", "Mireille Gagnon")
    page.fill("#email", f"mireille.{tag}@erable.example")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#region-errors")
    assert page.inner_text("#region-errors") == ("Canada needs the Enterprise plan: choose Enterprise above, or "
                                                 "United States here.")
    # What was typed is still there; only the password is asked again.
    assert page.input_value("#company_name") == f"Érable Backflow {tag}"
    assert page.input_value("#region") == "ca" and page.input_value("#timezone") == "America/Toronto"
    assert page.input_value("#email") == f"mireille.{tag}@erable.example"
    assert tab.axe_violations() == []
    pages = [_page_file(tab, tmp_path, "signup-refused")]
    tab.screenshot("canada-needs-enterprise")

    page.select_option("#plan", "enterprise")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard/$"))
    assert page.locator("h1").inner_text() == f"Érable Backflow {tag}"
    tab.screenshot("dashboard")
    with app.extensions["flowtrack.regions"]["ca"].db.service() as session:
        company = session.scalar(sa.select(Company).where(Company.name == f"Érable Backflow {tag}"))
        assert company.plan == "enterprise" and company.timezone == "America/Toronto"
    with app.extensions["flowtrack.regions"]["us"].db.service() as session:
        assert session.scalar(sa.select(Company.id).where(Company.name == f"Érable Backflow {tag}")) is None

    tab.go("/settings/")
    assert "Data region: Canada. Every record and file of the company is kept there." in page.inner_text("#company")
    pages.append(_page_file(tab, tmp_path, "settings"))
    tab.screenshot("settings")
    tab.go("/security/")
    hosting = page.locator("section", has=page.locator("h2", has_text="Hosting")).inner_text()
    assert "Regions on this installation: United States, Canada (Canada on the Enterprise plan)." in hosting
    pages.append(_page_file(tab, tmp_path, "security"))
    tab.screenshot("trust-page")
    page.click("text=Hosting regions")
    assert "Canada" in page.inner_text("main") and "CA_DATABASE_URL" in page.inner_text("main")
    assert nu_validator_errors(pages) == []
    assert [p for p in tab.problems if "status of 422" not in p] == []


def test_an_admin_signing_in_while_the_company_moves_to_canada_is_told_and_finds_it_there_after(
        two_region_site, open_tab, tmp_path):
    from flowtrack.ops import move
    from tests.factories import Factory

    app, _ = two_region_site
    tenant = Factory(app).tenant(f"Upgrading Backflow {secrets.token_hex(3)}")
    admin = tenant.members["company_admin"]
    tab = open_tab(DESKTOP)
    tab.sign_in(admin.email, admin.password)
    tab.go("/settings/")
    assert "Data region: United States." in tab.page.inner_text("#company")

    class Stop(Exception):
        pass

    def stop_after_freeze(step: str) -> None:
        if step == "freeze":
            raise Stop

    with app.app_context(), pytest.raises(Stop):
        move.move_company(tenant.id, "ca", after_step=stop_after_freeze)
    page = tab.go("/customers/")  # signed out by the move
    assert "/login" in page.url
    page.fill("#email", admin.email)
    page.fill("#password", admin.password)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Your company is moving to Canada')")
    assert "Nothing saved before the move is lost." in page.inner_text("main")
    assert tab.axe_violations() == []
    moving_page = _page_file(tab, tmp_path, "moving")
    tab.screenshot("moving")
    # A technician tries on a phone, in a basement: the same words, on a page that fits the screen.
    phone = open_tab(PHONE)
    technician = tenant.members["technician"]
    page_on_phone = phone.go("/login")
    page_on_phone.fill("#email", technician.email)
    page_on_phone.fill("#password", technician.password)
    page_on_phone.click("button[type=submit]")
    page_on_phone.wait_for_selector("h1:has-text('Your company is moving to Canada')")
    assert page_on_phone.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1).length""") == 0
    phone.screenshot("moving-phone")

    with app.app_context():
        move.move_company(tenant.id, "ca")
    page.click("text=Sign in again in a few minutes")
    page.fill("#email", admin.email)
    page.fill("#password", admin.password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard/$"))
    tab.go("/settings/")
    assert "Data region: Canada." in page.inner_text("#company")
    tab.screenshot("moved")
    assert nu_validator_errors([moving_page]) == []
    # The refused sign-in (503) is the only failed load.
    assert [p for p in tab.problems if "status of 503" not in p] == []
