"""What the owner's home opens on: the card, the tier, the cars, then what is new.

Members sits below the domains that hold these figures, so it asks them: each answers the
``member_home`` signal (app/core/signals.py) in its package's ``__init__.py`` with its part —
cards the card, loyalty the account, tier and expiring points, care the cars' next maintenance
and the questionnaires waiting, events the owner's next events and those open for sign-up.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.core.clock import utcnow
from app.core.signals import member_home
from app.members.inbox import unread_count
from app.members.models import Member, Vehicle

# What's new lists a few of each; the events page has the rest.
NEW_ITEMS = 2


@dataclass(frozen=True)
class CarDue:
    """One of the owner's cars and its next maintenance (None when the schedule cannot tell)."""

    vehicle: Vehicle
    due: Any  # care.maintenance.MaintenanceDue | None


@dataclass(frozen=True)
class HomeSummary:
    """The figures of the owner's home, loaded at once so the template reads no database."""

    member: Member
    card: Any  # cards.models.MemberCard | None
    account: Any  # loyalty.models.PointsAccount
    tier: Any  # loyalty.tiers.TierStatus
    cars: list[CarDue]
    tickets: list  # the owner's next events (events.models.EventRegistration)
    open_events: list  # open for sign-up, the owner not in them yet (events.models.Event)
    surveys: list  # visits' questionnaires waiting for the owner (care VisitSurvey)
    expiring_points: int  # within the next 60 days, as the card says
    unread: int


def home_summary(member: Member, *, now: datetime | None = None) -> HomeSummary:
    """The card summary, tier progress, cars with their next service, and what is new."""
    now = now or utcnow()
    cars = list(member.vehicles)
    parts = {"card": None, "maintenance": {}, "tickets": [], "open_events": [], "surveys": []}
    for _receiver, part in member_home.send(member, cars=cars, now=now, limit=NEW_ITEMS):
        parts.update(part or {})
    due = parts.pop("maintenance")
    return HomeSummary(
        member=member,
        cars=[CarDue(car, due.get(car.id)) for car in cars],
        unread=unread_count(member),
        **parts,
    )
