"""The public security page: every claim is backed by tests that exist, and links to its policy."""
import ast
import html
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from flowtrack.models.accounts import User
from flowtrack.trust.claims import CLAIMS, POLICIES

ROOT = Path(__file__).parents[2]
POLICY_FOLDER = ROOT / "flowtrack" / "trust" / "policies"


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.text[:40])
def test_every_claim_names_tests_that_exist(claim):
    assert claim.tests, f"no test backs: {claim.text}"
    for reference in claim.tests:
        file, _, name = reference.partition("::")
        assert (ROOT / file).exists(), reference
        assert name in _test_functions(ROOT / file), reference
    assert claim.policy in POLICIES and (POLICY_FOLDER / claim.policy).exists()


def test_anyone_can_read_the_page_and_every_claim_is_on_it(client):
    page = client.get("/security/")
    assert page.status_code == 200
    import html

    text = html.unescape(page.text)
    for claim in CLAIMS:
        assert claim.text in text
    for name in POLICIES:
        assert f"/security/policies/{name}" in page.text


def test_every_policy_document_is_served_and_nothing_else(client):
    for name in POLICIES:
        response = client.get(f"/security/policies/{name}")
        assert response.status_code == 200 and len(response.text) > 500
    assert client.get("/security/policies/..%2F..%2Fwsgi.py").status_code == 404
    assert client.get("/security/policies/README.md").status_code == 404


def test_each_policy_has_one_text_the_package_serves_and_docs_links_to(client):
    for name in POLICIES:
        assert (ROOT / "docs" / name).resolve() == (POLICY_FOLDER / name).resolve(), f"docs/{name} is a copy"
        served = html.unescape(client.get(f"/security/policies/{name}").text)
        assert (POLICY_FOLDER / name).read_text() in served


def test_an_installed_flowtrack_serves_the_policies_without_its_source_tree(services, tmp_path):
    """Built into a wheel and unpacked elsewhere, as `pip install` of a release puts it: no docs/ beside it."""
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in ("flowtrack", "jobs"):
        shutil.copytree(ROOT / part, source / part, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", source)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "--quiet", "--wheel-dir", str(tmp_path / "dist"), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("flowtrack-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {f"flowtrack/trust/policies/{name}" for name in POLICIES} <= names
        archive.extractall(tmp_path / "installed")

    page = subprocess.run(
        [sys.executable, "-c", SERVE_A_POLICY, str(tmp_path / "installed")], cwd=tmp_path, capture_output=True,
        text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(tmp_path / "installed"),
                                     "DATABASE_URL": services["DATABASE_URL"], "REDIS_URL": services["REDIS_URL"],
                                     "FLOWTRACK_ENV": "testing", "SECRET_KEY": "s" * 40})
    assert page.returncode == 0, page.stderr
    assert page.stdout.startswith("200 ") and "# Data retention" in page.stdout


SERVE_A_POLICY = """
import sys
from pathlib import Path

import flowtrack
from flowtrack import create_app

assert Path(flowtrack.__file__).is_relative_to(sys.argv[1]), flowtrack.__file__
response = create_app().test_client().get("/security/policies/data-retention.md")
print(response.status_code, response.get_data(as_text=True))
"""


def test_passwords_are_stored_as_argon2id_hashes(app, acme):
    with app.extensions["flowtrack.db"].service() as s:
        hashes = s.scalars(sa.select(User.password_hash).where(User.company_id == acme.id)
                           .execution_options(populate_existing=True)).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)


def test_production_responses_demand_https_and_secure_cookies(app_factory, acme):
    production = app_factory(ENV="production", SECRET_KEY="p" * 48)
    browser = production.test_client()
    member = acme.members["manager"]
    https = {"base_url": "https://flowtrack.example", "headers": {"Referer": "https://flowtrack.example/login"}}
    page = browser.get("/login", **https)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    response = browser.post("/login", data={"email": member.email, "password": member.password,
                                            "csrf_token": token}, **https)
    assert response.status_code == 303
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-flowtrack=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie and "Path=/" in cookie and "Domain" not in cookie
