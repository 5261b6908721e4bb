"""A ticket in the owner's calendar (an iCalendar file, RFC 5545) and the venue on a map.

The file holds one VEVENT whose UID is the registration's ticket id, so importing it again
(after the event moved) updates the entry instead of adding a second one. Times are in UTC;
text is escaped and lines are folded at 75 octets without splitting a character, as the RFC
asks. A place that is cancelled or lapsed is sent as STATUS:CANCELLED, one still waiting or
unpaid as TENTATIVE.

The map link is a plain link to a maps search for the event's place (``MAP_SEARCH_URL``, Amap
by default): no call leaves the server.
"""

from datetime import UTC, datetime
from urllib.parse import quote

from flask import current_app

from app.events.models import Event, EventRegistration, RegistrationStatus
from app.events.services import format_ticket_code

PRODUCT_ID = "-//Car Club//Events//EN"
LINE_OCTETS = 75

_STATUS = {
    RegistrationStatus.CONFIRMED: "CONFIRMED",
    RegistrationStatus.CANCELLED: "CANCELLED",
    RegistrationStatus.EXPIRED: "CANCELLED",
}


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and line breaks escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """A content line folded into pieces of at most 75 octets (CRLF and a space between)."""
    pieces, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        # Continuation lines start with a space, which counts against their 75 octets.
        limit = LINE_OCTETS if not pieces else LINE_OCTETS - 1
        if size + width > limit:
            pieces.append(current)
            current, size = "", 0
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ics_for(registration: EventRegistration, *, url: str, description: str, now: datetime) -> str:
    """The registration's event as an iCalendar file; ``url`` is the ticket's page,
    ``description`` the words under the title (in the owner's language)."""
    event: Event = registration.event
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{registration.ticket_uuid}@carclub",
        f"DTSTAMP:{_utc(now)}",
        f"DTSTART:{_utc(event.starts_at)}",
        f"DTEND:{_utc(event.ends_at)}",
        f"SUMMARY:{escape_text(event.title)}",
        f"LOCATION:{escape_text(event.place)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"URL:{url}",
        f"STATUS:{_STATUS.get(registration.status, 'TENTATIVE')}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)


def description_for(registration: EventRegistration, ticket_label: str) -> str:
    """The event's description, then the ticket code (``ticket_label`` names it)."""
    code = f"{ticket_label} {format_ticket_code(registration.ticket_code)}"
    text = registration.event.description.strip()
    return f"{text}\n\n{code}" if text else code


def map_url(place: str) -> str:
    """A maps search for ``place`` (``MAP_SEARCH_URL`` with ``{query}``)."""
    template = current_app.config.get("MAP_SEARCH_URL") or DEFAULT_MAP_SEARCH_URL
    return template.replace("{query}", quote(place.strip(), safe=""))


DEFAULT_MAP_SEARCH_URL = "https://uri.amap.com/search?keyword={query}"
