"""Hostile input everywhere, as every role: each role's pages are walked (every GET route of the URL map, with real
ids of the role's own company), their forms read as a browser reads them, and Hypothesis sends generated values
for every field each form declares (and generated query strings to every page), to the form's own target and to
the same route with another company's ids. No answer is a server error, and a refused request writes nothing.

The run is bounded for CI (FLOWTRACK_FUZZ_EXAMPLES requests a role, 60 unless set); `scripts/fuzz` runs it longer.
The seed and the number of requests are printed; a failure prints the request that caused it.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote_plus, urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException

from flowtrack.core.permissions import Role
from flowtrack.models.audit import AuditEntry
from tests.security.test_headers_on_every_route import get_urls

EXAMPLES = int(os.environ.get("FLOWTRACK_FUZZ_EXAMPLES", "60"))
SEED = int(os.environ.get("FLOWTRACK_FUZZ_SEED", random.randrange(2**32)))
# What no field should accept, or what a field should refuse with a message: NUL, a lone surrogate, numbers no
# column holds, markup, SQL, far too much text.
HOSTILE = ["\x00", "a\x00b", "\ud800", "1e309", "-1e309", "NaN", "inf", "9" * 40, "-" + "9" * 40, "0", "-1", "1.005",
           "<script>alert(1)</script>", "' OR 1=1 --", "%00", "../../etc/passwd", " ", "", "x" * 10_000,
           "2026-13-45", "0000-00-00", "00000000-0000-0000-0000-000000000000", "true", "[]", "{}", "😀" * 50]
# Query parameters the app's pages read, besides those their GET forms name.
COMMON_QUERY = ["q", "after", "before", "page", "date", "day", "week", "status", "window", "district", "customer",
                "sort", "next", "kind", "action", "actor", "tested", "job", "outbox", "result"]


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> the values the page offers (options)
    files: list[str] = field(default_factory=list)


class _Forms(HTMLParser):
    """The forms of a page, as a browser would submit them."""

    def __init__(self, page_url: str):
        super().__init__()
        self.page_url, self.forms, self._form, self._select = page_url, [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = Form(method=(attrs.get("method") or "get").lower(),
                              action=attrs.get("action") or self.page_url)
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "select", "textarea", "button") and attrs.get("name"):
            name = attrs["name"]
            if attrs.get("type") == "file":
                self._form.files.append(name)
                return
            values = self._form.fields.setdefault(name, [])
            if attrs.get("value") is not None:
                values.append(attrs["value"])
            self._select = values if tag == "select" else None
        elif tag == "option" and self._select is not None and attrs.get("value") is not None:
            self._select.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def _value(offered: list[str]) -> st.SearchStrategy[str]:
    plausible = st.one_of(st.text(max_size=40), st.integers(-10**6, 10**12).map(str),
                          st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
                          st.dates().map(lambda d: d.isoformat()), st.uuids().map(str))
    choices = [st.sampled_from(HOSTILE), plausible]
    if offered:
        choices.append(st.sampled_from(offered))
    return st.one_of(*choices)


def _crawl(app, factory, acme, bravo, browser):
    """The role's forms, each with the route's twin in the other company where its URL carries ids, and the
    role's pages (for query strings)."""
    ours = dict(get_urls(app, factory, acme))
    theirs = dict(get_urls(app, factory, bravo))
    adapter = app.url_map.bind("localhost")
    forms, pages = [], []
    for endpoint, url in ours.items():
        response = browser.get(url)
        if response.status_code != 200 or "html" not in response.mimetype:
            continue
        pages.append(url)
        if theirs.get(endpoint) and theirs[endpoint] != url:
            pages.append(theirs[endpoint])
        parser = _Forms(url)
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            action = urlsplit(form.action).path
            forms.append(form)
            try:
                target, arguments = adapter.match(action, method=form.method.upper())
            except HTTPException:
                continue
            twin = theirs.get(target) if arguments else None
            if twin and twin != action and form.method == "post":
                forms.append(Form(form.method, twin, form.fields, form.files))
    return forms, pages


def urlencode(values: dict[str, str]) -> str:
    """As a raw client sends it: a lone surrogate as the bytes UTF-8 would give it (browsers send U+FFFD)."""
    return "&".join(f"{quote_plus(name)}={quote_plus(value.encode('utf-8', 'surrogatepass'))}"
                    for name, value in values.items())


def _writes(app, company_id) -> int:
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                              .where(AuditEntry.company_id == company_id))


@pytest.mark.parametrize("role", [role.value for role in Role])
def test_no_form_or_query_string_makes_a_server_error_and_a_refusal_writes_nothing(app, factory, acme, bravo, login,
                                                                                  role):
    browser = login(acme, role)
    forms, pages = _crawl(app, factory, acme, bravo, browser)
    assert pages, f"{role} opens no page"
    sent = []

    @seed(SEED)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def one_request(data):
        if forms and data.draw(st.booleans(), label="a form, else a page's query string"):
            form = data.draw(st.sampled_from(forms), label="form")
            values = {name: data.draw(_value(offered), label=name) for name, offered in form.fields.items()
                      if name != "csrf_token"}
            if form.method == "post":
                before = (_writes(app, acme.id), _writes(app, bravo.id))
                response = browser.post(form.action, data=urlencode({**values, "csrf_token": browser.csrf_token()}),
                                        content_type="application/x-www-form-urlencoded")
                request = f"POST {form.action} {values!r}"
            else:
                before = None
                response = browser.get(form.action + "?" + urlencode(values))
                request = f"GET {form.action}?{urlencode(values)}"
        else:
            page = data.draw(st.sampled_from(pages), label="page")
            names = data.draw(st.lists(st.sampled_from(COMMON_QUERY), max_size=4, unique=True), label="parameters")
            values = {name: data.draw(_value([]), label=name) for name in names}
            before, request = None, f"GET {page}?{urlencode(values)}"
            response = browser.get(page + "?" + urlencode(values))
        sent.append(request)
        assert response.status_code < 500, f"{role}: {request} answered {response.status_code}"
        if before is not None and 400 <= response.status_code < 500 and response.status_code != 429:
            assert (_writes(app, acme.id), _writes(app, bravo.id)) == before, f"{role}: {request} was refused " \
                f"({response.status_code}) but wrote to the audit log"

    one_request()
    print(f"\nfuzz as {role}: seed {SEED}, {len(sent)} requests over {len(forms)} forms and {len(pages)} pages")
