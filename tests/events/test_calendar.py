"""A ticket's calendar file (validated with the icalendar library, as a calendar app would read
it) and the venue's map link; owners get only their own tickets' files."""

from datetime import timedelta
from urllib.parse import unquote

import pytest
from icalendar import Calendar

from app.events.calendar import escape_text, fold, ics_for
from app.events.models import EventRegistration
from app.events.services import cancel_registration, sign_up
from app.extensions import db
from tests.conftest import NOW, login
from tests.factories import make_dealer, make_event, make_member, make_staff, make_vehicle

PLACE = "华阳湖, 东莞; Gate 3, car park B"
DESCRIPTION = "自驾游 to the lake.\nBring water, sunscreen; a jacket.\n" + "长" * 80


@pytest.fixture
def tickets(app, seeded):
    """Two owners of SZ01 with a place each on a trip; their mobiles and registration ids."""
    with seeded():
        dealer = make_dealer("SZ01")
        staff = make_staff("event_staff", dealer.id)
        trip = make_event(staff, now=NOW, place=PLACE, description=DESCRIPTION, title="湖边, 自驾")
        owners = {}
        for name in ("owner", "other"):
            member = make_member(dealer.id, name=name)
            car = make_vehicle(member)
            registration = sign_up(member, trip.id, vehicle_id=car.id, accept_waiver=True)
            owners[name] = (member.user.mobile, registration.id)
    return owners


def _calendar(client, registration_id: int):
    response = client.get(f"/me/tickets/{registration_id}/calendar.ics")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    return response.get_data(as_text=True), Calendar.from_ical(response.get_data())


def test_the_ticket_imports_into_a_calendar(app, client, tickets):
    mobile, registration_id = tickets["owner"]
    login(client, mobile)
    text, calendar = _calendar(client, registration_id)
    (vevent,) = calendar.walk("VEVENT")
    with app.app_context():
        registration = db.session.get(EventRegistration, registration_id)
        event = registration.event
        assert vevent["UID"] == f"{registration.ticket_uuid}@carclub"
        assert vevent.decoded("DTSTART") == event.starts_at
        assert vevent.decoded("DTEND") == event.ends_at
        code = registration.ticket_code
    assert str(vevent["SUMMARY"]) == "湖边, 自驾"
    assert str(vevent["LOCATION"]) == PLACE
    description = str(vevent["DESCRIPTION"])
    assert description.startswith(DESCRIPTION)
    assert f"Ticket code {code[:4]}-{code[4:]}" in description
    assert str(vevent["URL"]) == f"http://localhost/me/tickets/{registration_id}"
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    # RFC 5545: CRLF line ends, no line over 75 octets (the long Chinese text is folded).
    lines = text.split("\r\n")
    assert max(len(line.encode()) for line in lines) <= 75
    assert "\n" not in text.replace("\r\n", "")


def test_the_uid_stays_the_same_so_a_second_import_updates_the_entry(client, tickets, clock):
    mobile, registration_id = tickets["owner"]
    login(client, mobile)
    _text, first = _calendar(client, registration_id)
    clock.advance(days=2)
    _text, second = _calendar(client, registration_id)
    (a,), (b,) = first.walk("VEVENT"), second.walk("VEVENT")
    assert a["UID"] == b["UID"]
    assert a.decoded("DTSTAMP") < b.decoded("DTSTAMP")


def test_a_cancelled_place_is_sent_as_cancelled(app, client, tickets):
    mobile, registration_id = tickets["owner"]
    with app.app_context(), app.test_request_context():
        registration = db.session.get(EventRegistration, registration_id)
        cancel_registration(registration.member, registration_id)
        db.session.commit()
    login(client, mobile)
    _text, calendar = _calendar(client, registration_id)
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["STATUS"]) == "CANCELLED"
    page = client.get(f"/me/tickets/{registration_id}").get_data(as_text=True)
    assert "Add to calendar" not in page


def test_an_owner_gets_only_their_own_tickets_file(client, tickets):
    mobile, _mine = tickets["owner"]
    _other_mobile, theirs = tickets["other"]
    login(client, mobile)
    assert client.get(f"/me/tickets/{theirs}/calendar.ics").status_code == 404
    assert client.get("/me/tickets/999999/calendar.ics").status_code == 404


def test_the_ticket_page_links_the_calendar_file_and_the_map(app, client, tickets):
    mobile, registration_id = tickets["owner"]
    login(client, mobile)
    page = client.get(f"/me/tickets/{registration_id}").get_data(as_text=True)
    assert f'href="/me/tickets/{registration_id}/calendar.ics"' in page
    assert "Add to calendar" in page
    link = page.split('class="map-link" href="', 1)[1].split('"', 1)[0]
    assert link.startswith("https://uri.amap.com/search?keyword=")
    assert unquote(link.split("keyword=", 1)[1].replace("&amp;", "&")) == PLACE
    assert "Open in maps" in page


def test_the_map_link_follows_the_configured_maps_site(app, client, tickets):
    app.config["MAP_SEARCH_URL"] = "https://www.google.com/maps/search/?api=1&query={query}"
    mobile, registration_id = tickets["owner"]
    login(client, mobile)
    page = client.get(f"/me/tickets/{registration_id}").get_data(as_text=True)
    assert "https://www.google.com/maps/search/?api=1&amp;query=%E5%8D%8E" in page


# ------------------------------------------------------------------------------ the format


def test_text_that_looks_like_calendar_lines_stays_text(app, seeded):
    """A title or place with line breaks and calendar words cannot add a line of its own."""
    hostile = "Trip\r\nEND:VEVENT\r\nBEGIN:VEVENT\nSUMMARY:Free money, really; \\o/"
    with seeded():
        dealer = make_dealer("SZ01")
        staff = make_staff("event_staff", dealer.id)
        event = make_event(staff, now=NOW, title=hostile[:120], place=hostile)
        member = make_member(dealer.id)
        registration = sign_up(
            member, event.id, vehicle_id=make_vehicle(member).id, accept_waiver=True
        )
        text = ics_for(
            registration,
            url="https://club.example/t/1",
            description=hostile,
            now=NOW + timedelta(minutes=1),
        )
    (vevent,) = Calendar.from_ical(text).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == hostile.replace("\r\n", "\n")
    assert str(vevent["LOCATION"]) == hostile.replace("\r\n", "\n")
    assert text.split("\r\n").count("BEGIN:VEVENT") == 1


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_folding_never_splits_a_character(width):
    char = {1: "a", 2: "é", 3: "长", 4: "🚗"}[width]
    line = "DESCRIPTION:" + char * 200
    folded = fold(line)
    pieces = folded.split("\r\n ")
    assert all(len(piece.encode()) <= (75 if i == 0 else 74) for i, piece in enumerate(pieces))
    assert "".join(pieces) == line


def test_escaping_follows_the_rfc():
    assert escape_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
