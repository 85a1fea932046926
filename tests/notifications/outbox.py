"""Reading the email outbox in tests, as a person would read their inbox."""
from __future__ import annotations

import re

import sqlalchemy as sa

from flowtrack.models.notifications import NotificationEmail
from tests.run_log import remember_secret


def emails_to(app, address: str) -> list[NotificationEmail]:
    with app.extensions["flowtrack.db"].service() as session:
        return list(session.scalars(sa.select(NotificationEmail).where(NotificationEmail.to_address == address)
                                    .order_by(NotificationEmail.created_at)))


def last_email(app, address: str) -> NotificationEmail:
    emails = emails_to(app, address)
    assert emails, f"no email to {address}"
    return emails[-1]


def link_in(body: str) -> str:
    """The path and query of the first link in an email body (the test client speaks to the app directly)."""
    match = re.search(r"https?://[^/\s]+(/\S+)", body)
    assert match, body
    token = re.search(r"token=([^&\s]+)", match.group(1))
    remember_secret(token.group(1) if token else None)
    return match.group(1)
