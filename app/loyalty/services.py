"""Points accounts and the tier configuration."""

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import ValidationFailed
from app.core.versions import withdraw_version
from app.extensions import db
from app.loyalty.models import (
    ENTRY_SOURCES,
    EntryKind,
    PointsAccount,
    PointsEntry,
    Tier,
    TierSchedule,
)
from app.members import announcements
from app.members.models import Member

TIER_LABELS = {"gold": _l("Gold"), "platinum": _l("Platinum"), "diamond": _l("Diamond")}


def tier_label(code: str) -> str:
    """The tier's name in the user's language."""
    return str(TIER_LABELS.get(code, code))


def list_tiers() -> list[Tier]:
    """Tiers from lowest to highest."""
    return list(db.session.scalars(select(Tier).order_by(Tier.rank)))


def open_account(member: Member, *, now: datetime | None = None) -> PointsAccount:
    """Open the member's points account at the lowest tier; the first review is in a year."""
    from app.loyalty.tiers import first_review_on

    lowest = list_tiers()[0]
    account = PointsAccount(
        member_id=member.id,
        tier_code=lowest.code,
        review_on=first_review_on(local_date(now or utcnow())),
    )
    db.session.add(account)
    db.session.flush()
    return account


def account_for(member: Member) -> PointsAccount:
    """The member's points account."""
    return db.session.scalar(select(PointsAccount).where(PointsAccount.member_id == member.id))


@dataclass
class TierSetting:
    """An admin's new values for one tier."""

    code: str
    threshold_points: int
    multiplier_pct: int


def _check_tier_settings(settings: list[TierSetting]) -> list[TierSetting]:
    """The settings in tier order, or ValidationFailed: higher tiers need more, earn no less."""
    tiers = {t.code: t for t in list_tiers()}
    by_code = {s.code: s for s in settings}
    if set(by_code) != set(tiers):
        raise ValidationFailed(_l("Give values for every tier."))
    ordered = [by_code[t.code] for t in sorted(tiers.values(), key=lambda t: t.rank)]
    if ordered[0].threshold_points != 0:
        raise ValidationFailed(
            _l("The lowest tier starts at 0 points."), field=f"{ordered[0].code}_threshold"
        )
    for lower, higher in itertools.pairwise(ordered):
        if higher.threshold_points <= lower.threshold_points:
            raise ValidationFailed(
                _l("Each tier needs more points than the tier below it."),
                field=f"{higher.code}_threshold",
            )
        if higher.multiplier_pct < lower.multiplier_pct:
            raise ValidationFailed(
                _l("A higher tier cannot earn less than the tier below it."),
                field=f"{higher.code}_multiplier",
            )
    return ordered


def schedule_tiers(
    actor: User,
    settings: list[TierSetting],
    *,
    effective_from: date,
    note: str,
    now: datetime | None = None,
) -> TierSchedule:
    """Announce new thresholds and multipliers; they apply on ``effective_from``, never at once."""
    now = now or utcnow()
    ordered = _check_tier_settings(settings)
    from app.loyalty.rules import check_announcement

    check_announcement(TierSchedule, effective_from, note, now=now)
    schedule = TierSchedule(
        effective_from=effective_from,
        settings={s.code: [s.threshold_points, s.multiplier_pct] for s in ordered},
        note=note.strip(),
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(schedule)
    db.session.flush()
    announcements.record("tiers", schedule.id, effective_from, schedule.note, now=now)
    record_audit(
        actor,
        "tiers.scheduled",
        subject=schedule,
        details={"effective_from": effective_from.isoformat(), "after": schedule.settings},
        now=now,
    )
    return schedule


def withdraw_tiers(actor: User, schedule_id: int, *, now: datetime | None = None) -> None:
    """Withdraw announced thresholds before their day (``core.versions.withdraw_version``)."""
    now = now or utcnow()
    row = withdraw_version(actor, TierSchedule, schedule_id, action="tiers", now=now)
    announcements.withdrawn("tiers", schedule_id, row.effective_from, now=now)


def upcoming_tier_changes(*, now: datetime | None = None) -> list[TierSchedule]:
    """Announced tier changes not applied yet, soonest first."""
    return list(
        db.session.scalars(
            select(TierSchedule)
            .where(TierSchedule.applied_at.is_(None))
            .order_by(TierSchedule.effective_from)
        )
    )


def apply_due_tier_changes(*, now: datetime | None = None) -> int:
    """The daily job: apply every announced change whose day has come; returns how many."""
    now = now or utcnow()
    today = local_date(now)
    due = db.session.scalars(
        select(TierSchedule)
        .where(TierSchedule.applied_at.is_(None), TierSchedule.effective_from <= today)
        .order_by(TierSchedule.effective_from)
        .with_for_update()
    ).all()
    for schedule in due:
        tiers = {t.code: t for t in list_tiers()}
        before = {c: [t.threshold_points, t.multiplier_pct] for c, t in tiers.items()}
        for code, (threshold, multiplier) in schedule.settings.items():
            tiers[code].threshold_points = threshold
            tiers[code].multiplier_pct = multiplier
        schedule.applied_at = now
        db.session.flush()
        record_audit(
            None,
            "tiers.updated",
            subject=schedule,
            details={"before": before, "after": schedule.settings},
            now=now,
        )
    return len(due)


def _source_label(source: str, kind: EntryKind) -> str:
    label = str(ENTRY_SOURCES.get(source, source))
    if kind == EntryKind.REVERSE and source != "debt":
        label = str(_l("Reversed: %(what)s", what=label))
    return label


def describe_entry(entry: PointsEntry, *, labels: dict | None = None) -> str:
    """Why an entry changed the balance, in the member's language; ``labels`` keeps each
    source's translated label for the next entries of the same page."""
    key = (entry.source, entry.kind)
    if labels is None:
        label = _source_label(*key)
    elif (label := labels.get(key)) is None:
        label = labels[key] = _source_label(*key)
    if entry.reference:
        label = f"{label} · {entry.reference}"
    return label


def entry_describer() -> Callable[[PointsEntry], str]:
    """describe_entry for one page in one language: a page of 30 entries has a few sources,
    each translated once rather than once an entry."""
    return functools.partial(describe_entry, labels={})
