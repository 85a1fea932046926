"""Text messages through a Twilio-compatible API (optional: without SMS_ACCOUNT_SID nothing is texted).

Twilio's REST shape is the common one: POST form fields To, From, Body to
`<api>/2010-04-01/Accounts/<sid>/Messages.json` with HTTP basic auth. Replies
(STOP, START) come back to `/reminders/webhooks/sms`, signed with the auth token in the
X-Twilio-Signature header (`valid_signature`).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import urllib.parse
from dataclasses import dataclass

import requests

from flowtrack.core.config import setting

DEFAULT_API = "https://api.twilio.com"
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})


class SmsError(Exception):
    """The provider refused or could not be reached; the message holds the status, never the text or number."""


@dataclass(frozen=True)
class SmsSettings:
    api_url: str
    account_sid: str
    auth_token: str
    sender: str

    def __repr__(self) -> str:  # never show the token in a log or a traceback
        return f"SmsSettings(api_url={self.api_url!r}, sender={self.sender!r})"


def sms_settings() -> SmsSettings | None:
    sid, token, sender = setting("SMS_ACCOUNT_SID"), setting("SMS_AUTH_TOKEN"), setting("SMS_FROM")
    if not (sid and token and sender):
        return None
    return SmsSettings((setting("SMS_API_URL") or DEFAULT_API).rstrip("/"), sid, token, sender)


def normal_number(text: str | None) -> str | None:
    """A North American phone number as E.164 (+15415550101), or None when it is not one we can text."""
    digits = re.sub(r"\D", "", (text or "").split("x")[0].split("ext")[0])
    if len(digits) == 10:
        digits = "1" + digits
    return f"+{digits}" if len(digits) == 11 and digits.startswith("1") else None


def send(settings: SmsSettings, to: str, body: str, *, timeout: float = 15) -> str:
    """Send one message; returns the provider's message id."""
    url = f"{settings.api_url}/2010-04-01/Accounts/{urllib.parse.quote(settings.account_sid)}/Messages.json"
    try:
        response = requests.post(url, data={"To": to, "From": settings.sender, "Body": body},
                                 auth=(settings.account_sid, settings.auth_token), timeout=timeout)
    except requests.RequestException as error:
        raise SmsError(type(error).__name__) from None
    if response.status_code >= 300:
        raise SmsError(f"HTTP {response.status_code}")
    try:
        return str(response.json().get("sid", ""))
    except ValueError:
        return ""


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's request signature: HMAC-SHA1 of the URL followed by each POST field name and value, sorted."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def valid_signature(auth_token: str, url: str, params: dict[str, str], header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(signature(auth_token, url, params), header)
