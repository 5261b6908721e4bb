"""The points ledger: every change of a balance goes through this module.

Rules (R4): entries are append-only; the balance on the account row changes in the same
transaction as its entry, under a row lock (``SELECT … FOR UPDATE``); the sum of entries equals
the balance, and so does the sum of the lots' remaining points; a balance never goes negative;
points expire 24 months after they were earned, oldest first; replaying an idempotency key
changes nothing. A positive entry is a lot; a debit records which lots it drew from
(allocations), so cancelling it gives back exactly those points.

Each entry names the dealer it is settled with (``dealer_id``, HQ's monthly settlement): the
caller says where points were earned, granted or redeemed; otherwise it is the member's chapter
when the entry is posted. A reversal or refund belongs to the dealer of the entry it undoes.

The ledger is value-dated (R13): expiry is a fact of its date, not of the nightly job. Every
operation that reads an account's lots (earning and the debt it settles, spending, reversals,
refunds of debits, the statement) first records, under the account's lock and in the same
transaction, the expiry that is due as of its ``now`` (:func:`_record_due_expiry`), then acts
on what is left. So a visit refunded on the day its points expire, before the job runs, sees
them expired and does not take them a second time from the owner's other points; the job
only records what no operation has recorded yet. Recording rather than computing around
unposted expiry keeps one figure true everywhere: the balance row equals the sum of entries
and the unspent points of the lots, and every lot it counts is spendable.
`app.loyalty.reconcile` checks these invariants daily.
"""

from datetime import date, datetime
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, func, insert, select, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.core.clock import add_months, local_date, utcnow
from app.core.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.loyalty.models import (
    ENTRY_SOURCES,
    EntryKind,
    PointsAccount,
    PointsAllocation,
    PointsEntry,
)
from app.members.models import Member

EXPIRY_MONTHS = 24


class InsufficientPoints(DomainError):
    """The member has fewer spendable points than asked for."""


def expiry_date(earned_on: date) -> date:
    """The day points earned on ``earned_on`` expire: EXPIRY_MONTHS later (R4)."""
    return add_months(earned_on, EXPIRY_MONTHS)


def _lock_where(column) -> Select:
    return (
        select(PointsAccount)
        .where(column == bindparam("found_by"))
        .with_for_update()
        .execution_options(populate_existing=True)
    )


# Built once: a posting runs these on every earning and spending (issue 19).
_LOCK_BY_ID = _lock_where(PointsAccount.id)
_LOCK_BY_MEMBER = _lock_where(PointsAccount.member_id)


def lock_account(account_id: int, *, by=_LOCK_BY_ID) -> PointsAccount:
    """The account row, locked until the transaction ends."""
    account = db.session.execute(by, {"found_by": account_id}).scalar_one_or_none()
    if account is None:
        raise NotFound(_l("No such points account."))
    return account


def lock_member_account(member_id: int) -> PointsAccount:
    """The member's account row, locked until the transaction ends (one statement)."""
    return lock_account(member_id, by=_LOCK_BY_MEMBER)


def entry_by_key(key: str) -> PointsEntry | None:
    """The entry posted under an idempotency key, if any."""
    return db.session.scalar(select(PointsEntry).where(PointsEntry.idempotency_key == key))


def open_lots(account_id: int, today: date) -> tuple:
    """The conditions of the account's lots with points left and a date still to come."""
    return (
        PointsEntry.account_id == account_id,
        PointsEntry.remaining > 0,
        PointsEntry.expires_on > today,
    )


def _open_lots_query(account_id: int, today: date):
    return select(PointsEntry).where(*open_lots(account_id, today))


def _spendable(account_id, today) -> Select:
    return select(func.coalesce(func.sum(PointsEntry.remaining), 0)).where(
        *open_lots(account_id, today)
    )


def spendable(account_id: int, today: date) -> int:
    """Points of unexpired lots: what the member can spend today."""
    return db.session.scalar(_spendable(account_id, today))


def _draw(debit: PointsEntry, amount: int, today: date, *, first: PointsEntry | None = None) -> int:
    """Take up to ``amount`` from unexpired lots, ``first`` then oldest; record allocations."""
    lots = list(
        db.session.scalars(
            _open_lots_query(debit.account_id, today).order_by(
                PointsEntry.expires_on, PointsEntry.id
            )
        )
    )
    if first is not None and first in lots:
        lots.remove(first)
        lots.insert(0, first)
    taken = 0
    for lot in lots:
        if taken == amount:
            break
        use = min(lot.remaining, amount - taken)
        lot.remaining -= use
        taken += use
        db.session.add(PointsAllocation(debit_id=debit.id, lot_id=lot.id, amount=use))
    return taken


