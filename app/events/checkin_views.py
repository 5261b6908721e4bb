"""The gate: the staff check-in page (camera, offline) and its data.

The page scans tickets with the phone's camera and checks them through the JSON API with the
staff member's session (``POST /api/v1/checkin``). Without signal it verifies signatures on
the phone with the event's public keys and attendee list (``checkin_data``), queues the scans
and uploads them later (``POST /api/v1/checkin/batch``). A service worker keeps the page and
its scripts available offline. Without JavaScript, the ticket field posts to the page itself.
"""

from flask import abort, current_app, jsonify, render_template, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from app.cards.services import offline_check_settings
from app.core.assets import service_worker
from app.core.clock import utcnow
from app.core.errors import NotFound
from app.core.permissions import permission_required
from app.core.security import uses_camera
from app.core.tokens import signer
from app.events.checkin import (
    card_key,
    check_in,
    checkin_window,
    describe_attendee,
    event_for_gate,
    gate_attendees,
    gate_summary,
    scan_conflicts,
)
from app.events.views import bp

# What the service worker keeps for the page to open without signal (under static/).
GATE_ASSETS = (
    "css/app.css",
    "js/confirm.js",
    "js/checkin.js",
    "js/checkin-verify.js",
    "js/card-code.js",
    "js/scanner.js",
    "js/vendor/noble-ed25519/index.js",
    "js/vendor/zxing-library/index.min.js",
    "img/icon.svg",
    "img/favicon.ico",
    "img/icon-192.png",
    "manifest.webmanifest",
)
SERVICE_WORKER = "js/checkin-sw.js"


class TicketForm(FlaskForm):
    """The manual fallback: the ticket's code, typed or pasted (or from a keyboard scanner)."""

    ticket = TextAreaField(
        _l("Ticket code"),
        [DataRequired(_l("Scan or type a ticket code.")), Length(max=512)],
        description=_l(
            "The ticket's code (like K7QX-2MXP), the text of its QR code, or a member card's code."
        ),
        render_kw={"rows": 2, "autocomplete": "off", "spellcheck": "false"},
    )


def _gate_event_or_404(event_id: int):
    try:
        return event_for_gate(current_user, event_id)
    except NotFound:
        abort(404)


@bp.route("/admin/events/<int:event_id>/checkin", methods=["GET", "POST"])
@uses_camera
@permission_required("events.checkin")
def checkin_page(event_id: int):
    """The gate: scan tickets with the camera, online or not."""
    event = _gate_event_or_404(event_id)
    form = TicketForm()
    result = None
    if form.validate_on_submit():
        result = check_in(current_user, event_id=event.id, ticket=form.ticket.data)
        form.ticket.data = ""
    return render_template(
        "events/checkin.html",
        event=event,
        form=form,
        result=result,
        attendee=describe_attendee(result.attendee, locale=str(get_locale()))
        if result and result.attendee
        else None,
        summary=gate_summary(event),
        conflicts=scan_conflicts(event),
        service_worker_url=url_for("events.checkin_service_worker"),
        timezone=current_app.config["TIMEZONE"],
    )


def _gate_event(event) -> dict:
    """The event as the offline gate needs it, with its check-in window."""
    opens, closes = checkin_window(event)
    return {
        "id": event.id,
        "title": event.title,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        # The phone refuses scans outside the check-in window without signal too.
        "checkin_opens_at": opens.isoformat(),
        "checkin_closes_at": closes.isoformat(),
    }


def _gate_list(event) -> list[dict]:
    """Every attendee the gate may see, with their check-in state, their ticket's short code
    and their card (hashed): what the phone matches a typed code or a card code to."""
    locale = str(get_locale())
    return [
        {
            **describe_attendee(entry.registration, locale=locale),
            "status": entry.status,
            "checked_in_at": entry.checked_in_at.isoformat() if entry.checked_in_at else None,
            "code": entry.registration.ticket_code,
            "card": card_key(event, entry.card_number) if entry.card_number else None,
        }
        for entry in gate_attendees(event)
    ]


@bp.get("/admin/events/<int:event_id>/checkin/data")
@permission_required("events.checkin")
def checkin_data(event_id: int):
    """What a phone needs to check tickets without signal: public keys and attendees."""
    event = _gate_event_or_404(event_id)
    summary = gate_summary(event)
    response = jsonify(
        {
            "event": _gate_event(event),
            "keys": signer().public_keys(),
            "attendees": _gate_list(event),
            # Members' live card codes are checked on the phone too (cards/devices.py).
            "cards": offline_check_settings(),
            "summary": {
                "expected": summary.expected,
                "checked_in": summary.checked_in,
                "conflicts": summary.conflicts,
            },
            "generated_at": utcnow().isoformat(),
            # A fresh token after a new login, for the uploads of scans queued before it.
            "csrf_token": generate_csrf(),
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/admin/events/checkin-sw.js")
@permission_required("events.checkin")
def checkin_service_worker():
    """The gate's service worker, with the list and version of the files it keeps offline."""
    return service_worker(SERVICE_WORKER, GATE_ASSETS)
