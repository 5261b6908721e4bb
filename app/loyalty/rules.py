"""Earning rules: dated versions, points for a service visit, the yuan value of a point (R2, R3)."""

import time
from datetime import date, datetime, timedelta
from typing import NamedTuple

from flask import current_app, g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, ValidationFailed
from app.core.money import yuan
from app.core.versions import (
    all_versions,
    upcoming_versions,
    version_in_force,
    withdraw_version,
)
from app.extensions import db
from app.loyalty.models import EarningRules
from app.members import announcements

VALUE_CACHE_SECONDS = 60
# The column of EarningRules that holds each service category's earning rate.
EARNING_RATE_COLUMNS = {
    "maintenance": "maintenance_rate",
    "repair": "repair_rate",
    "accident": "accident_rate",
    "other": "other_rate",
}


def rules_in_force(on: date) -> EarningRules:
    """The newest rules version that took effect on or before ``on``."""
    cache = g.setdefault("_earning_rules", {}) if has_request_context() else {}
    if on not in cache:
        cache[on] = version_in_force(EarningRules, on)
    return cache[on]


def upcoming_rules(*, now: datetime | None = None) -> list[EarningRules]:
    """Versions announced but not yet in force, soonest first."""
    return upcoming_versions(EarningRules, now=now)


def all_rules() -> list[EarningRules]:
    """Every version, newest first."""
    return all_versions(EarningRules)


def is_anniversary_month(purchased_on: date, visited_on: date) -> bool:
    """The purchase month of a later year: points count double (seed 002)."""
    return visited_on.month == purchased_on.month and visited_on.year > purchased_on.year


class VisitPoints(NamedTuple):
    """How a visit's points were worked out (shown to staff). A named tuple: the bench makes
    millions of them."""

    points: int
    earning_rate_per_100_yuan: int
    tier_multiplier_pct: int
    anniversary: bool


def earning_rate_per_100_yuan(rules: EarningRules, category: str) -> int:
    """Points a visit of ``category`` earns per ¥100 the owner pays, before the tier and
    anniversary multipliers (100 = one point per yuan). Not what a point is worth: that is
    :func:`point_value_yuan`."""
    return getattr(rules, EARNING_RATE_COLUMNS[category])


def visit_points(
    *,
    amount_fen: int,
    category: str,
    tier_multiplier_pct: int,
    purchased_on: date,
    visited_on: date,
    rules: EarningRules | None = None,
) -> VisitPoints:
    """Points for a visit: yuan paid × the category's earning rate × tier multiplier
    (× anniversary), under ``rules``: by default the version in force on the visit's day (a
    set-based caller passes each day's, looked up once)."""
    if rules is None:
        rules = rules_in_force(visited_on)
    rate = earning_rate_per_100_yuan(rules, category)
    anniversary = is_anniversary_month(purchased_on, visited_on)
    factor = rules.anniversary_multiplier_pct if anniversary else 100
    # fen/100 = yuan; rate/100 points per yuan; two percentages: divide by 100 ** 4 at the end.
    points = amount_fen * rate * tier_multiplier_pct * factor // 100_000_000
    return VisitPoints(points, rate, tier_multiplier_pct, anniversary)


def _points_worth_one_yuan(on: date) -> int:
    """How many points are worth ¥1 on ``on`` (not an earning rate). Shown next to every
    balance, so each process keeps the figure for VALUE_CACHE_SECONDS: a new version is
    announced days ahead (RULES_NOTICE_DAYS), so the figure in force today cannot change
    meanwhile."""
    cache = current_app.extensions.setdefault("carclub.points_worth_one_yuan", {})
    hit = cache.get(on)
    clock = time.monotonic()
    if hit is not None and hit[1] > clock:
        return hit[0]
    if len(cache) > 64:
        cache.clear()
    value = rules_in_force(on).points_worth_one_yuan
    cache[on] = (value, clock + VALUE_CACHE_SECONDS)
    return value


def point_value_yuan(points: int, *, on: date | None = None) -> str:
    """What ``points`` are worth in yuan under the rules in force, e.g. '12.34'."""
    worth_one_yuan = _points_worth_one_yuan(on or local_date(utcnow()))
    return yuan(points * 100 // worth_one_yuan)


def check_announcement(model, effective_from: date, note: str, *, now: datetime) -> None:
    """A dated change (earning rules, tiers) is announced after the notice period, one per
    day, with a note for members; ValidationFailed or Conflict otherwise."""
    earliest = local_date(now) + timedelta(days=current_app.config["RULES_NOTICE_DAYS"])
    if effective_from < earliest:
        raise ValidationFailed(
            _l(
                "Members must be told in advance: choose %(date)s or later.",
                date=earliest.isoformat(),
            ),
            field="effective_from",
        )
    if db.session.scalar(select(model.id).where(model.effective_from == effective_from)):
        raise Conflict(_l("A change already starts on that day."), field="effective_from")
    if not (note or "").strip():
        raise ValidationFailed(_l("Say what changes, for the announcement."), field="note")


def schedule_rules(
    actor,
    *,
    effective_from: date,
    maintenance_rate: int,
    repair_rate: int,
    accident_rate: int,
    other_rate: int,
    anniversary_multiplier_pct: int,
    points_worth_one_yuan: int,
    note: str,
    now: datetime | None = None,
) -> EarningRules:
    """Announce a new rules version; it takes effect after the notice period, never at once."""
    now = now or utcnow()
    check_announcement(EarningRules, effective_from, note, now=now)
    rules = EarningRules(
        effective_from=effective_from,
        maintenance_rate=maintenance_rate,
        repair_rate=repair_rate,
        accident_rate=accident_rate,
        other_rate=other_rate,
        anniversary_multiplier_pct=anniversary_multiplier_pct,
        points_worth_one_yuan=points_worth_one_yuan,
        note=note.strip(),
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(rules)
    db.session.flush()
    announcements.record("earning_rules", rules.id, effective_from, rules.note, now=now)
    current_app.extensions.pop("carclub.points_worth_one_yuan", None)
    record_audit(
        actor,
        "earning_rules.scheduled",
        subject=rules,
        details={"effective_from": effective_from.isoformat(), "note": rules.note},
        now=now,
    )
    return rules


def withdraw_rules(actor, version_id: int, *, now: datetime | None = None) -> None:
    """Withdraw announced rules before their day (``core.versions.withdraw_version``)."""
    now = now or utcnow()
    row = withdraw_version(actor, EarningRules, version_id, action="earning_rules", now=now)
    announcements.withdrawn("earning_rules", version_id, row.effective_from, now=now)
    current_app.extensions.pop("carclub.points_worth_one_yuan", None)


def rules_in_force_today() -> EarningRules:
    """The rules that apply today."""
    return rules_in_force(local_date(utcnow()))