def chapter_of(account: PointsAccount) -> int | None:
    """The dealer chapter the account's member belongs to now."""
    return db.session.scalar(select(Member.dealer_id).where(Member.id == account.member_id))


def _new_entry(
    account: PointsAccount,
    delta: int,
    kind: EntryKind,
    source: str,
    now,
    *,
    flush: bool = True,
    **fields,
):
    if source not in ENTRY_SOURCES:
        raise ValueError(f"ledger source {source!r} has no label in ENTRY_SOURCES")
    if fields.get("dealer_id") is None:
        fields["dealer_id"] = chapter_of(account)
    entry = PointsEntry(
        account_id=account.id, delta=delta, kind=kind, source=source, created_at=now, **fields
    )
    account.balance += delta
    db.session.add(entry)
    if flush:
        db.session.flush()
    return entry


_ENTRIES = PointsEntry.__table__
_ACCOUNTS = PointsAccount.__table__
# Built once: every earning runs them (issue 19), as Core statements rather than a flush.
_INSERT_ENTRY = insert(_ENTRIES).returning(_ENTRIES.c.id)
_WRITE_ACCOUNT = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("account_id"))
    .values(balance=bindparam("new_balance"), qualifying_points=bindparam("new_qualifying"))
)


def _new_lot(
    account: PointsAccount, delta: int, kind: EntryKind, source: str, now, **fields
) -> PointsEntry:
    """A positive entry (a lot) inserted by one statement; the session holds it as a loaded
    entry, as ``_new_entry`` would leave it after its flush. ``account.balance`` is raised
    here and written by ``_write_account``."""
    if source not in ENTRY_SOURCES:
        raise ValueError(f"ledger source {source!r} has no label in ENTRY_SOURCES")
    if fields.get("dealer_id") is None:
        fields["dealer_id"] = chapter_of(account)
    values = {
        "account_id": account.id,
        "delta": delta,
        "kind": kind,
        "source": source,
        "created_at": now,
        "remaining": delta,
        "expires_on": expiry_date(local_date(now)),
        "reversed_at": None,
        "reverses_id": None,
        **fields,
    }
    values["id"] = db.session.execute(_INSERT_ENTRY, values).scalar_one()
    entry = PointsEntry(**values)
    make_transient_to_detached(entry)
    db.session.add(entry)
    account.balance += delta
    return entry


def _write_account(account: PointsAccount) -> None:
    """Write the locked account's balance and qualifying points with one UPDATE; the session's
    copy is left clean, as after a flush."""
    values = {
        "account_id": account.id,
        "new_balance": account.balance,
        "new_qualifying": account.qualifying_points,
    }
    with db.session.no_autoflush:  # not the account's pending change first: it is this one
        db.session.execute(_WRITE_ACCOUNT, values)
    for name in ("balance", "qualifying_points"):
        set_committed_value(account, name, getattr(account, name))


@cache
def _facts_query(*, spending: bool, qualifying: bool) -> Select:
    """What a posting reads of the locked account in one statement: the entry already posted
    under its key, how many lots are past their date unrecorded, and what it needs of the
    spendable points (spending) or of the qualifying points in the tier's window (an earning
    that counts for the tier). Read after the lock, so it sees every posting before it."""
    account = bindparam("account_id")
    facts = [
        select(PointsEntry.id)
        .where(PointsEntry.idempotency_key == bindparam("key"))
        .scalar_subquery()
        .label("existing"),
        select(func.count(PointsEntry.id))
        .where(
            PointsEntry.account_id == account,
            PointsEntry.remaining > 0,
            PointsEntry.expires_on <= bindparam("today"),
        )
        .scalar_subquery()
        .label("overdue"),
    ]
    if spending:
        facts.append(_spendable(account, bindparam("today")).scalar_subquery().label("spendable"))
    if qualifying:
        facts.append(
            _qualifying(account, bindparam("since"), bindparam("until"))
            .scalar_subquery()
            .label("qualifying")
        )
    return select(*facts)


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
    dealer_id: int | None = None,
    now: datetime | None = None,
) -> PointsEntry:
    """Add points (delta > 0: a new lot) or take them (delta < 0: oldest lots first).

    ``qualifying`` earnings count for the tier. ``dealer_id`` is the dealer the entry is
    settled with (default: the member's chapter). Returns the existing entry, unchanged, when
    ``key`` was posted before.
    """
    return _post(
        _LOCK_BY_ID,
        account_id,
        delta,
        kind=kind,
        source=source,
        key=key,
        reference=reference,
        qualifying=qualifying,
        reason=reason,
        actor=actor,
        dealer_id=dealer_id,
        now=now,
    )


