"""The privacy page and the subprocessors list: public, dated, linked from the trust page and every page's footer; the
list names every outside service the code talks to, and the privacy page's promises are backed by tests."""
import ast
import hashlib
import html
import re
from pathlib import Path

import pytest

from flowtrack.trust import subprocessors
from flowtrack.trust.claims import POLICIES, PRIVACY_CLAIMS, PRIVACY_LAST_UPDATED
from tests.trust.test_security_page import _test_functions

ROOT = Path(__file__).parents[2]

# The network libraries a module may talk to another service with, and which listed service each module's use of
# them reaches. A module not named here that imports one of them is a new subprocessor until this says otherwise.
NETWORK_LIBRARIES = {"stripe", "requests", "smtplib", "boto3", "botocore", "httpx", "urllib3", "aiohttp",
                     "urllib.request", "http.client", "ftplib", "socket"}
REACHES = {
    "flowtrack/billing/routes.py": "stripe",
    "flowtrack/billing/stripe_api.py": "stripe",
    "flowtrack/invoices/payments.py": "stripe",
    "flowtrack/invoices/autopay.py": "stripe",
    "flowtrack/notifications/mail.py": "email",
    "flowtrack/notifications/sms.py": "sms",
    "flowtrack/core/storage.py": "files",
}
# The list as it stood on each date it was published: changing it means publishing a new date.
PUBLISHED = {"2026-12-07": "4fe943b23977"}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if any(name == lib or name.startswith(lib + ".") for lib in NETWORK_LIBRARIES)}


def _text(page) -> str:
    """What a reader sees: the page without its tags."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.text))


def _digest() -> str:
    return hashlib.sha256(repr(subprocessors.SUBPROCESSORS).encode()).hexdigest()[:12]


def test_anyone_can_read_the_subprocessors_and_each_is_named_with_its_data_and_place(client):
    page = client.get("/security/subprocessors")
    assert page.status_code == 200
    text = _text(page)
    assert "Last updated: December 7, 2026" in text
    for name in ("Stripe, Inc.", "Twilio Inc.", "Amazon Web Services (S3)", "S3-compatible", "SMTP mail service",
                 "Hosting", "Hosting regions"):
        assert name in text, name
    for entry in subprocessors.SUBPROCESSORS:
        assert all(part in text for part in (entry.service, entry.provider, entry.purpose, entry.data, entry.location))


def test_every_outside_service_the_code_talks_to_is_on_the_list():
    listed = subprocessors.by_key()
    talking = {str(path.relative_to(ROOT)): _imports(path) for path in (ROOT / "flowtrack").rglob("*.py")}
    talking = {path: libraries for path, libraries in talking.items() if libraries}
    unlisted = sorted(set(talking) - set(REACHES))
    assert unlisted == [], "a module talks to a service the subprocessors list does not name: add it to " \
                           "flowtrack/trust/subprocessors.py and to REACHES here"
    assert set(REACHES.values()) <= set(listed)
    assert "hosting" in listed  # the database, Redis and the servers themselves


def test_the_list_does_not_change_without_a_new_date():
    published = PUBLISHED.get(subprocessors.LAST_UPDATED.isoformat())
    assert published == _digest(), (
        f"the subprocessors list changed: set LAST_UPDATED to the day it is published and record "
        f"{{'{subprocessors.LAST_UPDATED.isoformat()}': '{_digest()}'}} in PUBLISHED")


def test_anyone_can_read_the_privacy_page_with_its_date_and_promises(client):
    page = client.get("/security/privacy")
    assert page.status_code == 200
    text = _text(page)
    assert f"Last updated: {PRIVACY_LAST_UPDATED:%B} {PRIVACY_LAST_UPDATED.day}, {PRIVACY_LAST_UPDATED.year}" in text
    for claim in PRIVACY_CLAIMS:
        assert claim.text in text
    assert "/security/policies/privacy.md" in page.text and "/security/subprocessors" in page.text
    policy = client.get("/security/policies/privacy.md")
    assert policy.status_code == 200 and "Who else sees it" in policy.text


def test_the_privacy_policy_and_its_page_carry_the_same_date():
    first_lines = (ROOT / "docs" / "privacy.md").read_text().splitlines()[:4]
    when = PRIVACY_LAST_UPDATED
    assert f"Last updated: {when:%B} {when.day}, {when.year}" in first_lines


@pytest.mark.parametrize("claim", PRIVACY_CLAIMS, ids=lambda c: c.text[:40])
def test_every_privacy_promise_names_tests_that_exist(claim):
    assert claim.tests
    for reference in claim.tests:
        file, _, name = reference.partition("::")
        assert (ROOT / file).exists(), reference
        assert name in _test_functions(ROOT / file), reference
    assert claim.policy in POLICIES and (ROOT / "docs" / claim.policy).exists()


def test_the_trust_page_and_every_pages_footer_lead_to_both(client, admin):
    security = client.get("/security/")
    assert "/security/privacy" in security.text and "/security/subprocessors" in security.text
    for browser, path in ((client, "/login"), (client, "/security/"), (admin, "/dashboard/")):
        footer = re.search(r"<footer.*?</footer>", browser.get(path).text, re.S).group(0)
        assert 'href="/security/privacy"' in footer and 'href="/security/subprocessors"' in footer, path


def test_the_only_cookie_is_the_sign_in_session(app, client, acme, login):
    """Anonymous pages set none; signing in and working set the session cookie and nothing else."""
    names = set()

    def cookies(response):
        names.update(header.split("=", 1)[0] for header in response.headers.getlist("Set-Cookie"))
        return response

    for path in ("/", "/login", "/security/", "/security/privacy", "/security/subprocessors"):
        cookies(app.test_client().get(path))
    anonymous = set(names)
    member = acme.members["manager"]
    cookies(client.submit("/login", {"email": member.email, "password": member.password}))
    for path in ("/dashboard/", "/customers/", "/reminders/", "/account/sessions"):
        cookies(client.get(path))
    portal = login(acme, "customer")
    cookies(portal.get("/portal/"))
    assert anonymous <= {"flowtrack_session"}
    assert names == {"flowtrack_session"}


def test_no_page_loads_a_script_from_elsewhere_but_the_card_pages():
    """Every template loads scripts from FlowTrack's own static files, except the two that load Stripe.js."""
    elsewhere = {}
    for template in (ROOT / "flowtrack" / "templates").rglob("*.html"):
        for tag in re.findall(r"<script\b[^>]*\bsrc=[^>]*>|<link\b[^>]*\bhref=[^>]*>", template.read_text()):
            if "url_for('static'" in tag or 'rel="icon" href="data:' in tag:
                continue
            elsewhere.setdefault(str(template.relative_to(ROOT / "flowtrack" / "templates")), []).append(tag)
    assert elsewhere == {"portal/pay.html": ['<script src="{{ js_url }}" defer>'],
                         "portal/new_card.html": ['<script src="{{ js_url }}" defer>']}
