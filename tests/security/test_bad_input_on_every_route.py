"""Whatever is typed, no route answers a server error. Every route of the URL map is walked as each role, with
real ids (the cross-tenant sweep's OBJECT_URLS), and sent what a careless or hostile browser sends:

- a NUL byte in every field, in a field's name, in a multipart form, half of an emoji (a lone surrogate) in a JSON
  body, and bytes that are no UTF-8 in the address: each refused as one 400 before any page reads it
  (flowtrack/core/web.py);
- "1e309", "NaN", "sNaN", 10**30, forty nines, 10,000 characters and days no one means (9999-12-31, 0001-01-01),
  one field at a time, the other fields as the route's page fills them in, so that the value gets as far as a
  real submission would: anything but a 5xx.

The fields a route reads are found by watching it read them (a first request, with nothing filled in) and by the
form on its page that posts to it. This sweep is deterministic; a generated fuzz can add to it."""
from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
from flask import url_for
from werkzeug.datastructures import ImmutableMultiDict

from flowtrack.core import permissions
from flowtrack.core.queue import get_queue
from tests.foundation.test_cross_tenant import OBJECT_URLS
from tests.security.test_headers_on_every_route import PUBLIC_ARGUMENTS

BAD_VALUES = ("1e309", "NaN", "sNaN", str(10**30), "9" * 40, "x" * 10_000, "9999-12-31", "0001-01-01")
NUL, LONE_SURROGATE = "a\x00b", "a\ud83db"
# The office and a technician walk every route they may use; the other roles, the routes those two may not (the
# admin's settings and team, the district's and the customer's portals, the pages before signing in).
ROLES = ("manager", "technician", "company_admin", "district_admin", "customer", "anonymous")
WALK_ALL = ("manager", "technician")
# Without their settings the webhooks answer 503 ("not configured") to anything; with them, they judge the input.
# (Only while they are walked: with texting configured, other routes would text customers.)
WEBHOOK_SETTINGS = {"billing.stripe_webhook": {"STRIPE_WEBHOOK_SECRET": "whsec_sweep"},
                    "notifications.email_reports": {"MAIL_WEBHOOK_SECRET": "sweep-mail-secret"},
                    "reminders.sms_reply": {"SMS_ACCOUNT_SID": "AC-sweep", "SMS_AUTH_TOKEN": "sweep",
                                            "SMS_FROM": "+15415550100"}}


class _Watched(ImmutableMultiDict):
    """The query and form of a request, noting every name a view asks for (WTForms asks with `in` and getlist)."""

    asked: set[str] = set()

    def __contains__(self, key):
        _Watched.asked.add(key)
        return super().__contains__(key)

    def get(self, key, *args, **kwargs):
        _Watched.asked.add(key)
        return super().get(key, *args, **kwargs)

    def getlist(self, key, *args, **kwargs):
        _Watched.asked.add(key)
        return super().getlist(key, *args, **kwargs)

    def __getitem__(self, key):
        _Watched.asked.add(key)
        return super().__getitem__(key)


class _PageForms(HTMLParser):
    """The forms of a page: where each posts and what a person who fills in every field sends."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "form":
            self._form = {"action": attributes.get("action") or "", "method": (attributes.get("method") or "get")
                          .lower(), "fields": {}}
            self.forms.append(self._form)
        elif self._form is None or not name:
            return
        elif tag == "input":
            kind = (attributes.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in attributes or name not in self._form["fields"]:
                    self._form["fields"][name] = attributes.get("value") or "on"
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self._form["fields"][name] = attributes.get("value") or _typical(kind, attributes)
        elif tag == "select":
            self._select = name
            self._form["fields"].setdefault(name, "")
        elif tag == "option" and self._select and ("selected" in attributes or
                                                   not self._form["fields"][self._select]):
            self._form["fields"][self._select] = attributes.get("value") or self._form["fields"][self._select]
        elif tag == "textarea":
            self._form["fields"][name] = "Sweep"

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def _typical(kind: str, attributes: dict) -> str:
    """What a person types into an empty field of that kind."""
    if kind == "date":
        return (dt.date.today() + dt.timedelta(days=2)).isoformat()
    return {"time": "09:00", "email": "sweep@example.com", "tel": "541-555-0100",
            "password": "a sweep passphrase 1234", "number": "1"}.get(
        kind, "1" if attributes.get("inputmode") in ("decimal", "numeric") else "Sweep")


def _filled_in(browser, url: str) -> dict[str, str]:
    """The form that posts to `url`, as its page fills it in: on the URL's own page or on a page above it."""
    page = url
    while page:
        response = browser.get(page)
        if response.status_code == 200 and response.mimetype == "text/html":
            forms = _PageForms()
            forms.feed(response.text)
            for form in forms.forms:
                if form["method"] == "post" and (urlsplit(form["action"]).path or page) == url:
                    return {name: value for name, value in form["fields"].items() if name != "csrf_token"}
        page = page.rsplit("/", 1)[0] if page.count("/") > 1 else ""
    return {}


