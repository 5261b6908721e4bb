"""HQ's changes to the dealer network: the region each dealer belongs to."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.core.audit import apply_changes, record_audit
from app.core.errors import NotFound, ValidationFailed
from app.extensions import db
from app.members.models import Dealer

REGION_MAX = 32


def known_regions() -> list[str]:
    """The regions dealers are in now, by name (suggested when setting one)."""
    return list(
        db.session.scalars(
            select(Dealer.region).where(Dealer.region != "").distinct().order_by(Dealer.region)
        )
    )


def set_dealer_region(
    actor: User, dealer_id: int, *, region: str, now: datetime | None = None
) -> Dealer:
    """Put a dealer in a sales region (华南 South, 华东 East...); empty takes it out of any."""
    dealer = db.session.get(Dealer, dealer_id)
    if dealer is None:
        raise NotFound(_l("No such dealer."))
    region = " ".join((region or "").split())
    if len(region) > REGION_MAX:
        raise ValidationFailed(
            _l("A region name has at most %(max)s characters.", max=REGION_MAX), field="region"
        )
    changes = apply_changes(dealer, {"region": region})
    db.session.flush()
    if changes:
        record_audit(
            actor,
            "dealer.region_set",
            subject=dealer,
            dealer_id=dealer.id,
            details=changes,
            now=now,
        )
    return dealer