def post_member_points(member_id: int, delta: int, **posting) -> PointsEntry:
    """``post_points`` to the member's account, which the lock itself finds (one statement
    less for a caller that knows the member, not the account)."""
    return _post(_LOCK_BY_MEMBER, member_id, delta, **posting)


def _post(
    lock,
    found_by: int,
    delta: int,
    *,
    kind: EntryKind,
    source: str,
    key: str | None = None,
    reference: str | None = None,
    qualifying: bool = False,
    reason: str = "",
    actor=None,
    dealer_id: int | None = None,
    now: datetime | None = None,
) -> PointsEntry:
    if delta == 0:
        raise Conflict(_l("A ledger entry must change the balance."))
    now = now or utcnow()
    today = local_date(now)
    account = lock_account(found_by, by=lock)
    earning_for_tier = qualifying and delta > 0
    params = {"account_id": account.id, "key": key, "today": today}
    if earning_for_tier:
        from app.loyalty.tiers import window_start

        params.update(since=window_start(today), until=now)
    facts = db.session.execute(
        _facts_query(spending=delta < 0, qualifying=earning_for_tier), params
    ).one()
    if facts.existing is not None:
        return db.session.get(PointsEntry, facts.existing)
    if facts.overdue:
        _record_due_expiry(account, now)
    fields = {
        "idempotency_key": key,
        "reference": reference,
        "reason": reason,
        "actor_id": getattr(actor, "id", None),
        "dealer_id": dealer_id,
    }
    if delta > 0:
        entry = _new_lot(
            account, delta, kind, source, now, qualifying_delta=delta if qualifying else 0, **fields
        )
        if earning_for_tier:
            from app.loyalty.tiers import refresh_tier

            # The new entry is in the window: the qualifying points are those before it and it.
            refresh_tier(account, now=now, points=facts.qualifying + delta)
        _write_account(account)
        _settle_debt(account, now)
        return entry
    if facts.spendable < -delta:
        raise InsufficientPoints(_l("Not enough points: %(have)s available.", have=facts.spendable))
    entry = _new_entry(account, delta, kind, source, now, **fields)
    _draw(entry, -delta, today)
    db.session.flush()
    return entry


def _settle_debt(account: PointsAccount, now: datetime) -> None:
    """Points still owed from a reversal are taken from the balance as soon as there are some.

    Each settling entry belongs to the dealer of the earning whose reversal left the debt (as
    any reversal does, see app.hq.settlement) and points at that earning (``reverses_id``);
    several debts are settled oldest reversal first. Debt that no reversed earning accounts
    for (settled before entries were tagged) goes to the owner's chapter, as it used to."""
    if account.debt == 0:
        return
    today = local_date(now)
    settle = min(account.debt, spendable(account.id, today))
    for original, owed in _owed_reversals(account.id):
        if settle == 0:
            return
        part = min(owed, settle)
        _post_settlement(account, part, now, today, original)
        settle -= part
    if settle:
        _post_settlement(account, settle, now, today, None)


def _post_settlement(
    account, points: int, now, today, original: PointsEntry | None, *, from_lot: bool = False
) -> None:
    """Settle ``points`` of the account's debt on behalf of ``original``: from the balance's
    open lots, or (``from_lot``) from the points just given back to ``original`` itself."""
    entry = _new_entry(
        account,
        -points,
        EntryKind.REVERSE,
        "debt",
        now,
        reason="settles points owed from an earlier reversal",
        reference=getattr(original, "reference", None),
        reverses_id=getattr(original, "id", None),
        dealer_id=getattr(original, "dealer_id", None),
    )
    if from_lot:
        original.remaining -= points
        db.session.add(PointsAllocation(debit_id=entry.id, lot_id=original.id, amount=points))
    else:
        _draw(entry, points, today)
    account.debt -= points
    db.session.flush()


