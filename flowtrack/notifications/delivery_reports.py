"""The mail provider's reports of bounces and complaints, as they reach `POST /webhooks/email`: the signature that
authenticates them and the reports they carry. Pure functions; no Flask, no database.

The signature (docs/operations.md, "Bounces and complaints"): the sender puts

    FlowTrack-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + raw body, keyed with MAIL_WEBHOOK_SECRET>

on the request, the scheme Stripe's webhooks use. A report is believed only when one `v1` matches and `t` is
within five minutes of our clock, either way, so a captured request cannot be replayed later. More than one `v1`
may be sent, so the secret can be changed without a gap.

The body is JSON: one report or a list of them, each
`{"type": "bounce" | "complaint", "email": "...", "bounce_class": "permanent" | "transient",
"description": "...", "occurred_at": "<ISO 8601>"}`. Only `type` and `email` are required; a bounce is permanent
unless it says `transient`, and a transient bounce (a full mailbox, a server that was down) stops nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass

SIGNATURE_HEADER = "FlowTrack-Signature"
# Seconds a signature stays good, both ways: an older request is a replay, a much newer one a forgery.
TOLERANCE_SECONDS = 300
MAX_REPORTS = 500  # in one request


class RefusedSignature(Exception):
    """The request is not from the provider, or not from now; the message says why, without the secret."""


class UnreadableReport(ValueError):
    """A signed body that is not what the provider is documented to send."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value the provider sends (and the tests send)."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str | None, *, now: float) -> None:
    """Raise RefusedSignature unless `header` signs `body` with `secret` at a time within the tolerance of `now`."""
    if not header:
        raise RefusedSignature("no signature header")
    timestamp, signatures = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise RefusedSignature("malformed signature header")
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise RefusedSignature("timestamp outside the tolerance")
    expected = sign(secret, body, timestamp).partition(",v1=")[2]
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise RefusedSignature("signature mismatch")


@dataclass(frozen=True)
class DeliveryReport:
    kind: str  # bounce, complaint
    address: str  # lower-cased
    permanent: bool
    detail: str | None
    occurred_at: dt.datetime | None

    @property
    def stops_mail(self) -> bool:
        return self.kind == "complaint" or self.permanent


def parse(body: bytes) -> list[DeliveryReport]:
    """The reports in a signed body; types we do not act on (deliveries, opens) are left out."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise UnreadableReport("not JSON") from None
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_REPORTS:
        raise UnreadableReport("too many reports in one request")
    reports = []
    for item in items:
        if not isinstance(item, dict):
            raise UnreadableReport("a report is not an object")
        kind = item.get("type")
        if kind not in ("bounce", "complaint"):
            continue
        address = item.get("email")
        if not isinstance(address, str) or "@" not in address or len(address.strip()) > 254:
            raise UnreadableReport("a report has no usable address")
        detail = item.get("description")
        reports.append(DeliveryReport(
            kind=kind, address=address.strip().lower(),
            permanent=kind == "complaint" or item.get("bounce_class", "permanent") != "transient",
            detail=str(detail)[:300] if detail else None, occurred_at=_time(item.get("occurred_at"))))
    return reports


def _time(value) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
