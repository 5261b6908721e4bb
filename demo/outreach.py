"""Demo data of event outreach (issue 21): SZ01's owner lecture every second Saturday (a
series of 4), its first date's invitations to the owners of Lavidas and Jetta VS5s (the demo
owner has opened theirs), the Lake Dongjiang trip's plan (car numbers fixed, the event staff's
car leading and an owner's closing the convoy, a route of 3 stops), and the coffee morning
three days ago, whose prize was drawn among the owners who checked in. Through the events'
services, each part once (a rerun finds it and makes nothing)."""

from datetime import timedelta

from sqlalchemy import select

from app.auth.services import get_user_by_mobile
from app.campaigns.calls.targeting import TargetFilters
from app.campaigns.event_invites.services import invite_owners
from app.core.clock import local_date, local_midnight
from app.events import draws, trips
from app.events.checkin import check_in_manually
from app.events.invitations import open_invitation
from app.events.models import Event, EventInvitation, EventKind, EventRegistration, EventSeries
from app.events.series import Repeat, publish_event
from app.events.services import ACTIVE, sign_up
from app.extensions import db

SERIES_TITLE = "Owner lecture: Saturday car clinic"
TRIP_TITLE = "Lake Dongjiang self-drive"
DRAW_TITLE = "Members' coffee morning"
PRIZE = "Car-care gift box"
COMPACTS = TargetFilters(models=("Lavida", "Jetta VS5"))
# SZ01's owners (odd mobiles): the trip's extra cars (not 13900000003, whom the browser tests
# sign up) and the coffee morning's guests.
TRIP_OWNERS = ("13900000005", "13900000007", "13900000009", "13900000011")
GUESTS = tuple(f"139{n:08d}" for n in range(1, 17, 2))
ROUTE = (
    (0, "SZ01 showroom", "Shenzhen Bay Motors, Nanshan", "Safety check and car stickers."),
    (150, "Huiyan expressway service area", "Huizhou", "Fuel and a 20-minute break."),
    (240, "Lake Dongjiang campsite", "Huizhou, Lake Dongjiang", "Check in and park by number."),
)


def seed_outreach(now, organiser_mobile: str, owner_mobile: str) -> int:
    """The series with its invitations, the trip's plan and the draw, each unless it exists or
    its people are missing. Returns how many of the three parts were made."""
    organiser = get_user_by_mobile(organiser_mobile)
    if organiser is None:
        return 0
    return (
        _series(organiser, owner_mobile, now) + _trip_plan(organiser, now) + _draw(organiser, now)
    )


def _series(organiser, owner_mobile: str, now) -> int:
    if db.session.scalar(select(EventSeries.id).where(EventSeries.title == SERIES_TITLE)):
        return 0
    from demo.seed import demo_cover

    today = local_date(now)
    days = (5 - today.weekday()) % 7  # the coming Saturday, or the next if it is too close
    start = local_midnight(today + timedelta(days=days + (7 if days < 3 else 0)))
    start += timedelta(hours=14)
    first = publish_event(
        organiser,
        Repeat(every_weeks=2, occurrences=4),
        now=now,
        cover=demo_cover("lecture"),
        kind=EventKind.LECTURE,
        title=SERIES_TITLE,
        description="An hour with our technicians: bring your car's questions.",
        place="SZ01 workshop",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        registration_opens_at=start - timedelta(days=14),
        registration_closes_at=start - timedelta(hours=2),
        capacity=20,
        max_companions=1,
    )
    invite_owners(organiser, first.id, COMPACTS, now=now)
    owner = get_user_by_mobile(owner_mobile)
    invitation = db.session.scalar(
        select(EventInvitation).where(
            EventInvitation.event_id == first.id,
            EventInvitation.member_id == (owner.member.id if owner and owner.member else None),
        )
    )
    if invitation is not None:
        open_invitation(owner.member, invitation.id, now=now + timedelta(minutes=5))
    return 1


def _trip_plan(organiser, now) -> int:
    trip = db.session.scalar(
        select(Event).where(Event.kind == EventKind.TRIP, Event.title == TRIP_TITLE)
    )
    if trip is None or trips.plan_for(trip) is not None or now >= trip.starts_at:
        return 0
    going = set(
        db.session.scalars(
            select(EventRegistration.member_id).where(
                EventRegistration.event_id == trip.id, EventRegistration.status.in_(ACTIVE)
            )
        )
    )
    for mobile in TRIP_OWNERS:
        user = get_user_by_mobile(mobile)
        member = user.member if user is not None else None
        if member is not None and member.vehicles and member.id not in going:
            vehicle_id = member.vehicles[0].id
            sign_up(member, trip.id, vehicle_id=vehicle_id, accept_waiver=True, now=now)
    numbers = trips.car_numbers(trip)
    if not numbers:
        return 0
    trips.fix_car_numbers(organiser, trip.id, expected=None, now=now)
    last = max(numbers.items(), key=lambda item: item[1].number)[0]
    trips.set_convoy(
        organiser,
        trip.id,
        lead=f"staff:{organiser.id}",
        lead_note="White Tiguan L 粤B·D8888, Wu Lei",
        tail=f"car:{last}",
        tail_note="Sweeps up anyone who stops.",
        now=now,
    )
    for minutes, name, address, note in ROUTE:
        planned = trip.starts_at + timedelta(minutes=minutes)
        trips.add_stop(
            organiser, trip.id, name=name, address=address, planned_at=planned, note=note, now=now
        )
    return 1


def _draw(organiser, now) -> int:
    if db.session.scalar(select(Event.id).where(Event.title == DRAW_TITLE)):
        return 0
    from demo.seed import demo_cover

    start = local_midnight(local_date(now) - timedelta(days=3)) + timedelta(hours=10)
    before = start - timedelta(days=10)
    event = publish_event(
        organiser,
        Repeat(),
        now=before,
        cover=demo_cover("dinner"),
        kind=EventKind.OTHER,
        title=DRAW_TITLE,
        description="Coffee with the club, and a draw for the owners who come.",
        place="SZ01 showroom, 2F lounge",
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        registration_opens_at=before,
        registration_closes_at=start - timedelta(hours=12),
        capacity=30,
        max_companions=0,
    )
    seats = []
    for n, mobile in enumerate(GUESTS):
        user = get_user_by_mobile(mobile)
        if user is not None and user.member is not None:
            at = before + timedelta(days=1, hours=n)
            seats.append(sign_up(user.member, event.id, now=at))
    # Six of the eight came.
    for n, seat in enumerate(seats[:6]):
        at = start + timedelta(minutes=5 + 3 * n)
        check_in_manually(organiser, event_id=event.id, registration_id=seat.id, now=at)
    if not seats:
        return 1
    prize = draws.add_prize(organiser, event.id, name=PRIZE, quantity=2, now=before)
    draws.draw_prize(
        organiser,
        event.id,
        prize.id,
        count=2,
        round_expected=1,
        now=start + timedelta(hours=1),
    )
    return 1