def _owed_reversals(account_id: int) -> list[tuple[PointsEntry, int]]:
    """The account's reversed earnings whose points are still partly owed, oldest reversal
    first, each with what it still owes: its points, less those that had expired, less what
    its reversal and the settlements pointing at it took."""
    reversed_earnings = db.session.scalars(
        select(PointsEntry)
        .where(PointsEntry.account_id == account_id, PointsEntry.reversed_at.is_not(None))
        .order_by(PointsEntry.reversed_at, PointsEntry.id)
    ).all()
    if not reversed_earnings:
        return []
    ids = [e.id for e in reversed_earnings]
    taken = dict(
        db.session.execute(
            select(PointsEntry.reverses_id, func.sum(-PointsEntry.delta))
            .where(PointsEntry.reverses_id.in_(ids))
            .group_by(PointsEntry.reverses_id)
        ).all()
    )
    expired = dict(
        db.session.execute(
            select(PointsAllocation.lot_id, func.sum(PointsAllocation.amount))
            .join(PointsEntry, PointsEntry.id == PointsAllocation.debit_id)
            .where(PointsAllocation.lot_id.in_(ids), PointsEntry.kind == EntryKind.EXPIRE)
            .group_by(PointsAllocation.lot_id)
        ).all()
    )
    owed = [(e, e.delta - expired.get(e.id, 0) - taken.get(e.id, 0)) for e in reversed_earnings]
    return [(e, points) for e, points in owed if points > 0]


def reverse_entry(
    entry_id: int, *, reason: str, actor=None, now: datetime | None = None
) -> PointsEntry | None:
    """Take back exactly what a positive entry gave, once (a refunded or corrected visit).

    Its own unspent points go first, then the oldest others; what the balance cannot cover
    becomes a debt that later earnings settle, so the balance never goes negative and the owner
    never keeps the points. The reversed points stop counting for the tier. Returns the reversal
    entry (None when nothing could be taken yet).
    """
    now = now or utcnow()
    today = local_date(now)
    found = db.session.get(PointsEntry, entry_id)
    if found is None or found.delta <= 0 or found.remaining is None:
        raise NotFound(_l("No such earning to reverse."))
    account = lock_account(found.account_id)
    # Re-read under the lock: a concurrent reversal may have just committed.
    original = db.session.get(PointsEntry, entry_id, populate_existing=True)
    key = f"reverse:{original.id}"
    if original.reversed_at is not None:
        return entry_by_key(key)
    # Value-dated: points of this earning past their date expired today at the latest.
    _record_due_expiry(account, now)
    original.reversed_at = now
    # Points of this earning that already expired are gone: they are not taken a second time.
    expired = db.session.scalar(
        select(func.coalesce(func.sum(PointsAllocation.amount), 0))
        .join(PointsEntry, PointsEntry.id == PointsAllocation.debit_id)
        .where(PointsAllocation.lot_id == original.id, PointsEntry.kind == EntryKind.EXPIRE)
    )
    wanted = original.delta - expired
    taken = min(wanted, spendable(account.id, today))
    account.debt += wanted - taken
    entry = None
    if taken:
        entry = _new_entry(
            account,
            -taken,
            EntryKind.REVERSE,
            original.source,
            now,
            idempotency_key=key,
            reference=original.reference,
            reason=reason,
            actor_id=getattr(actor, "id", None),
            reverses_id=original.id,
            dealer_id=original.dealer_id,
        )
        _draw(entry, taken, today, first=original)
    db.session.flush()
    if original.qualifying_delta:
        from app.loyalty.tiers import correct_tier_after_reversal

        correct_tier_after_reversal(account, original, now=now)
    return entry


