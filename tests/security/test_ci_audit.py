"""The CI audits (.ci/audit.py): a finding fails the run unless the reviewed ignore file lists it with a reason,
and an audit that cannot reach its vulnerability data fails instead of passing."""
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

AUDIT = Path(__file__).parents[2] / ".ci" / "audit.py"

RISKY_CODE = '''import subprocess


def greet(name):
    return subprocess.call("echo " + name, shell=True)
'''


def audit(cwd: Path, *args: str, ignore: str = "") -> subprocess.CompletedProcess:
    (cwd / "ignore.toml").write_text(ignore)
    return subprocess.run([sys.executable, str(AUDIT), "--ignore-file", str(cwd / "ignore.toml"), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def bandit_entry(test: str, code: str, reason: str = "The greeting is a fixed word chosen by our own code.") -> str:
    return f'[[bandit]]\ntest = "{test}"\nfile = "app/tool.py"\ncode = \'{code}\'\nreason = "{reason}"\n\n'


@pytest.fixture
def project(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "tool.py").write_text(RISKY_CODE)
    return tmp_path


def test_a_code_finding_fails_the_run_and_is_named(project):
    result = audit(project, "code", "app")
    assert result.returncode == 1
    assert "app/tool.py:5: B602" in result.stderr and "shell=True" in result.stderr
    assert "app/tool.py:1: B404" in result.stderr


def test_findings_listed_with_a_reason_pass(project):
    ignore = bandit_entry("B404", "import subprocess") + bandit_entry("B602", 'subprocess.call("echo " + name')
    result = audit(project, "code", "app", ignore=ignore)
    assert result.returncode == 0, result.stderr
    assert "2 reviewed exception(s)" in result.stdout


def test_an_inline_nosec_does_not_silence_a_finding(project):
    (project / "app" / "tool.py").write_text(RISKY_CODE.replace("shell=True)", "shell=True)  # nosec"))
    result = audit(project, "code", "app", ignore=bandit_entry("B404", "import subprocess"))
    assert result.returncode == 1 and "B602" in result.stderr


def test_an_entry_without_a_real_reason_is_refused(project):
    ignore = bandit_entry("B404", "import subprocess") + bandit_entry("B602", "shell=True", reason="fine")
    result = audit(project, "code", "app", ignore=ignore)
    assert result.returncode == 2 and "reason" in result.stderr
    result = audit(project, "code", "app", ignore='[[bandit]]\ntest = "B602"\nfile = "app/tool.py"\n')
    assert result.returncode == 2 and "lacks code, reason" in result.stderr


def test_an_entry_that_matches_no_finding_fails_the_run(project):
    ignore = (bandit_entry("B404", "import subprocess") + bandit_entry("B602", 'subprocess.call("echo " + name')
              + bandit_entry("B608", "SELECT * FROM gone"))
    result = audit(project, "code", "app", ignore=ignore)
    assert result.returncode == 1 and "matches no finding" in result.stderr and "B608" in result.stderr


class FakeOSV(BaseHTTPRequestHandler):
    """An OSV-compatible vulnerability API on this machine: one advisory for werkzeug 2.0.0."""

    def do_POST(self):
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        found = query["package"]["name"] == "werkzeug" and query["version"] == "2.0.0"
        body = json.dumps({"vulns": [{
            "id": "GHSA-test-0000-0000", "aliases": ["CVE-2099-0001"], "summary": "A test advisory",
            "affected": [{"package": {"name": "werkzeug", "ecosystem": "PyPI"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0.1"}]}]}],
        }]} if found else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def osv_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOSV)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    server.shutdown()
    server.server_close()


def audit_packages(tmp_path, url, ignore=""):
    (tmp_path / "requirements.txt").write_text("werkzeug==2.0.0\nclick==8.1.7\n")
    return audit(tmp_path, "packages", "--requirement", "requirements.txt", "--service", "osv",
                 "--osv-url", url, "--cache-dir", str(tmp_path / "cache"), ignore=ignore)


def test_a_published_vulnerability_fails_the_run_unless_listed_with_a_reason(tmp_path, osv_url):
    result = audit_packages(tmp_path, osv_url)
    assert result.returncode == 1
    assert "werkzeug 2.0.0: " in result.stderr and "fixed in 2.0.1" in result.stderr
    assert "GHSA-test-0000-0000" in result.stderr and "CVE-2099-0001" in result.stderr
    listed = ('[[pip-audit]]\nid = "CVE-2099-0001"\npackage = "Werkzeug"\n'
              'reason = "Only the debugger is affected and it is never enabled."\n')
    result = audit_packages(tmp_path, osv_url, ignore=listed)
    assert result.returncode == 0, result.stderr
    stale = listed + ('\n[[pip-audit]]\nid = "CVE-2099-0002"\npackage = "click"\n'
                      'reason = "Upgraded since; this entry should have gone."\n')
    result = audit_packages(tmp_path, osv_url, ignore=stale)
    assert result.returncode == 1 and "CVE-2099-0002" in result.stderr and "matches no finding" in result.stderr


def test_an_unreachable_vulnerability_service_is_reported_as_not_checked(tmp_path):
    with ThreadingHTTPServer(("127.0.0.1", 0), FakeOSV) as closed:
        port = closed.server_address[1]  # bound, then closed: nothing listens there
    listed = ('[[pip-audit]]\nid = "CVE-2099-0001"\npackage = "werkzeug"\n'
              'reason = "Listed so that a failed lookup cannot look like a used exception."\n')
    result = audit_packages(tmp_path, f"http://127.0.0.1:{port}/v1/query", ignore=listed)
    assert result.returncode == 3
    assert "NOT CHECKED" in result.stderr and "nothing is known to be safe" in result.stderr
    assert "matches no finding" not in result.stderr
