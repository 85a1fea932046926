"""The hosts of tests/multihost/harness.py, up for the module, and the tests' own app on the same database and
Redis (for the factories and for looking at what the hosts did)."""
from __future__ import annotations

import re

import pytest
import requests

from tests.conftest import SECRET_KEY
from tests.factories import PASSWORD, Browser, Member
from tests.multihost.harness import QUEUE, Hosts


@pytest.fixture(scope="module")
def hosts(services):
    """`services` first: it picks the run's instance folder (the file store), which the hosts then share."""
    hosts = Hosts(SECRET_KEY, log_statements=True)
    try:
        hosts.start()
        yield hosts
    finally:
        hosts.stop()


@pytest.fixture(scope="module")
def app(hosts):
    from flowtrack import create_app

    app = create_app({"ENV": "testing", **hosts.settings(), "QUEUE_NAME": QUEUE})
    app.config["TESTING"] = True
    app.test_client_class = Browser
    yield app
    app.extensions["flowtrack.db"].dispose()


class Visitor(requests.Session):
    """A browser speaking HTTP to the hosts: it keeps one session cookie for all of them (as a browser keeps one for
    a site, whichever host behind the proxy answers), signs in with the form, and sends the page's CSRF token. It
    follows no redirect (the tests look at them)."""

    session_cookie: str | None = None

    def request(self, method, url, *args, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        if self.session_cookie:
            headers["Cookie"] = f"flowtrack_session={self.session_cookie}"
        kwargs["allow_redirects"] = False
        response = super().request(method, url, *args, headers=headers, **kwargs)
        self.session_cookie = response.cookies.get("flowtrack_session") or self.session_cookie
        self.cookies.clear()
        return response

    def sign_in(self, base: str, member: Member) -> None:
        form = self.get(base + "/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text).group(1)
        answer = self.post(base + "/login", data={"email": member.email, "password": PASSWORD, "csrf_token": token})
        assert answer.status_code == 303, answer.text

    def htmx_post(self, url: str, data: dict | None = None) -> requests.Response:
        page = self.get(url)
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)
        return self.post(url, data=data or {}, headers={"HX-Request": "true", "X-CSRFToken": token})


@pytest.fixture
def visitor():
    with Visitor() as session:
        yield session
