"""Enrolling in two-step sign-in through the pages, with a real authenticator (pyotp) on the test's side."""
from __future__ import annotations

import re
import time

import pyotp

from tests.run_log import remember_secret


def secret_on(page_text: str) -> str:
    match = re.search(r'class="secret"[^>]*>([A-Z2-7 ]+)<', page_text)
    assert match, "no setup key on the page"
    return remember_secret(match.group(1).replace(" ", ""))


def recovery_codes_on(page_text: str) -> list[str]:
    return [remember_secret(found) for found in re.findall(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>",
                                                          page_text)]


def code(secret: str, steps_ahead: int = 0) -> str:
    """The app's code now, or the one it will show `steps_ahead` windows later (still accepted: one step of drift)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def enrol(browser) -> tuple[str, list[str]]:
    """Set up two-step sign-in from the account page; returns the secret and the recovery codes."""
    secret = secret_on(browser.get("/account/mfa").text)
    page = browser.submit("/account/mfa", {"code": code(secret)})
    assert page.status_code == 200, page.text
    codes = recovery_codes_on(page.text)
    assert len(codes) == 10
    return secret, codes
