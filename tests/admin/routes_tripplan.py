"""Permission-matrix routes: a trip's plan (numbers, convoy, route, sheet) and the prize draw
(issue 21), on the desk's past trip, whose plan and draw can no longer change.

Empty POSTs change nothing: the forms re-show with their errors (422), the one-tap actions are
refused (the trip is over; the prize was drawn) and go back to their page (302).
"""

from datetime import timedelta

from app.core.clock import utcnow
from app.events.draw_models import DrawPrize, DrawWinner, PrizeDraw, WinnerStatus
from app.events.draws import ALGORITHM, commitment_of, new_seed
from app.events.models import EventKind, EventRegistration, RegistrationStatus
from app.events.services import create_event
from app.events.trip_models import TripStop
from app.extensions import db
from tests.admin.matrix import Route

T = "/admin/events/<int:event_id>/trip"
P = "/admin/events/{past_trip_id}/trip"
D = "/admin/events/<int:event_id>/draw"
Q = "/admin/events/{past_trip_id}/draw"

TRIPPLAN_ROUTES: tuple[Route, ...] = (
    Route("GET", T, P, "events.manage", 200),
    Route("GET", f"{T}/sheet", f"{P}/sheet", "events.manage", 200),
    Route("POST", f"{T}/numbers", f"{P}/numbers", "events.manage", 302),
    Route("POST", f"{T}/convoy", f"{P}/convoy", "events.manage", 422),
    Route("GET", f"{T}/stops/new", f"{P}/stops/new", "events.manage", 200),
    Route("POST", f"{T}/stops/new", f"{P}/stops/new", "events.manage", 422),
    Route("GET", f"{T}/stops/<int:stop_id>", f"{P}/stops/{{stop_id}}", "events.manage", 200),
    Route("POST", f"{T}/stops/<int:stop_id>", f"{P}/stops/{{stop_id}}", "events.manage", 422),
    Route(
        "POST",
        f"{T}/stops/<int:stop_id>/move",
        f"{P}/stops/{{stop_id}}/move",
        "events.manage",
        302,
    ),
    Route(
        "POST",
        f"{T}/stops/<int:stop_id>/remove",
        f"{P}/stops/{{stop_id}}/remove",
        "events.manage",
        302,
    ),
    Route("GET", D, Q, "events.manage", 200),
    Route("POST", f"{D}/prizes", f"{Q}/prizes", "events.manage", 422),
    Route("GET", f"{D}/prizes/<int:prize_id>", f"{Q}/prizes/{{prize_id}}", "events.manage", 200),
    Route("POST", f"{D}/prizes/<int:prize_id>", f"{Q}/prizes/{{prize_id}}", "events.manage", 422),
    Route(
        "POST",
        f"{D}/prizes/<int:prize_id>/remove",
        f"{Q}/prizes/{{prize_id}}/remove",
        "events.manage",
        302,
    ),
    Route(
        "POST",
        f"{D}/prizes/<int:prize_id>/draw",
        f"{Q}/prizes/{{prize_id}}/draw",
        "events.manage",
        422,
    ),
    Route(
        "POST",
        f"{D}/winners/<int:winner_id>/redraw",
        f"{Q}/winners/{{winner_id}}/redraw",
        "events.manage",
        302,
    ),
    Route("GET", f"{D}/live", f"{Q}/live", "events.manage", 200),
    Route("GET", f"{D}/live.json", f"{Q}/live.json", "events.manage", 200),
    Route(
        "GET",
        f"{D}/records/<int:draw_id>.json",
        f"{Q}/records/{{draw_id}}.json",
        "events.manage",
        200,
    ),
)


def desk_past_trip(organiser, owner) -> dict[str, int]:
    """A trip of last week the owner went on: a stop on its route, a prize drawn, its winner."""
    now = utcnow()
    trip = create_event(
        organiser,
        kind=EventKind.TRIP,
        title="Desk past trip",
        place="Pingdu",
        starts_at=now - timedelta(days=7),
        ends_at=now - timedelta(days=7) + timedelta(hours=10),
        registration_opens_at=now - timedelta(days=30),
        registration_closes_at=now - timedelta(days=9),
        capacity=10,
        waiver_text="I drive at my own risk.",
    )
    seat = EventRegistration(
        event_id=trip.id,
        member_id=owner.id,
        vehicle_id=owner.vehicles[0].id,
        status=RegistrationStatus.CONFIRMED,
        created_at=now - timedelta(days=20),
        confirmed_at=now - timedelta(days=20),
        ticket_uuid="00000000-0000-4000-8000-000000000021",
        ticket_code="TRIP2345",
    )
    stop = TripStop(event_id=trip.id, position=1, name="Grape farm", address="", note="")
    seed = new_seed()
    prize = DrawPrize(
        event_id=trip.id,
        name="Car care kit",
        quantity=1,
        repeat_winners=False,
        seed=seed,
        commitment=commitment_of(seed),
        created_at=now - timedelta(days=8),
    )
    db.session.add_all([seat, stop, prize])
    db.session.flush()
    draw = PrizeDraw(
        event_id=trip.id,
        prize_id=prize.id,
        round=1,
        kind="draw",
        asked=1,
        eligible_count=1,
        eligible_ids=[seat.id],
        algorithm=ALGORITHM,
        drawn_at=now - timedelta(days=7),
    )
    db.session.add(draw)
    db.session.flush()
    winner = DrawWinner(
        draw_id=draw.id,
        event_id=trip.id,
        prize_id=prize.id,
        registration_id=seat.id,
        member_id=owner.id,
        rank=1,
        status=WinnerStatus.WON,
    )
    db.session.add(winner)
    db.session.flush()
    return {
        "past_trip_id": trip.id,
        "stop_id": stop.id,
        "prize_id": prize.id,
        "draw_id": draw.id,
        "winner_id": winner.id,
    }
