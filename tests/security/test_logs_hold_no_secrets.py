"""The logs of a whole test run (the app, the web servers, the workers) hold none of the secrets the tests
handed the app: passwords, session and link tokens, MFA secrets and recovery codes, signing keys.

This test runs last (tests/conftest.py orders it), over the file every log record of the run went to."""
import pytest

from tests.run_log import RUN_LOG, SECRETS


def test_the_logs_of_the_whole_run_hold_no_secret(request):
    if request.session.testscollected < 100:
        pytest.skip("only meaningful after a whole run (the suite's other tests write the log it reads)")
    text = RUN_LOG.read_text(encoding="utf-8")
    assert text.count("\n") > 1000, "the run wrote almost no log: is the run log still attached?"
    assert len(SECRETS) > 50, "the tests remembered almost no secrets: are the factories still registering them?"
    leaked = sorted(secret for secret in SECRETS if secret in text)
    assert leaked == [], f"{len(leaked)} secrets in {RUN_LOG}"
