"""The events' staff routes in the permission matrix, and the desk's events.

Each part of the events domain keeps its routes in its own module: events (organising),
check-in (the gate) and trip day / lectures.
"""

from datetime import timedelta

from app.core.clock import utcnow
from app.events.models import (
    EventKind,
    EventRegistration,
    LectureEvaluation,
    LectureQuestion,
    RegistrationStatus,
)
from app.events.services import create_event, sign_up
from app.extensions import db
from tests.admin.routes_checkin import CHECKIN_ROUTES
from tests.admin.routes_events import ORGANISING_ROUTES
from tests.admin.routes_outreach import OUTREACH_ROUTES, desk_outreach
from tests.admin.routes_tripday import TRIPDAY_ROUTES
from tests.admin.routes_tripplan import TRIPPLAN_ROUTES, desk_past_trip
from tests.factories import make_event, make_member, make_staff, make_vehicle

EVENT_ROUTES = ORGANISING_ROUTES + CHECKIN_ROUTES + TRIPDAY_ROUTES
EVENT_ROUTES += OUTREACH_ROUTES + TRIPPLAN_ROUTES


def desk_events(dealer, owner) -> dict[str, int]:
    """A trip the owner joined and a past lecture with an evaluation and an open question."""
    organiser = make_staff("event_staff", dealer.id)
    now = utcnow()
    trip = make_event(organiser, now=now, title="Desk trip")
    registration = sign_up(owner, trip.id, vehicle_id=owner.vehicles[0].id, accept_waiver=True)
    lecture = create_event(
        organiser,
        kind=EventKind.LECTURE,
        title="Desk lecture",
        place="Showroom",
        starts_at=now - timedelta(days=3),
        ends_at=now - timedelta(days=3) + timedelta(hours=2),
        registration_opens_at=now - timedelta(days=20),
        registration_closes_at=now - timedelta(days=4),
        capacity=40,
    )
    listener = make_member(dealer.id, name="Listener")
    make_vehicle(listener)
    seat = EventRegistration(
        event_id=lecture.id,
        member_id=listener.id,
        status=RegistrationStatus.CONFIRMED,
        created_at=now - timedelta(days=10),
        confirmed_at=now - timedelta(days=10),
        ticket_uuid="00000000-0000-4000-8000-000000000001",
        ticket_code="LSTN2345",
    )
    db.session.add(seat)
    db.session.flush()
    evaluation = LectureEvaluation(
        registration_id=seat.id,
        event_id=lecture.id,
        member_id=listener.id,
        rating=4,
        comments="Useful.",
        submitted_at=now - timedelta(days=2),
    )
    db.session.add(evaluation)
    db.session.flush()
    question = LectureQuestion(
        evaluation_id=evaluation.id,
        event_id=lecture.id,
        member_id=listener.id,
        text="How often should I change the brake fluid?",
        asked_at=now - timedelta(days=2),
    )
    db.session.add(question)
    db.session.flush()
    return {
        "event_id": trip.id,
        "registration_id": registration.id,
        "lecture_id": lecture.id,
        "lecture_registration_id": seat.id,
        "lecture_question_id": question.id,
        **desk_outreach(owner, trip.id),
        **desk_past_trip(organiser, owner),
    }
