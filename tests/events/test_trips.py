"""A trip's logistics (issue 21): car numbers in sign-up order, fixed for the stickers; the
lead and tail cars; the route with its stops; the organisers' sheet and the owner's ticket."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.core.audit import AuditEntry
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.events import services, trips
from app.events.models import EventKind, EventRegistration, RegistrationStatus
from app.events.trip_models import TripCarNumber, TripStop
from app.extensions import db
from app.members.models import Member
from tests.events.test_tripday import join, make_trip
from tests.factories import make_member, make_staff, make_vehicle


def _actions(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture
def organiser(ctx, dealers):
    return make_staff("event_staff", dealers["SZ01"])


def _drivers(dealer_id, names):
    drivers = []
    for name in names:
        member = make_member(dealer_id, name=name)
        make_vehicle(member, model="Haima Knight")
        drivers.append(member)
    return drivers


def _numbers(trip) -> dict[str, tuple[int, bool]]:
    return {
        db.session.get(EventRegistration, rid).member.name: (n.number, n.fixed)
        for rid, n in trips.car_numbers(trip).items()
    }


# ------------------------------------------------------------------------------- numbers


def test_numbers_follow_sign_up_order_and_close_up_until_fixed(organiser, dealers, clock):
    trip = make_trip(organiser, clock, capacity=3)
    a, b, c, late = _drivers(dealers["SZ01"], ["A", "B", "C", "Late"])
    places = {m.name: join(m, trip) for m in (a, b, c)}
    clock.advance(minutes=5)
    join(late, trip)  # waits: the trip has 3 cars
    assert _numbers(trip) == {"A": (1, False), "B": (2, False), "C": (3, False)}

    services.cancel_registration(b, places["B"].id)
    # Before the stickers are printed the numbers close up: 1, 2 (Late is offered B's place).
    assert _numbers(trip) == {"A": (1, False), "C": (2, False)}


def test_fixed_numbers_never_change_and_a_later_car_takes_the_next(organiser, dealers, clock):
    trip = make_trip(organiser, clock, capacity=3)
    a, b, c, late = _drivers(dealers["SZ01"], ["A", "B", "C", "Late"])
    places = {m.name: join(m, trip) for m in (a, b, c)}
    waiting = join(late, trip)

    assert trips.fix_car_numbers(organiser, trip.id, expected=3) == 3
    (audit,) = _actions("event.car_numbers_fixed")
    assert audit.details["numbers"] == {str(places[n].id): i for i, n in enumerate("ABC", 1)}
    assert trips.plan_for(trip).numbers_fixed_at == clock.now()

    clock.advance(hours=1)
    services.cancel_registration(b, places["B"].id)
    services.confirm_offer(late, waiting.id)
    # B's sticker number 2 stays empty; the car from the waiting list is 4, provisional.
    assert _numbers(trip) == {"A": (1, True), "C": (3, True), "Late": (4, False)}
    assert trips.unfixed_count(trip) == 1
    assert trips.fix_car_numbers(organiser, trip.id, expected=1) == 1
    assert _numbers(trip)["Late"] == (4, True)
    assert db.session.scalar(select(func.count(TripCarNumber.id))) == 4


def test_fixing_refuses_a_stale_page_and_nothing_to_fix(organiser, dealers, clock):
    trip = make_trip(organiser, clock)
    (a,) = _drivers(dealers["SZ01"], ["A"])
    join(a, trip)
    with pytest.raises(Conflict, match="changed since the page was opened"):
        trips.fix_car_numbers(organiser, trip.id, expected=2)
    trips.fix_car_numbers(organiser, trip.id, expected=1)
    with pytest.raises(Conflict, match="already has its number"):
        trips.fix_car_numbers(organiser, trip.id, expected=0)
    assert len(_actions("event.car_numbers_fixed")) == 1


def test_plans_are_for_the_dealers_trips_until_they_end(organiser, dealers, clock):
    trip = make_trip(organiser, clock)
    lecture = make_trip(organiser, clock, kind=EventKind.LECTURE, waiver_text="")
    with pytest.raises(NotFound):
        trips.trip_for_staff(organiser, lecture.id)
    with pytest.raises(NotFound):
        trips.trip_for_staff(make_staff("event_staff", dealers["GZ01"]), trip.id)
    clock.advance(days=10, hours=10)  # the trip's end
    with pytest.raises(Conflict, match="trip is over"):
        trips.add_stop(organiser, trip.id, name="Too late")


# -------------------------------------------------------------------------------- convoy


def test_a_staff_car_leads_and_an_attendees_car_closes_the_convoy(organiser, dealers, clock):
    trip = make_trip(organiser, clock)
    a, b = _drivers(dealers["SZ01"], ["A", "B"])
    join(a, trip)
    tail = join(b, trip)
    trips.set_convoy(
        organiser,
        trip.id,
        lead=f"staff:{organiser.id}",
        lead_note="  White SUV 鲁B·88888, Mr Wang  ",
        tail=f"car:{tail.id}",
    )
    convoy = trips.convoy(trip)
    assert convoy["lead"].who == organiser.name and convoy["lead"].is_staff
    assert convoy["lead"].note == "White SUV 鲁B·88888, Mr Wang"
    assert (convoy["tail"].who, convoy["tail"].car) == (
        "Car 2",
        f"Haima Knight {b.vehicles[0].plate}",
    )
    (audit,) = _actions("event.convoy_set")
    assert audit.details["after"]["tail_registration_id"] == tail.id

    # The tail's driver cancels: the sheet says so (the owners' tickets no longer show it).
    services.cancel_registration(b, tail.id)
    assert trips.convoy(trip)["tail"].gone


@pytest.mark.parametrize(
    ("lead", "tail", "field"),
    [
        ("staff:{gz}", "", "lead"),  # staff of another dealer
        ("car:{waiting}", "", "lead"),  # not a confirmed car
        ("car:{other}", "", "lead"),  # a car of another trip
        ("staff:99999999999999", "", "lead"),  # huge
        ("car:-1", "", "lead"),
        ("member:1", "", "lead"),
        ("car:{confirmed}", "car:{confirmed}", "tail"),  # one car cannot be both
        ("staff:{me}", "", "lead_note"),  # a staff car says which car it is
    ],
)
def test_the_convoy_refuses_what_is_not_one_of_the_trips(
    organiser, dealers, clock, lead, tail, field
):
    trip = make_trip(organiser, clock, capacity=1)
    other_trip = make_trip(organiser, clock, title="Other")
    a, b, c = _drivers(dealers["SZ01"], ["A", "B", "C"])
    ids = {
        "confirmed": join(a, trip).id,
        "waiting": join(b, trip).id,
        "other": join(c, other_trip).id,
        "gz": make_staff("event_staff", dealers["GZ01"]).id,
        "me": organiser.id,
    }
    with pytest.raises(ValidationFailed) as refused:
        trips.set_convoy(organiser, trip.id, lead=lead.format(**ids), tail=tail.format(**ids))
    assert refused.value.field == field
    assert trips.plan_for(trip) is None and _actions("event.convoy_set") == []


# --------------------------------------------------------------------------------- route


def test_the_route_keeps_its_order_and_times_move_forward(organiser, clock):
    trip = make_trip(organiser, clock)
    start = trip.starts_at
    meet = trips.add_stop(organiser, trip.id, name="润桥4S店", address="Pingdu", planned_at=start)
    trips.add_stop(organiser, trip.id, name="青岛路")  # a road: no time
    farm = trips.add_stop(
        organiser, trip.id, name="大泽山葡萄采摘园", planned_at=start + timedelta(minutes=50)
    )
    assert [s.name for s in trips.route(trip)] == ["润桥4S店", "青岛路", "大泽山葡萄采摘园"]
    assert [s.position for s in trips.route(trip)] == [1, 2, 3]

    with pytest.raises(ValidationFailed, match="planned before “大泽山葡萄采摘园”"):
        trips.add_stop(organiser, trip.id, name="Lunch", planned_at=start + timedelta(minutes=10))
    trips.move_stop(organiser, trip.id, farm.id, up=True)  # past the untimed road: fine
    assert [s.name for s in trips.route(trip)] == ["润桥4S店", "大泽山葡萄采摘园", "青岛路"]
    with pytest.raises(ValidationFailed, match="change the time or the order"):
        trips.move_stop(organiser, trip.id, farm.id, up=True)  # before the meeting: refused
    assert [s.position for s in trips.route(trip)] == [1, 2, 3]
    with pytest.raises(Conflict, match="already at that end"):
        trips.move_stop(organiser, trip.id, meet.id, up=True)

    trips.remove_stop(organiser, trip.id, meet.id)
    assert [(s.position, s.name) for s in trips.route(trip)] == [
        (1, "大泽山葡萄采摘园"),
        (2, "青岛路"),
    ]
    assert {a.action for a in db.session.scalars(select(AuditEntry))} >= {
        "event.trip_stop_added",
        "event.trip_stop_removed",
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "\u200b\u202e"}, "name"),  # only invisible characters
        ({"name": "x" * 81}, "name"),
        ({"name": "Stop", "address": "y" * 201}, "address"),
        ({"name": "Stop", "note": "z" * 301}, "note"),
        ({"name": "Stop", "planned_at": "before"}, "planned_at"),
        ({"name": "Stop", "planned_at": "after"}, "planned_at"),
    ],
)
def test_a_stop_is_refused_with_the_field_to_fix(organiser, clock, fields, field):
    trip = make_trip(organiser, clock)
    when = {
        "before": trip.starts_at - timedelta(hours=3),  # before the check-in opens
        "after": trip.ends_at + timedelta(minutes=1),
    }
    if "planned_at" in fields:
        fields = {**fields, "planned_at": when[fields["planned_at"]]}
    with pytest.raises(ValidationFailed) as refused:
        trips.add_stop(organiser, trip.id, **fields)
    assert refused.value.field == field
    assert db.session.scalar(select(func.count(TripStop.id))) == 0


def test_a_route_has_at_most_thirty_stops(organiser, clock):
    trip = make_trip(organiser, clock)
    for n in range(trips.MAX_STOPS):
        trips.add_stop(organiser, trip.id, name=f"Road {n}")
    with pytest.raises(Conflict, match="at most 30 stops"):
        trips.add_stop(organiser, trip.id, name="One too many")


# ------------------------------------------------------------------------------- ticket


def test_the_owners_ticket_shows_their_number_the_convoy_and_the_route(organiser, dealers, clock):
    trip = make_trip(organiser, clock, capacity=1)
    a, b = _drivers(dealers["SZ01"], ["A", "B"])
    mine, waiting = join(a, trip), join(b, trip)
    trips.add_stop(organiser, trip.id, name="Meeting point", planned_at=trip.starts_at)
    trips.set_convoy(organiser, trip.id, lead=f"staff:{organiser.id}", lead_note="Red van", tail="")
    ticket = trips.trip_ticket(mine)
    assert (ticket.number.number, ticket.number.fixed) == (1, False)
    assert ticket.convoy["lead"].note == "Red van" and "tail" not in ticket.convoy
    assert [s.name for s in ticket.stops] == ["Meeting point"]
    assert trips.trip_ticket(waiting) is None
    assert waiting.status == RegistrationStatus.WAITING


# --------------------------------------------------------------------------------- pages


@pytest.fixture
def planned(seeded, dealers, member, clock):
    """A trip of SZ01 the owner ("member", Zhang Wei) joined first, then Li Na: ids."""
    with seeded():
        organiser = make_staff("event_staff", dealers["SZ01"])
        trip = make_trip(organiser, clock)
        owner = db.session.get(Member, member["id"])
        (li,) = _drivers(dealers["SZ01"], ["Li Na"])
        mine = services.sign_up(owner, trip.id, vehicle_id=member["vehicle_id"], accept_waiver=True)
        clock.advance(minutes=1)
        theirs = join(li, trip)
        return {
            "event_id": trip.id,
            "mine": mine.id,
            "theirs": theirs.id,
            "starts": trip.starts_at,
            "li_mobile": li.user.mobile,
        }


@pytest.fixture
def planner(staff_factory):
    return staff_factory("event_staff", "SZ01")


def _local(moment) -> str:
    """A UTC moment as the datetime-local input of Shanghai's clock reads it."""
    return (moment + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")


def test_organisers_plan_the_route_convoy_and_numbers_on_the_phone(planner, planned):
    base = f"/admin/events/{planned['event_id']}/trip"
    page = planner.get(base).get_data(as_text=True)
    assert "No stops yet" in page and "Fix the numbers of these 2 cars" in page

    added = planner.post(
        f"{base}/stops/new",
        data={"name": "润桥4S店", "planned_at": _local(planned["starts"]), "note": "Stickers"},
    )
    assert added.status_code == 302 and added.headers["Location"].endswith("/trip#route")
    early = planner.post(
        f"{base}/stops/new",
        data={"name": "Farm", "planned_at": _local(planned["starts"] - timedelta(hours=5))},
    )
    assert early.status_code == 422
    assert "Plan the stop during the trip" in early.get_data(as_text=True)
    assert planner.post(f"{base}/stops/new", data={"name": ""}).status_code == 422

    convoy = planner.post(
        f"{base}/convoy",
        data={"lead": f"car:{planned['theirs']}", "tail": f"car:{planned['theirs']}"},
    )
    assert convoy.status_code == 422
    assert "cannot also lead" in convoy.get_data(as_text=True)
    assert planner.post(f"{base}/convoy", data={}).status_code == 422  # nothing sent: no change
    saved = planner.post(f"{base}/convoy", data={"lead": f"car:{planned['theirs']}", "tail": ""})
    assert saved.status_code == 302

    key = {"expected": "2", "idempotency_key": "fix-numbers-key-0001"}
    assert planner.post(f"{base}/numbers", data=key).status_code == 302
    planner.get(base)  # the flash is shown
    # A double tap replays the first answer rather than saying there is nothing to fix.
    again = planner.post(f"{base}/numbers", data=key, follow_redirects=True)
    assert "2 car numbers fixed." in again.get_data(as_text=True)
    forged = planner.post(f"{base}/numbers", data={"expected": "1e9"}, follow_redirects=True)
    assert "This form is not valid. Reload the page." in forged.get_data(as_text=True)
    page = planner.get(base).get_data(as_text=True)
    assert "Numbers fixed on" in page and "Fix the numbers" not in page
    assert "润桥4S店" in page


def test_the_sheet_lists_cars_by_number_with_phones_and_the_csv_starts_with_it(
    app, planner, planned
):
    with app.app_context():
        organiser = db.session.scalar(select(User).where(User.role == "event_staff"))
        trips.add_stop(organiser, planned["event_id"], name="Grape farm")
        db.session.commit()
    sheet = planner.get(f"/admin/events/{planned['event_id']}/trip/sheet").get_data(as_text=True)
    assert sheet.index("Zhang Wei") < sheet.index("Li Na")
    assert planned["li_mobile"] in sheet and "Grape farm" in sheet
    assert "Provisional: the numbers are not fixed yet." in sheet
    csv = planner.get(f"/admin/events/{planned['event_id']}/attendees.csv").get_data()
    lines = csv.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Car no.,Name,") and lines[1].startswith("1,Zhang Wei,")
    attendees = planner.get(f"/admin/events/{planned['event_id']}/attendees")
    assert "Car 2" in attendees.get_data(as_text=True)


def test_the_owner_sees_their_car_number_and_the_route_on_the_ticket(app, member_client, planned):
    with app.app_context():
        organiser = db.session.scalar(select(User).where(User.role == "event_staff"))
        trips.add_stop(organiser, planned["event_id"], name="Grape farm", note="Lunch here")
        trips.set_convoy(
            organiser,
            planned["event_id"],
            lead=f"staff:{organiser.id}",
            lead_note="Red van",
            tail="",
        )
        db.session.commit()
    html = member_client.get(f"/me/tickets/{planned['mine']}").get_data(as_text=True)
    assert "Your car is number 1" in html and "Provisional" in html
    assert "Grape farm" in html and "Lunch here" in html and "Red van" in html
    assert planned["li_mobile"] not in html


def test_other_dealers_and_other_roles_cannot_plan(staff_factory, member_client, planned):
    base = f"/admin/events/{planned['event_id']}/trip"
    gz = staff_factory("event_staff", "GZ01")
    for path in (base, f"{base}/sheet", f"{base}/stops/new"):
        assert gz.get(path).status_code == 404
    assert gz.post(f"{base}/stops/new", data={"name": "X"}).status_code == 404
    consultant = staff_factory("sales_consultant", "SZ01")
    for client in (consultant, member_client):
        assert client.get(base).status_code == 403
        assert client.post(f"{base}/numbers", data={"expected": "2"}).status_code == 403
