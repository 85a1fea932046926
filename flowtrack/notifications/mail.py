"""How email leaves the building: SMTP settings from the environment, and one send over smtplib."""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Sequence

from flowtrack.core.config import setting

SECURITY_MODES = ("starttls", "ssl", "none")


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
    host = setting("SMTP_HOST")
    if not host:
        return None
    security = (setting("SMTP_SECURITY", "starttls") or "starttls").lower()
    if security not in SECURITY_MODES:
        raise RuntimeError(f"SMTP_SECURITY must be one of {', '.join(SECURITY_MODES)}")
    default_port = {"starttls": "587", "ssl": "465", "none": "25"}[security]
    return SmtpSettings(host=host, port=int(setting("SMTP_PORT", default_port)), security=security,
                        username=setting("SMTP_USERNAME"), password=setting("SMTP_PASSWORD"),
                        sender=setting("MAIL_FROM", "FlowTrack <no-reply@flowtrack.invalid>"))


def deliver(settings: SmtpSettings, to: str, subject: str, body: str,
            attachments: Sequence[tuple[str, str, bytes]] = ()) -> None:
    """Send one plain-text message with its attachments as (file name, content type, data); raises
    smtplib/OSError on failure."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[-1].strip("> ") or None)
    message.set_content(body)
    for name, content_type, data in attachments:
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
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
