"""Delivery channels of the outbox: e-mail by SMTP, SMS through a provider.

A channel either returns (the provider accepted the message) or raises ``DeliveryError``;
``permanent`` errors (a refused address) are not retried, the others are, with back-off.

E-mail. ``SmtpMailer`` when SMTP_HOST is set (SMTP_PORT, SMTP_STARTTLS, SMTP_USER,
SMTP_PASSWORD, MAIL_FROM). Without it, ``LogMailer`` (development): nothing is sent, the last
e-mails are kept in memory for the development page (/dev/messages).

SMS, the backend SMS_BACKEND names:

- ``log`` (the default; development and tests): ``LogSmsBackend`` sends nothing and keeps the
  last texts in memory for the development page.
- ``aliyun``: ``AliyunSmsBackend`` (app/core/sms_aliyun.py), Alibaba Cloud SMS on its official
  SDK, configured by the ALIYUN_SMS_* settings.
- ``package.module:ClassName``: another provider, a class taking the app config and having
  ``send(mobile, text, *, reference, template="notice", params=None)`` (``SmsBackend``).

``reference`` is the outbox message's unique key (``code-<id>`` for a sign-in code): providers
that accept a client reference (Aliyun ``OutId``, Tencent ``SessionContext``) carry it, so a
receipt names the message. Production refuses to start with the log backend or the log mailer
(config.py, ``ProductionConfig.check``).

Logs. A text may hold a sign-in code, an e-mail a set-password link: no channel logs a body, a
code, a link or a full number or address, only the masked recipient, the reference and the
provider's answer.
"""

import importlib
import logging
import smtplib
from collections import deque
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import NamedTuple, Protocol

from flask import current_app

from app.core.identifiers import mask_email, mask_mobile

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30


class DeliveryError(Exception):
    """The channel did not take the message; ``permanent`` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class SentEmail(NamedTuple):
    """An e-mail the log mailer took."""

    to: str
    subject: str
    body: str
    reference: str


class Mailer(Protocol):
    """Sends one e-mail."""

    def send(self, to: str, subject: str, body: str, *, reference: str) -> None: ...


class SmsBackend(Protocol):
    """Sends one text message through a provider.

    ``template`` names the provider template the text fills ("notice": the whole text is the
    one variable; "code": a one-time code, ``params={"code": ...}``), for providers (Aliyun,
    Tencent) that only send pre-approved templates.
    """

    def send(
        self,
        mobile: str,
        text: str,
        *,
        reference: str,
        template: str = "notice",
        params: dict | None = None,
    ) -> None: ...


def build_email(config, to: str, subject: str, body: str, *, reference: str) -> EmailMessage:
    """The e-mail as sent: plain text, UTF-8, a Message-ID derived from the outbox key."""
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    domain = parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring=reference.replace(":", "."), domain=domain)
    message.set_content(body)
    return message


class SmtpMailer:
    """E-mail through the configured SMTP server (STARTTLS and login when configured)."""

    def __init__(self, config) -> None:
        self.config = config

    def send(self, to: str, subject: str, body: str, *, reference: str) -> None:
        """Hand the message to the server; DeliveryError when it does not take it."""
        config = self.config
        message = build_email(config, to, subject, body, reference=reference)
        try:
            with smtplib.SMTP(
                config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT_SECONDS
            ) as smtp:
                if config["SMTP_STARTTLS"]:
                    smtp.starttls()
                if config.get("SMTP_USER"):
                    smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as err:
            codes = [code for code, _reply in err.recipients.values()]
            # Not the address itself: the error ends up in the outbox and maybe the log.
            raise DeliveryError(
                f"recipient refused: SMTP {', '.join(map(str, codes))}",
                permanent=all(c >= 500 for c in codes),
            ) from err
        except smtplib.SMTPAuthenticationError as err:
            # A configuration problem, not this message's: retry once the login is fixed.
            raise DeliveryError(f"SMTP login failed: {err.smtp_code}") from err
        except smtplib.SMTPResponseException as err:
            reply = err.smtp_error.decode(errors="replace") if err.smtp_error else ""
            raise DeliveryError(
                f"SMTP {err.smtp_code} {reply}".strip(), permanent=err.smtp_code >= 500
            ) from err
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError(f"SMTP server unavailable: {err}") from err


class LogMailer:
    """Without SMTP_HOST (development): nothing is sent; the last e-mails are kept in memory.

    The log gets the masked address and the reference only: an e-mail may hold a link that
    signs its reader in (an invitation's set-password link).
    """

    def __init__(self, keep: int = 50) -> None:
        self.sent: deque[SentEmail] = deque(maxlen=keep)

    def send(self, to: str, subject: str, body: str, *, reference: str) -> None:
        """Keep the message for the development page; log that it was taken."""
        self.sent.appendleft(SentEmail(to, subject, body, reference))
        log.info(
            "E-mail to %s (%s): %d characters, not sent (no SMTP_HOST)",
            mask_email(to),
            reference,
            len(body),
        )


class LogSmsBackend:
    """SMS_BACKEND=log (development): nothing is sent; the last texts are kept in memory.

    The log gets the masked number and the reference only: a text may hold a sign-in code.
    """

    def __init__(self, config=None, keep: int = 50) -> None:
        self.config = config
        self.sent: deque[tuple[str, str, str]] = deque(maxlen=keep)

    def send(
        self,
        mobile: str,
        text: str,
        *,
        reference: str,
        template: str = "notice",
        params: dict | None = None,
    ) -> None:
        """Keep the message for the development page; log that it was taken."""
        self.sent.appendleft((mobile, text, reference))
        log.info(
            "SMS to %s (%s): %d characters, not sent (log backend)",
            mask_mobile(mobile),
            reference,
            len(text),
        )

    def last_text(self, mobile: str) -> str | None:
        """The newest text taken for ``mobile``."""
        return next((text for to, text, _ref in self.sent if to == mobile), None)


# SMS_BACKEND values that name a backend shipped here.
SMS_BACKENDS = {"aliyun": "app.core.sms_aliyun:AliyunSmsBackend"}


def _load_backend(spec: str, config):
    module_name, _, class_name = SMS_BACKENDS.get(spec, spec).partition(":")
    if not class_name:
        raise RuntimeError(
            f"SMS_BACKEND must be 'log', 'aliyun' or 'package.module:ClassName': {spec!r}"
        )
    return getattr(importlib.import_module(module_name), class_name)(config)


def mailer() -> Mailer:
    """The e-mail channel of the current app (``app.extensions['care_mailer']`` if set)."""
    app = current_app
    if "care_mailer" in app.extensions:
        return app.extensions["care_mailer"]
    if app.config.get("SMTP_HOST"):
        return SmtpMailer(app.config)
    # One per app, so that the development page sees what earlier requests queued.
    return app.extensions.setdefault("log_mailer", LogMailer())


def sms_backend() -> SmsBackend:
    """The SMS provider of the current app (``app.extensions['sms_backend']`` if set)."""
    app = current_app
    if "sms_backend" not in app.extensions:
        spec = (app.config.get("SMS_BACKEND") or "log").strip()
        app.extensions["sms_backend"] = (
            LogSmsBackend(app.config) if spec == "log" else _load_backend(spec, app.config)
        )
    return app.extensions["sms_backend"]