def refund_debit(
    debit_id: int, *, key: str, reason: str, actor=None, now: datetime | None = None
) -> PointsEntry:
    """Give back exactly the points a debit took, to the lots they came from (once per key)."""
    now = now or utcnow()
    debit = db.session.get(PointsEntry, debit_id)
    if debit is None or debit.delta >= 0:
        raise NotFound(_l("No such debit to refund."))
    account = lock_account(debit.account_id)
    if (existing := entry_by_key(key)) is not None:
        return existing
    allocations = db.session.scalars(
        select(PointsAllocation).where(PointsAllocation.debit_id == debit.id)
    ).all()
    returned = []
    for allocation in allocations:
        lot = db.session.get(PointsEntry, allocation.lot_id)
        lot.remaining += allocation.amount
        returned.append((lot, allocation.amount))
    entry = _new_entry(
        account,
        -debit.delta,
        EntryKind.REVERSE,
        debit.source,
        now,
        idempotency_key=key,
        reference=debit.reference,
        reason=reason,
        actor_id=getattr(actor, "id", None),
        reverses_id=debit.id,
        dealer_id=debit.dealer_id,
    )
    # Points given back to a reversed earning are the very points its reversal wanted: they
    # settle what it still owes first, whatever their date, and neither expire nor leave the
    # debt to be taken again from later earnings.
    owed = {original.id: points for original, points in _owed_reversals(account.id)}
    for lot, amount in returned:
        part = min(owed.get(lot.id, 0), amount, account.debt)
        if part:
            _post_settlement(account, part, now, local_date(now), lot, from_lot=True)
            owed[lot.id] -= part
    # Other points given back to lots that have meanwhile passed their date expire at once.
    _record_due_expiry(account, now)
    _settle_debt(account, now)
    return entry


def forfeit_points(account_id: int, *, reason: str, actor=None, now: datetime | None = None) -> int:
    """Close an account's balance (its owner deleted their account); returns the points taken.

    Lots past their date expire first (an ordinary expiry entry), then every point left is
    taken by one ``expire`` entry of source ``forfeit``: like expiry, forfeited points were
    funded by the dealer that issued them and never redeemed, so HQ's settlement shows them on
    its "expired" line and the books balance. Replaying it takes nothing more.
    """
    now = now or utcnow()
    expire_account(account_id, now=now)
    account = lock_account(account_id)
    if account.balance == 0:
        return 0
    points = account.balance
    post_points(
        account_id,
        -points,
        kind=EntryKind.EXPIRE,
        source="forfeit",
        reason=reason,
        actor=actor,
        now=now,
    )
    return points


def accounts_with_expired_lots(*, now: datetime | None = None) -> list[int]:
    """Accounts holding lots whose expiry date has come, by id (the daily job's work list)."""
    today = local_date(now or utcnow())
    return list(
        db.session.scalars(
            select(PointsEntry.account_id)
            .where(PointsEntry.remaining > 0, PointsEntry.expires_on <= today)
            .distinct()
            .order_by(PointsEntry.account_id)
        )
    )


def expire_account(account_id: int, *, now: datetime | None = None) -> int:
    """Expire one account's lots whose date has come; returns the points expired."""
    now = now or utcnow()
    return _record_due_expiry(lock_account(account_id), now)


def _record_due_expiry(account: PointsAccount, now: datetime) -> int:
    """Post the expiry of the locked account's lots whose date has come, as of ``now``."""
    today = local_date(now)
    lots = db.session.scalars(
        select(PointsEntry).where(
            PointsEntry.account_id == account.id,
            PointsEntry.remaining > 0,
            PointsEntry.expires_on <= today,
        )
    ).all()
    amount = sum(lot.remaining for lot in lots)
    if amount == 0:
        return 0
    entry = _new_entry(
        account, -amount, EntryKind.EXPIRE, "expiry", now, reason="points older than 24 months"
    )
    for lot in lots:
        db.session.add(PointsAllocation(debit_id=entry.id, lot_id=lot.id, amount=lot.remaining))
        lot.remaining = 0
    db.session.flush()
    return amount


def expire_points(*, now: datetime | None = None) -> int:
    """Expire every lot whose date has come (safe to rerun); returns the points expired."""
    return sum(expire_account(a, now=now) for a in accounts_with_expired_lots(now=now))


def _qualifying(account_id, since, until) -> Select:
    return select(func.coalesce(func.sum(PointsEntry.qualifying_delta), 0)).where(
        PointsEntry.account_id == account_id,
        PointsEntry.qualifying_delta > 0,
        PointsEntry.reversed_at.is_(None),
        PointsEntry.created_at >= since,
        PointsEntry.created_at <= until,
    )


def qualifying_points(account_id: int, *, since: datetime, until: datetime) -> int:
    """Points that count for the tier, earned in [since, until] and not reversed."""
    return db.session.scalar(_qualifying(account_id, since, until))
