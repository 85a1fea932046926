"""Browser tests: Debian's Chromium driven by Playwright against a real HTTP server.

They need /usr/bin/chromium (or CHROMIUM) and Playwright; `.ci/run` installs
both, plus axe-core for the accessibility check. Where they are missing the
browser tests are skipped with the reason, and the rest of the suite runs.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "e2e"
AXE = Path(__file__).parents[2] / ".e2e" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# CI sets FLOWTRACK_REQUIRE_BROWSER so that a missing browser fails the run instead of skipping it.
_REQUIRED = bool(os.environ.get("FLOWTRACK_REQUIRE_BROWSER"))
try:
    from playwright import sync_api
except ImportError:
    if _REQUIRED:
        raise
    pytest.skip("Playwright is not installed", allow_module_level=True)
if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
    if _REQUIRED:
        raise RuntimeError(f"no Chromium at {CHROMIUM}")
    pytest.skip(f"no Chromium at {CHROMIUM}", allow_module_level=True)


class Network:
    """The phone's signal, between the browsers and the server. Up, it passes everything; down, it cuts every
    connection (Playwright's offline switch does not reach a service worker's requests, so the cut is made here);
    `drop_answer_to(prefix)` lets the next such request do its work on the server and cuts the connection before
    the answer leaves, as a signal lost in the middle of a sync does."""

    def __init__(self, app):
        self.app, self.up, self._drop = app, True, None

    def drop_answer_to(self, prefix: str) -> None:
        self._drop = prefix

    def __call__(self, environ, start_response):
        if not self.up:
            return self._cut(environ, start_response)
        if self._drop and environ.get("PATH_INFO", "").startswith(self._drop):
            self._drop = None
            for _ in self.app(environ, lambda *args: None):  # the server does all of its work
                pass
            return self._cut(environ, start_response)
        return self.app(environ, start_response)

    @staticmethod
    def _cut(environ, start_response):
        start_response("200 OK", [])
        environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        return [b""]


@pytest.fixture(scope="session")
def network(app):
    return Network(app)


@pytest.fixture(autouse=True)
def signal_restored(network):
    yield
    network.up, network._drop = True, None


@pytest.fixture(scope="session")
def live_server(network):
    server = make_server("127.0.0.1", 0, network, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def chromium():
    # Playwright gives every launch a fresh, empty profile of its own.
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """One person's browser tab, collecting console errors and CSP violations as they happen."""

    def __init__(self, page, base_url: str, test_name: str):
        self.page, self.base_url, self.test_name = page, base_url, test_name
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(str(e)))

    def go(self, path: str):
        self.page.goto(self.base_url + path)
        return self.page

    def sign_in(self, email: str, password: str) -> None:
        self.go("/login")
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.click("button[type=submit]")
        # Each role starts where its work is: the office on the dashboard, a technician on their day, a customer
        # in the portal, an auditor on the log, a district admin on the district's tests, a vendor on their work.
        self.page.wait_for_url(re.compile(r".*/(dashboard|my-day|portal|audit|district|vendor/work)/$"))

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{self.test_name}-{name}.png"), full_page=True)

    def axe_violations(self, impact=("serious", "critical")) -> list[str]:
        """Run axe-core in the page and return serious or critical violations."""
        if not AXE.exists():
            if _REQUIRED:
                raise RuntimeError(f"axe-core missing at {AXE}")
            pytest.skip("axe-core is not installed (npm install --prefix .e2e axe-core)")
        self.page.evaluate(AXE.read_text())
        result = self.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        return [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)" for v in result["violations"]
                if v["impact"] in impact]

    def assert_clean(self) -> None:
        assert self.problems == [], self.problems


@pytest.fixture(autouse=True)
def fresh_rate_limits(app):
    """Every browser signs in from 127.0.0.1, so the per-address login limit would count the whole suite's
    sign-ins as one person's; each story starts with the limits clear, as a different visitor would."""
    from flowtrack.core.extensions import limiter

    with app.app_context():
        limiter.reset()


@pytest.fixture
def visit(chromium, live_server, request):
    """visit(viewport) -> a fresh browser context of that size (`touch=True`: a touch screen, as a phone has)."""
    contexts = []

    def open_visit(viewport=DESKTOP, touch: bool = False) -> Visit:
        context = chromium.new_context(viewport=viewport, accept_downloads=True, has_touch=touch)
        contexts.append(context)
        return Visit(context.new_page(), live_server, request.node.name.replace("[", "-").rstrip("]"))

    yield open_visit
    for context in contexts:
        context.close()