def _encoded(fields: dict[str, str]) -> str:
    """A form or query string as a browser encodes it (a NUL is %00)."""
    return "&".join(f"{quote(name.encode('utf-8', 'surrogatepass'))}={quote(value.encode('utf-8', 'surrogatepass'))}"
                    for name, value in fields.items())


def _read(response):
    """The whole answer, and the request done with: a streamed one (a CSV) holds its database connection until then."""
    response.get_data()
    response.close()
    return response


def _routes(app) -> list[tuple[str, str]]:
    """(endpoint, method) of every route, HEAD and OPTIONS aside."""
    return sorted((rule.endpoint, method) for rule in app.url_map.iter_rules()
                  for method in rule.methods - {"HEAD", "OPTIONS"})


@pytest.fixture
def jobs_left_as_found(app):
    """The jobs the sweep's forms queue (exports, PDFs, mail) are dropped after it, not left for another test's
    worker to run."""
    with app.app_context():
        queue = get_queue()
        before = set(queue.get_job_ids())
    yield
    for job_id in set(queue.get_job_ids()) - before:
        job = queue.fetch_job(job_id)
        if job is not None:
            job.delete()


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.usefixtures("jobs_left_as_found")
def test_no_route_answers_a_server_error_whatever_is_typed(app, factory, acme, login, client, monkeypatch, who):
    monkeypatch.setattr(app.request_class, "parameter_storage_class", _Watched)
    failures: list[str] = []
    walked = 0
    for endpoint, method in _routes(app):
        with monkeypatch.context() as settings:
            for name, value in WEBHOOK_SETTINGS.get(endpoint, {}).items():
                settings.setitem(app.config, name, value)
            walked += _walk(app, factory, acme, login, client, who, endpoint, method, failures)
    assert walked >= (10 if who in WALK_ALL else 1), walked
    assert failures == []


def _walk(app, factory, acme, login, client, who: str, endpoint: str, method: str, failures: list[str]) -> int:
    """Send one route everything above; 1 when its fields were read, 0 when it stopped before (not allowed)."""
    needed = permissions.declared_permission(app.view_functions[endpoint])
    public = endpoint in permissions.PUBLIC_ENDPOINTS or needed == permissions.PUBLIC
    if who not in WALK_ALL and (public != (who == "anonymous") or
                                any(permissions.allowed(role, needed) for role in WALK_ALL if not public)):
        return 0  # walked as another role
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and method in r.methods)
    make = OBJECT_URLS.get(endpoint) or PUBLIC_ARGUMENTS.get(endpoint)
    assert make or not rule.arguments, f"{endpoint} needs an entry in OBJECT_URLS or PUBLIC_ARGUMENTS"
    arguments = make(app, factory, acme) if rule.arguments else {}  # outside a request: some run a job's code
    with app.test_request_context():
        url = url_for(endpoint, **arguments)
    # A new browser for each route: some end the session they are sent in (signing out, ending sessions).
    browser = client if who == "anonymous" else login(acme, who)
    token = browser.csrf_token()

    def send(fields: dict[str, str] | None = None, **kwargs):
        if method == "GET":
            response = browser.get(url, environ_overrides={"QUERY_STRING": _encoded(fields or {})}, **kwargs)
        elif "data" in kwargs:
            response = browser.open(url, method=method, headers={"X-CSRFToken": token}, **kwargs)
        else:
            response = browser.open(url, method=method, content_type="application/x-www-form-urlencoded",
                                    data=_encoded({**(fields or {}), "csrf_token": token}))
        return _read(response)

    _Watched.asked = set()
    first = send()
    if first.status_code >= 500:
        failures.append(f"{method} {url} with nothing filled in: {first.status_code}")
    if first.status_code in (403, 404, 405) or (first.status_code == 302 and "/login" in first.location):
        return 0  # the request stops before any field is read: nothing more to learn here
    filled = _filled_in(browser, url) if method != "GET" else {}
    names = sorted((_Watched.asked | set(filled)) - {"csrf_token"}) or ["q"]

    refused_whole = {
        "a NUL in every field": send({name: NUL for name in names}),
        "a NUL in a field's name": send({**filled, "no\x00te": "x"}),
        "bytes that are no UTF-8 in the address": _read(browser.open(
            url, method=method, environ_overrides={"QUERY_STRING": "q=caf\xe9"},
            headers={"X-CSRFToken": token})),
    }
    if method != "GET":
        refused_whole["a NUL in a multipart form"] = send(
            data={**filled, names[0]: NUL, "csrf_token": token}, content_type="multipart/form-data")
        refused_whole["half an emoji in a JSON body"] = send(
            data=json.dumps({name: LONE_SURROGATE for name in names}), content_type="application/json")
    for what, response in refused_whole.items():
        if response.status_code != 400:
            failures.append(f"{method} {url} with {what}: {response.status_code}, not 400")
    for name in names:
        for value in BAD_VALUES:
            response = send({**filled, name: value})
            if response.status_code >= 500:
                failures.append(f"{method} {url} with {name}={value[:20]!r}: {response.status_code}")
    return 1
