"""The points ledger: every change of a balance goes through :func:`post_points`.

Rules (R4): entries are append-only; the balance on the account row changes in the same
transaction as its entry, under a row lock; the sum of entries equals the balance, and so does
the sum of the lots' remaining points; a balance never goes negative; points expire 24 months
after they were earned, oldest first; replaying an idempotency key changes nothing.
"""

from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.loyalty.models import EntryKind, PointsAccount, PointsEntry

EXPIRY_MONTHS = 24


class InsufficientPoints(DomainError):
    """The member has fewer spendable points than asked for."""


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def lock_account(account_id: int) -> PointsAccount:
    """The account row, locked until the transaction ends (``SELECT … FOR UPDATE``)."""
    account = db.session.execute(
        select(PointsAccount)
        .where(PointsAccount.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if account is None:
        raise NotFound(_l("No such points account."))
    return account


def entry_by_key(key: str) -> PointsEntry | None:
    """The entry posted under an idempotency key, if any."""
    return db.session.scalar(select(PointsEntry).where(PointsEntry.idempotency_key == key))


def _open_lots(account_id: int, today: date, *, first: PointsEntry | None = None):
    lots = db.session.scalars(
        select(PointsEntry)
        .where(
            PointsEntry.account_id == account_id,
            PointsEntry.remaining > 0,
            PointsEntry.expires_on > today,
        )
        .order_by(PointsEntry.expires_on, PointsEntry.id)
    ).all()
    if first is not None and first in lots:
        lots.remove(first)
        lots.insert(0, first)
    return lots


def spendable(account_id: int, today: date) -> int:
    """Points of unexpired lots: what the member can spend today."""
    return db.session.scalar(
        select(func.coalesce(func.sum(PointsEntry.remaining), 0)).where(
            PointsEntry.account_id == account_id,
            PointsEntry.remaining > 0,
            PointsEntry.expires_on > today,
        )
    )


def _draw(account: PointsAccount, amount: int, today: date, *, first=None) -> int:
    """Take up to ``amount`` points from the lots, oldest first; return how many were taken."""
    taken = 0
    for lot in _open_lots(account.id, today, first=first):
        if taken == amount:
            break
        use = min(lot.remaining, amount - taken)
        lot.remaining -= use
        taken += use
    return taken


def _entry(account, delta, kind, source, *, key, reference, reason, actor, now, **extra):
    entry = PointsEntry(
        account_id=account.id,
        delta=delta,
        kind=kind,
        source=source,
        idempotency_key=key,
        reference=reference,
        reason=reason,
        actor_id=getattr(actor, "id", None),
        created_at=now,
        **extra,
    )
    account.balance += delta
    db.session.add(entry)
    return entry


def post_points(
    account_id: int,
    delta: int,
    *,
    kind: EntryKind,
    source: str,
    key: str | None = None,
    reference: str | None = None,
    qualifying: bool = False,
    reason: str = "",
    actor=None,
    now: datetime | None = None,
) -> PointsEntry:
    """Add (delta > 0, a new lot) or take (delta < 0, oldest lots first) points.

    Returns the existing entry, unchanged, when ``key`` was posted before.
    """
    if delta == 0:
        raise Conflict(_l("A ledger entry must change the balance."))
    now = now or utcnow()
    today = local_date(now)
    account = lock_account(account_id)
    if key is not None and (existing := entry_by_key(key)) is not None:
        return existing
    if delta > 0:
        entry = _entry(
            account,
            delta,
            kind,
            source,
            key=key,
            reference=reference,
            reason=reason,
            actor=actor,
            now=now,
            qualifying=qualifying,
            remaining=delta,
            expires_on=add_months(today, EXPIRY_MONTHS),
        )
        if qualifying:
            account.qualifying_points += delta
        db.session.flush()
        _settle_debt(account, entry, now)
        return entry
    if spendable(account.id, today) < -delta:
        raise InsufficientPoints(
            _l("Not enough points: %(have)s available.", have=spendable(account.id, today))
        )
    _draw(account, -delta, today)
    entry = _entry(
        account,
        delta,
        kind,
        source,
        key=key,
        reference=reference,
        reason=reason,
        actor=actor,
        now=now,
    )
    db.session.flush()
    return entry


def _settle_debt(account: PointsAccount, lot: PointsEntry, now: datetime) -> None:
    """Points owed from an earlier reversal are taken from a new lot first."""
    if account.debt == 0:
        return
    settle = min(account.debt, lot.remaining)
    lot.remaining -= settle
    account.debt -= settle
    _entry(
        account,
        -settle,
        EntryKind.REVERSE,
        "debt",
        key=f"debt:{lot.id}",
        reference=None,
        reason="settles points owed from an earlier reversal",
        actor=None,
        now=now,
    )
    db.session.flush()


def reverse_entry(
    entry_id: int, *, reason: str, actor=None, now: datetime | None = None
) -> PointsEntry | None:
    """Take back exactly what a positive entry gave, once.

    Points already spent are taken from other lots; what the balance cannot cover becomes
    a debt that later earnings settle, so the balance never goes negative.
    Returns the reversal entry (None when nothing could be taken now).
    """
    now = now or utcnow()
    today = local_date(now)
    original = db.session.get(PointsEntry, entry_id)
    if original is None or original.delta <= 0:
        raise NotFound(_l("No such earning to reverse."))
    account = lock_account(original.account_id)
    key = f"reverse:{original.id}"
    if (existing := entry_by_key(key)) is not None:
        return existing
    # Take the lot's own unspent points first, then the oldest others.
    own = min(original.remaining or 0, original.delta) if original.expires_on > today else 0
    original.remaining -= own
    taken = own + _draw(account, original.delta - own, today)
    account.debt += original.delta - taken
    if original.qualifying:
        account.qualifying_points = max(0, account.qualifying_points - original.delta)
    if taken == 0:
        # Nothing to take now: the debt records it; a zero entry would break the ledger.
        db.session.flush()
        return None
    entry = _entry(
        account,
        -taken,
        EntryKind.REVERSE,
        original.source,
        key=key,
        reference=original.reference,
        reason=reason,
        actor=actor,
        now=now,
        reverses_id=original.id,
    )
    db.session.flush()
    return entry


def expire_points(*, now: datetime | None = None) -> int:
    """Expire every lot whose date has come (a daily job); returns the points expired."""
    now = now or utcnow()
    today = local_date(now)
    account_ids = db.session.scalars(
        select(PointsEntry.account_id)
        .where(PointsEntry.remaining > 0, PointsEntry.expires_on <= today)
        .distinct()
    ).all()
    total = 0
    for account_id in account_ids:
        account = lock_account(account_id)
        lots = db.session.scalars(
            select(PointsEntry).where(
                PointsEntry.account_id == account_id,
                PointsEntry.remaining > 0,
                PointsEntry.expires_on <= today,
            )
        ).all()
        amount = sum(lot.remaining for lot in lots)
        if amount == 0:
            continue
        for lot in lots:
            lot.remaining = 0
        _entry(
            account,
            -amount,
            EntryKind.EXPIRE,
            "expiry",
            key=f"expire:{account_id}:{today.isoformat()}",
            reference=None,
            reason="points older than 24 months",
            actor=None,
            now=now,
        )
        total += amount
        db.session.flush()
    return total


def expiring_soon(account_id: int, *, days: int = 60, now: datetime | None = None) -> int:
    """Points that expire within ``days`` (shown on the card)."""
    today = local_date(now or utcnow())
    return db.session.scalar(
        select(func.coalesce(func.sum(PointsEntry.remaining), 0)).where(
            PointsEntry.account_id == account_id,
            PointsEntry.remaining > 0,
            PointsEntry.expires_on > today,
            PointsEntry.expires_on <= today + timedelta(days=days),
        )
    )
