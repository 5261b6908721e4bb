"""Tiers from qualifying points of the trailing 12 months (R2).

Upgrades apply at once, with an in-app message. A tier goes down only at the member's annual
review, and by one tier at most. Spending points never lowers the tier.
"""

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.caches import ProcessCache
from app.core.clock import add_months, local_date, local_midnight, utcnow
from app.extensions import db
from app.loyalty.ledger import lock_account, qualifying_points
from app.loyalty.models import PointsAccount, Tier, TierChange
from app.loyalty.services import list_tiers, tier_label
from app.members.inbox import notify
from app.members.models import Member

WINDOW_MONTHS = 12
REVIEW_MONTHS = 12


@dataclass(frozen=True)
class TierFigures:
    """A tier's figures as the rules below read them (a copy: no session holds it)."""

    code: str
    rank: int
    threshold_points: int
    multiplier_pct: int


# Every earning that counts for the tier reads them; they change a few times a year.
TIERS = ProcessCache("tiers", ttl=60, watches=(Tier,))
_TIER_FIGURES = select(Tier.code, Tier.rank, Tier.threshold_points, Tier.multiplier_pct).order_by(
    Tier.rank
)


def tier_table() -> tuple[TierFigures, ...]:
    """The tiers' figures, lowest first (kept per process; forgotten when a tier changes)."""
    return TIERS.get(
        "all", lambda: tuple(TierFigures(*row) for row in db.session.execute(_TIER_FIGURES))
    )


def tier_ranks() -> dict[str, int]:
    """Each tier's code and rank, from the database: a higher rank is a better tier."""
    return dict(db.session.execute(select(Tier.code, Tier.rank)).all())


def tier_at_least(
    code: str | None, minimum: str | None, *, ranks: dict[str, int] | None = None
) -> bool:
    """True when tier ``code`` is ``minimum`` or a better tier; no minimum admits every tier.

    An unknown code on either side is refused (False), never guessed. ``ranks`` (from
    :func:`tier_ranks`) spares the query when a list checks many items."""
    if not minimum:
        return True
    ranks = tier_ranks() if ranks is None else ranks
    if code not in ranks or minimum not in ranks:
        return False
    return ranks[code] >= ranks[minimum]


def tier_for(points: int, tiers: list[Tier]) -> Tier:
    """The highest tier whose threshold ``points`` reach."""
    for tier in reversed(tiers):
        if tier.threshold_points <= points:
            return tier
    raise ValueError("the lowest tier starts at 0 points")


# The rules below take the tiers from the lowest up and decide without the database, so the
# services here and the bench's set-based generator (bench/seed.py) share them.


def upgrade_for(current: Tier, points: int, tiers: list[Tier]) -> Tier | None:
    """The higher tier ``points`` reach, if any: an upgrade applies at once."""
    target = tier_for(points, tiers)
    return target if target.rank > current.rank else None


def review_outcome(current: Tier, points: int, tiers: list[Tier]) -> tuple[Tier, str] | None:
    """The annual review's change as ``(tier, reason)``: up to the tier ``points`` reach
    ("upgrade") or down by one tier at most ("annual_review"); None keeps the tier."""
    target = tier_for(points, tiers)
    if target.rank > current.rank:
        return target, "upgrade"
    if target.rank < current.rank:
        return next(t for t in tiers if t.rank == current.rank - 1), "annual_review"
    return None


def corrected_tier(current: Tier, points: int, floor: Tier, tiers: list[Tier]) -> Tier | None:
    """After an earning is reversed: the lower tier the remaining ``points`` support, never
    below ``floor`` (the tier before the upgrade that earning brought); None to stay."""
    supported = tier_for(points, tiers)
    target = supported if supported.rank > floor.rank else floor
    return target if target.rank < current.rank else None


def window_start(day: date) -> datetime:
    """Where the 12 months of qualifying points counted on ``day`` begin."""
    return local_midnight(add_months(day, -WINDOW_MONTHS))


def first_review_on(opened_on: date) -> date:
    """An account's first annual review: a year after it was opened."""
    return add_months(opened_on, REVIEW_MONTHS)


def next_review_on(review_on: date, today: date) -> date:
    """The review after ``today``: ``review_on`` moved on by whole years."""
    while review_on <= today:
        review_on = add_months(review_on, REVIEW_MONTHS)
    return review_on


def trailing_qualifying(account_id: int, now: datetime) -> int:
    """Qualifying points earned in the 12 months up to ``now``."""
    return qualifying_points(account_id, since=window_start(local_date(now)), until=now)


