"""Dated versions (R2): rules kept as rows that each take effect on their ``effective_from`` day
and stay until the next one does — the earning rules, the referral terms. The newest row on or
before a day is the one in force; rows after today are announced, not yet in force."""

from datetime import date, datetime

from sqlalchemy import select

from app.core.clock import local_date, utcnow
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
