"""Dated versions (R2): rules kept as rows that each take effect on their ``effective_from`` day
and stay until the next one does — the earning rules, the tier thresholds, the referral terms.
The newest row on or before a day is the one in force; rows after today are announced, not yet
in force, and may be withdrawn until their day comes (a mistake need not reach members)."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict
from app.extensions import db


def version_in_force(model, on: date):
    """The newest row of ``model`` that took effect on or before ``on`` (None before the first)."""
    return db.session.scalar(
        select(model)
        .where(model.effective_from <= on)
        .order_by(model.effective_from.desc())
        .limit(1)
    )


def upcoming_versions(model, *, now: datetime | None = None) -> list:
    """The rows of ``model`` announced but not yet in force, soonest first."""
    today = local_date(now or utcnow())
    return list(
        db.session.scalars(
            select(model).where(model.effective_from > today).order_by(model.effective_from)
        )
    )


def all_versions(model) -> list:
    """Every row of ``model``, newest first."""
    return list(db.session.scalars(select(model).order_by(model.effective_from.desc())))


def check_withdrawable(row, *, now: datetime) -> None:
    """A version may be withdrawn only while it is announced and not yet in force."""
    if row.effective_from is None or row.effective_from <= local_date(now):
        raise Conflict(_l("This version is in force already: announce a new change to replace it."))


def withdraw_version(actor, model, version_id: int, *, action: str, now: datetime | None = None):
    """Withdraw a version of ``model`` announced but not yet in force: it is deleted, as if never
    announced, and the audit log keeps what it said (``<action>.withdrawn``). Conflict when it
    is no longer there (a second tap) or once its day has come. Returns the deleted row."""
    now = now or utcnow()
    row = db.session.execute(
        select(model).where(model.id == version_id).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise Conflict(_l("This version is no longer announced: nothing changed."))
    check_withdrawable(row, now=now)
    record_audit(
        actor,
        f"{action}.withdrawn",
        subject=row,
        details={"effective_from": row.effective_from.isoformat(), "note": row.note},
        now=now,
    )
    db.session.delete(row)
    db.session.flush()
    return row
