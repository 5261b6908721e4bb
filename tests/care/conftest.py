"""Care fixtures: a local SMTP server (aiosmtpd), an SMS backend that remembers, owners."""

import socket
import threading
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller


class SmtpInbox:
    """What the local SMTP server received; ``refuse`` makes it answer the next DATA with
    an error (e.g. ``["451 4.3.0 Try again later"]``)."""

    def __init__(self) -> None:
        self.envelopes = []
        self.refuse: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse.pop(0)
        self.envelopes.append(envelope)
        return "250 OK"

    @property
    def messages(self):
        """The received e-mails, parsed: (recipients, message)."""
        return [
            (e.rcpt_tos, message_from_bytes(e.content, policy=policy.default))
            for e in self.envelopes
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """An SMTP server on 127.0.0.1 at a random port, configured as the app's SMTP_HOST."""
    inbox = SmtpInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_STARTTLS=False,
        SMTP_USER=None,
        MAIL_FROM="Car Club <club@carclub.example>",
    )
    yield inbox
    controller.stop()


class RecordingSms:
    """An SMS provider that keeps what it was asked to send (thread-safe)."""

    def __init__(self, config=None) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()

    def send(self, mobile: str, text: str, *, reference: str) -> None:
        with self.lock:
            self.sent.append((mobile, text, reference))


@pytest.fixture
def sms(app) -> RecordingSms:
    """The app's SMS backend, recording."""
    backend = RecordingSms()
    app.extensions["sms_backend"] = backend
    return backend
