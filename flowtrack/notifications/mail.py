"""How email leaves the building: SMTP settings from the environment, and one send over smtplib."""
from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app, has_app_context

SECURITY_MODES = ("starttls", "ssl", "none")


def _setting(name: str, default: str | None = None) -> str | None:
    """App config first (tests, wsgi), then the environment (the worker reads only the environment)."""
    if has_app_context() and current_app.config.get(name) not in (None, ""):
        return str(current_app.config[name])
    return os.environ.get(name) or default


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str | None
    password: str | None
    sender: str

    def __repr__(self) -> str:  # never show the password in a log or a traceback
        return f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r})"


def smtp_settings() -> SmtpSettings | None:
    """The mail server from SMTP_HOST and friends, or None: then mail stays in the outbox."""
    host = _setting("SMTP_HOST")
    if not host:
        return None
    security = (_setting("SMTP_SECURITY", "starttls") or "starttls").lower()
    if security not in SECURITY_MODES:
        raise RuntimeError(f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}")
    default_port = {"starttls": "587", "ssl": "465", "none": "25"}[security]
    return SmtpSettings(host=host, port=int(_setting("SMTP_PORT", default_port)), security=security,
                        username=_setting("SMTP_USERNAME"), password=_setting("SMTP_PASSWORD"),
                        sender=_setting("MAIL_FROM", "FlowTrack <no-reply@flowtrack.invalid>"))


def deliver(settings: SmtpSettings, to: str, subject: str, body: str) -> None:
    """Send one plain-text message; raises smtplib/OSError on failure."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[-1].strip("> ") or None)
    message.set_content(body)
    context = ssl.create_default_context()
    if settings.security == "ssl":
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=30, context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=30)
    with client:
        if settings.security == "starttls":
            client.starttls(context=context)
        if settings.username:
            client.login(settings.username, settings.password or "")
        client.send_message(message)
