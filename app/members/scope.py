"""Whose figures a staff member sees (the dealer scope): HQ every dealer, or the one it picks;
a dealer's staff their own dealer only. Every report and staff list asks here.

A dealer id that names no dealer, or a dealer outside the viewer's scope, is NotFound (the
pages answer 404): it never widens the view to every dealer, nor falls back silently.
"""

from datetime import date

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.auth.models import User
from app.core.errors import NotFound
from app.core.permissions import Role
from app.core.reports import Export, Report, table_csv
from app.core.web import dealer_arg
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


def sees_dealer(actor: User, dealer_id: int) -> bool:
    """Whether ``actor`` may see what belongs to dealer ``dealer_id`` (HQ: every dealer)."""
    return actor.role == Role.HQ_ADMIN or actor.dealer_id == dealer_id


def dealer_choices(actor: User) -> list[Dealer]:
    """The dealers ``actor`` may pick from (HQ: every dealer, by code; others: none to pick)."""
    if actor.role != Role.HQ_ADMIN:
        return []
    return list(db.session.scalars(select(Dealer).order_by(Dealer.code)))


def scoped_dealers(scope: int | None, *, by_region: bool = False) -> list[Dealer]:
    """The dealers of ``scope`` (every dealer for None), by code (or by region, then code)."""
    order = (Dealer.region, Dealer.code) if by_region else (Dealer.code,)
    query = select(Dealer).order_by(*order)
    if scope is not None:
        query = query.where(Dealer.id == scope)
    return list(db.session.scalars(query))


def scope_code(scope: int | None) -> str:
    """The scope in a file name: the dealer's code, or 'all'."""
    return db.session.get(Dealer, scope).code if scope is not None else "all"


def scope_arg() -> int | None:
    """The dealer scope the viewer asked for in ``?dealer=`` (see :func:`dealer_scope`): HQ's
    pick or None for every dealer, a dealer's staff their own; 404 for a dealer that does not
    exist or is outside the viewer's scope."""
    try:
        return dealer_scope(current_user, dealer_arg())
    except NotFound:
        abort(404)


def export_table(
    report: Report, key: str | None, *, prefix: str, stamp: date | str
) -> Export | None:
    """One table of ``report`` as a CSV file named ``<prefix>-<table>-<dealer or all>-<stamp>``;
    None when the report has no such table."""
    table = report.table(key)
    if table is None:
        return None
    stamp = stamp.isoformat() if isinstance(stamp, date) else stamp
    name = f"{prefix}-{table.key}-{scope_code(report.dealer_id)}-{stamp}.csv"
    return Export(name, table_csv(table))