def _change(account: PointsAccount, to: Tier, reason: str, points: int, now: datetime) -> None:
    change = TierChange(
        account_id=account.id,
        from_code=account.tier_code,
        to_code=to.code,
        reason=reason,
        qualifying_points=points,
        at=now,
    )
    db.session.add(change)
    account.tier_code = to.code
    db.session.flush()
    member = db.session.get(Member, account.member_id)

    if reason == "upgrade":
        render = lambda: (  # noqa: E731
            _l("Welcome to %(tier)s!", tier=tier_label(to.code)),
            _l("You reached %(points)s qualifying points: you now earn faster.", points=points),
        )
    elif reason == "correction":
        render = lambda: (  # noqa: E731
            _l("Your tier is now %(tier)s", tier=tier_label(to.code)),
            _l("A refunded or corrected visit no longer counts for your tier."),
        )
    else:
        render = lambda: (  # noqa: E731
            _l("Your tier is now %(tier)s", tier=tier_label(to.code)),
            _l(
                "At your annual review you had %(points)s qualifying points in the last 12 months.",
                points=points,
            ),
        )
    notify(member, f"tier_{reason}", render, dedupe_key=f"tier-change:{change.id}", now=now)


def refresh_tier(
    account: PointsAccount, *, now: datetime | None = None, points: int | None = None
) -> None:
    """Recount the qualifying points (or take ``points``, the ledger's count of them) and
    upgrade at once if a higher tier is reached."""
    now = now or utcnow()
    tiers = tier_table()
    if points is None:
        points = trailing_qualifying(account.id, now)
    account.qualifying_points = points
    current = next(t for t in tiers if t.code == account.tier_code)
    target = upgrade_for(current, points, tiers)
    if target is not None:
        _change(account, target, "upgrade", points, now)


def correct_tier_after_reversal(account: PointsAccount, reversed_entry, *, now: datetime) -> None:
    """Undo an upgrade that only a now-reversed earning had brought (never below its start)."""
    tiers = tier_table()
    points = trailing_qualifying(account.id, now)
    account.qualifying_points = points
    current = next(t for t in tiers if t.code == account.tier_code)
    if tier_for(points, tiers).rank >= current.rank:
        return
    upgrade = db.session.scalar(
        select(TierChange)
        .where(
            TierChange.account_id == account.id,
            TierChange.reason == "upgrade",
            TierChange.at >= reversed_entry.created_at,
        )
        .order_by(TierChange.at, TierChange.id)
        .limit(1)
    )
    if upgrade is None:
        return
    floor = next(t for t in tiers if t.code == upgrade.from_code)
    target = corrected_tier(current, points, floor, tiers)
    if target is not None:
        _change(account, target, "correction", points, now)


def accounts_due_for_review(*, now: datetime | None = None) -> list[int]:
    """Accounts whose annual review day has come, by id."""
    today = local_date(now or utcnow())
    return list(
        db.session.scalars(
            select(PointsAccount.id)
            .where(PointsAccount.review_on <= today)
            .order_by(PointsAccount.id)
        )
    )


def review_account(account_id: int, *, now: datetime | None = None) -> bool:
    """One member's annual review: keep, gain, or lose one tier; True when the tier changed."""
    now = now or utcnow()
    today = local_date(now)
    tiers = tier_table()
    account = lock_account(account_id)
    if account.review_on is None or account.review_on > today:
        return False
    points = trailing_qualifying(account.id, now)
    account.qualifying_points = points
    current = next(t for t in tiers if t.code == account.tier_code)
    outcome = review_outcome(current, points, tiers)
    if outcome is not None:
        _change(account, *outcome, points, now)
    account.review_on = next_review_on(account.review_on, today)
    db.session.flush()
    return outcome is not None


def run_annual_reviews(*, now: datetime | None = None) -> int:
    """Every review due today (safe to rerun); returns how many tiers changed."""
    return sum(review_account(a, now=now) for a in accounts_due_for_review(now=now))


@dataclass(frozen=True)
class TierStatus:
    """What the "my tier" page explains."""

    tier: Tier
    qualifying: int
    next_tier: Tier | None
    to_next: int
    review_on: date | None
    counted_at_review: int
    to_keep: int
    lower_tier: Tier | None


def tier_status(account: PointsAccount, *, now: datetime | None = None) -> TierStatus:
    """Why the member holds their tier, and exactly what keeps it or reaches the next."""
    now = now or utcnow()
    tiers = list_tiers()
    current = next(t for t in tiers if t.code == account.tier_code)
    qualifying = trailing_qualifying(account.id, now)
    higher = [t for t in tiers if t.rank > current.rank]
    lower = [t for t in tiers if t.rank < current.rank]
    next_tier = higher[0] if higher else None
    counted = 0
    if account.review_on is not None:
        # Points earned since this date still count on the review day.
        counted = qualifying_points(account.id, since=window_start(account.review_on), until=now)
    return TierStatus(
        tier=current,
        qualifying=qualifying,
        next_tier=next_tier,
        to_next=max(0, next_tier.threshold_points - qualifying) if next_tier else 0,
        review_on=account.review_on,
        counted_at_review=counted,
        to_keep=max(0, current.threshold_points - counted),
        lower_tier=lower[-1] if lower else None,
    )
