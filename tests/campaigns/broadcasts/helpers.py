"""Owners and broadcasts for the broadcast tests (flush, never commit)."""

from datetime import date, timedelta

from app.campaigns.broadcasts.services import BroadcastData, create_broadcast
from app.campaigns.calls.targeting import TargetFilters
from tests.care.helpers import make_car, make_owner
from tests.conftest import NOW


def owner_with_car(dealer_id: int, name: str, *, plate: str | None = None, **fields):
    """An owner (``fields`` on the member: marketing_opt_in, notify_sms…) with one car."""
    owner = make_owner(dealer_id, name=name, **fields)
    car = make_car(owner, purchased_on=date(2024, 1, 1))
    if plate:
        car.plate = plate
    return owner


def data(**changes) -> BroadcastData:
    """A holiday greeting to go an hour after NOW, in both languages."""
    values = {
        "kind": "holiday_greeting",
        "send_at": NOW + timedelta(hours=1),
        "title_zh": "{name}，节日快乐",
        "body_zh": "{dealer}祝您节日快乐。",
        "title_en": "Happy holidays, {name}",
        "body_en": "From {dealer}.",
        "filters": TargetFilters(),
        **changes,
    }
    return BroadcastData(**values)


def draft(actor, dealer_id: int, **changes):
    """A draft broadcast of ``dealer_id``."""
    return create_broadcast(actor, data(**changes), dealer_id=dealer_id, now=NOW)
