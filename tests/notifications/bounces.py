"""The mail provider in tests: it reports bounces and complaints to FlowTrack, signed as the provider signs them."""
from __future__ import annotations

import json
import time

from flowtrack.companies.jobs import company_session
from flowtrack.models.notifications import NotificationEmail
from flowtrack.notifications import services as outbox
from flowtrack.notifications.delivery_reports import SIGNATURE_HEADER, sign
from tests.run_log import remember_secret

WEBHOOK_SECRET = remember_secret("mail-webhook-" + "s" * 32)


def report(client, *reports: dict, secret: str = WEBHOOK_SECRET, at: float | None = None, header: str | None = None):
    """POST the reports to the webhook as the provider does, signed at `at` (now unless given)."""
    body = json.dumps(list(reports) if len(reports) != 1 else reports[0]).encode()
    signature = header if header is not None else sign(secret, body, int(at if at is not None else time.time()))
    return client.post("/webhooks/email", data=body, content_type="application/json",
                       headers={SIGNATURE_HEADER: signature})


def bounce(address: str, **fields) -> dict:
    return {"type": "bounce", "email": address, "bounce_class": "permanent",
            "description": "550 5.1.1 mailbox does not exist", "occurred_at": "2026-12-01T14:03:00Z", **fields}


def mail(app, tenant, address: str, subject: str = "Your test certificate") -> NotificationEmail:
    """A message the company's outbox writes to `address` (as an invoice or a report would)."""
    with app.app_context(), company_session(tenant.id, db=app.extensions["flowtrack.db"]) as session:
        email = outbox.send_email(session, address, subject, "Body text")
        session.commit()
    return email


def bounced(app, tenant, address: str):
    """An address of the company that bounced: mailed once, then reported. Returns the suppression."""
    import sqlalchemy as sa

    from flowtrack.models.notifications import EmailSuppression

    mail(app, tenant, address)
    app.config["MAIL_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    try:
        assert report(app.test_client(), bounce(address)).status_code == 200
    finally:
        app.config.pop("MAIL_WEBHOOK_SECRET")
    with app.extensions["flowtrack.db"].service() as session:
        return session.scalar(sa.select(EmailSuppression).where(EmailSuppression.company_id == tenant.id,
                                                                EmailSuppression.address == address.lower(),
                                                                EmailSuppression.cleared_at.is_(None)))
