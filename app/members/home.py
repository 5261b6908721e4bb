"""What the owner's home opens on: the card, the tier, the cars, then what is new."""

from dataclasses import dataclass
from datetime import datetime

from app.cards.models import MemberCard
from app.cards.services import active_card
from app.care.schedule import MaintenanceDue, maintenance_due
from app.care.services import unread_count
from app.core.clock import local_date, utcnow
from app.events.models import Event, EventRegistration
from app.events.services import registration_open, tickets_for, upcoming_events
from app.loyalty.ledger import account_with_expiring
from app.loyalty.models import PointsAccount
from app.loyalty.tiers import TierStatus, tier_status
from app.members.models import Member, Vehicle

# What's new lists a few of each; the events page has the rest.
NEW_ITEMS = 2


@dataclass(frozen=True)
class CarDue:
    """One of the owner's cars and its next maintenance (None when the schedule cannot tell)."""

    vehicle: Vehicle
    due: MaintenanceDue | None


@dataclass(frozen=True)
class HomeSummary:
    """The figures of the owner's home, loaded at once so the template reads no database."""

    member: Member
    card: MemberCard | None
    account: PointsAccount
    tier: TierStatus
    cars: list[CarDue]
    tickets: list[EventRegistration]  # the owner's next events
    open_events: list[Event]  # open for sign-up, the owner not in them yet
    expiring_points: int  # within the next 60 days, as the card says
    unread: int


def home_summary(member: Member, *, now: datetime | None = None) -> HomeSummary:
    """The card summary, tier progress, cars with their next service, and what is new."""
    now = now or utcnow()
    account, expiring = account_with_expiring(member.id, now=now)
    cars = list(member.vehicles)
    due = maintenance_due(cars, local_date(now)) if cars else {}
    events = upcoming_events(member, now=now).cards
    open_events = [
        c.event for c in events if c.mine is None and registration_open(c.event, now=now)
    ]
    return HomeSummary(
        member=member,
        card=active_card(member),
        account=account,
        tier=tier_status(account, now=now),
        cars=[CarDue(car, due.get(car.id)) for car in cars],
        tickets=tickets_for(member, now=now)["upcoming"][:NEW_ITEMS],
        open_events=open_events[:NEW_ITEMS],
        expiring_points=expiring,
        unread=unread_count(member),
    )
