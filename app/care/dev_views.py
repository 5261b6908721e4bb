"""/dev/messages (development only): what the log channels took instead of sending it.

With SMS_BACKEND=log and no SMTP_HOST nothing reaches a phone or a mailbox; the texts (sign-in
codes) and e-mails (set-password links) are kept in this process's memory and shown here, so a
newcomer can register in the browser. The blueprint is registered only when DEV_MESSAGES_PAGE
is true (development); testing and production leave it out, so the address is a 404 there.
"""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from app.core.channels import LogMailer, LogSmsBackend, mailer, sms_backend

bp = Blueprint("dev", __name__, url_prefix="/dev")

SHOWN = 20


@bp.after_request
def not_stored(response):
    """Codes and links: no cache keeps a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/messages")
def messages():
    """The last texts and e-mails the log channels took, newest first."""
    sms, mail = sms_backend(), mailer()
    return render_template(
        "dev/messages.html",
        texts=list(sms.sent)[:SHOWN] if isinstance(sms, LogSmsBackend) else None,
        emails=list(mail.sent)[:SHOWN] if isinstance(mail, LogMailer) else None,
        sms_backend_name=type(sms).__name__,
        mailer_name=type(mail).__name__,
    )


@bp.post("/messages/send")
def send_outbox():
    """Send the outbox's due e-mails and SMS in this process, so that they show here."""
    from app.members.outbox import send_due

    report = send_due(limit=100)
    flash(_("Outbox: %(sent)d sent, %(failed)d failed.", sent=report.sent, failed=report.failed))
    return redirect(url_for("dev.messages"))
