import socket
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller

from tests.customers.factories import records  # noqa: F401  (the fixture, for the tests here)


class Inbox:
    """A real SMTP server on the loopback interface that keeps what it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.hostname, controller.port, inbox
    controller.stop()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: a mail server that is down."""
    return _free_port()
