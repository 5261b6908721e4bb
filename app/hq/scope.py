"""Which dealers a staff member's HQ pages cover: HQ every dealer (or the one it picks), a
dealer's admin their own only."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.core.errors import NotFound
from app.core.permissions import Role
from app.extensions import db
from app.members.models import Dealer


def dealer_scope(actor: User, dealer_id: int | None = None) -> int | None:
    """The dealer whose figures ``actor`` sees: for HQ ``dealer_id`` (None: every dealer); for
    a dealer's staff their own dealer. NotFound for an unknown dealer or one outside the scope."""
    if actor.role == Role.HQ_ADMIN:
        if dealer_id is None:
            return None
        if db.session.get(Dealer, dealer_id) is None:
            raise NotFound(_l("No such dealer."))
        return dealer_id
    if dealer_id is not None and dealer_id != actor.dealer_id:
        raise NotFound(_l("No such dealer."))
    return actor.dealer_id


def scoped_dealers(scope: int | None) -> list[Dealer]:
    """The dealers of ``scope`` (every dealer for None), by region then code."""
    query = select(Dealer).order_by(Dealer.region, Dealer.code)
    if scope is not None:
        query = query.where(Dealer.id == scope)
    return list(db.session.scalars(query))
