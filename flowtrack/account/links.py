"""Links emailed to a person that open a page of their account, each carrying a signed single-use token."""
from __future__ import annotations

from typing import Callable

from flask import current_app

from flowtrack.account import tokens
from flowtrack.notifications.links import external_url


def emailed_link(endpoint: str, purpose: str) -> Callable[[str], str]:
    """The link maker a service calls with the raw token it stored the hash of."""
    def link_for(raw: str) -> str:
        return external_url(endpoint, token=tokens.sign(current_app.secret_key, purpose, raw))
    return link_for


invitation_link = emailed_link("account.invitation", tokens.INVITE)
