"""Monthly points settlement between HQ and each dealer (seed 004: 总部积分买单, 经销商与总部
进行积分结算).

Every ledger entry names the dealer it is settled with (``PointsEntry.dealer_id``, fixed when it
was posted: the dealer of the service visit, the referral, the event, the goodwill grant, the
voucher; a reversal, and the later settlement of points it left owed, the dealer of the
entry it undoes; otherwise the member's chapter at the time). A month is a calendar month in
the club's time zone; an entry belongs to the month it was posted in, so a reversal in December
changes December's statement, never November's.

Each entry falls in exactly one line of its dealer's statement:

========================  ==========================================  =================
line                      entries                                     funded by
========================  ==========================================  =================
earned                    ``earn`` (visits, referrals, events)        the dealer
goodwill                  ``adjust`` (either sign)                    the dealer
reversed                  ``reverse`` taking points back (< 0):       the dealer
                          refunded visits and what they still owed
redeemed                  ``redeem`` (vouchers, event deposits)       HQ
returned                  ``reverse`` giving points back (> 0):       HQ
                          cancelled vouchers, returned deposits
expired                   ``expire`` (expiry, and the balance an      nobody: breakage
                          owner forfeits by deleting their account)
========================  ==========================================  =================

**Funding rule.** A dealer funds the points it issues (earned + goodwill − reversed); HQ funds
the points redeemed at a dealer (redeemed − returned), as HQ buys the club's points (积分买单).
Net = value of points redeemed at the dealer − value of points it issued: positive, HQ pays the
dealer; negative, the dealer pays HQ. Expired points were funded when issued and never
redeemed: they are shown, but settle nothing (the breakage stays with HQ).

Points are valued at the point value in force on the month's last day (today for the current
month), each line rounded half up to the fen; net = the two values' difference, so the printed
figures add up. Reconciliation: issued − redeemed − expired = the month's change of every
balance = the sum of the month's entries, and the dealers' statements add up to the ledger's
month totals, to the point.
"""

from dataclasses import dataclass, fields
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, literal_column, select, union_all

from app.auth.models import User
from app.core.clock import local_date, utcnow
from app.core.money import yuan
from app.core.reports import Column, Report, Table, chart, row
from app.extensions import db
from app.hq.months import Month, current_month
from app.loyalty.models import EntryKind, PointsAccount, PointsEntry
from app.loyalty.rules import rules_in_force
from app.members.models import Member
from app.members.scope import dealer_scope, scoped_dealers


@dataclass
class Lines:
    """A statement's lines in points (each a positive figure unless entries net negative)."""

    earned: int = 0
    goodwill: int = 0
    reversed: int = 0
    redeemed: int = 0
    returned: int = 0
    expired: int = 0
    entries: int = 0

    def __add__(self, other: "Lines") -> "Lines":
        return Lines(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def issued(self) -> int:
        """Points the dealer issued, net of reversals: what it funds."""
        return self.earned + self.goodwill - self.reversed

    @property
    def redeemed_net(self) -> int:
        """Points redeemed at the dealer, net of those given back: what HQ funds."""
        return self.redeemed - self.returned

    @property
    def balance_change(self) -> int:
        """What the month's entries did to the balances: issued − redeemed − expired."""
        return self.issued - self.redeemed_net - self.expired


def value_fen(points: int, points_worth_one_yuan: int) -> int:
    """``points`` in fen at ``points_worth_one_yuan`` points = ¥1, rounded half up (away from 0)."""
    sign = -1 if points < 0 else 1
    return sign * ((abs(points) * 200 + points_worth_one_yuan) // (2 * points_worth_one_yuan))


def valuation_day(month: Month, now: datetime):
    """The day whose point value prices the month: its last day, or today for this month."""
    return min(month.last, local_date(now))


def _line():
    """The statement line of an entry, as SQL (see the module's table)."""
    kind = PointsEntry.kind
    return case(
        (kind == EntryKind.EARN, "earned"),
        (kind == EntryKind.ADJUST, "goodwill"),
        (kind == EntryKind.REDEEM, "redeemed"),
        (kind == EntryKind.EXPIRE, "expired"),
        (PointsEntry.delta < 0, "reversed"),
        else_="returned",
    )


KIND_LABELS = {
    EntryKind.EARN: _l("earned"),
    EntryKind.REDEEM: _l("redeemed"),
    EntryKind.EXPIRE: _l("expired"),
    EntryKind.REVERSE: _l("reversal"),
    EntryKind.ADJUST: _l("goodwill"),
}

# What each ledger source is, in words (an unknown source shows as it is stored).
SOURCE_LABELS = {
    "service_visit": _l("Service visits"),
    "referral": _l("Referrals"),
    "event": _l("Event attendance"),
    "event_deposit": _l("Event deposits"),
    "reward": _l("Rewards"),
    "goodwill": _l("Goodwill"),
    "debt": _l("Points owed from a reversal"),
    "expiry": _l("Expiry"),
    "forfeit": _l("Forfeited (deleted accounts)"),
}

# Lines that hold points taken from balances: shown as positive figures.
_DEBITS = ("reversed", "redeemed", "expired")


def month_lines(month: Month, scope: int | None = None) -> dict[int, Lines]:
    """Per dealer id, the month's entries summed by statement line.

    Entries that name their dealer are read from the (created_at, dealer_id, account_id, kind,
    delta) index alone; only those that do not (none since revision 0013) are joined to their
    member's chapter."""
    line = _line().label("line")
    in_month = and_(PointsEntry.created_at >= month.starts, PointsEntry.created_at < month.ends)
    named = select(PointsEntry.dealer_id.label("dealer_id"), line, PointsEntry.delta).where(
        in_month, PointsEntry.dealer_id.is_not(None)
    )
    chapter = (
        select(Member.dealer_id.label("dealer_id"), line, PointsEntry.delta)
        .join(PointsAccount, PointsAccount.id == PointsEntry.account_id)
        .join(Member, Member.id == PointsAccount.member_id)
        .where(in_month, PointsEntry.dealer_id.is_(None))
    )
    if scope is not None:
        named = named.where(PointsEntry.dealer_id == scope)
        chapter = chapter.where(Member.dealer_id == scope)
    entries = union_all(named, chapter).subquery("entries")
    query = select(
        entries.c.dealer_id, entries.c.line, func.sum(entries.c.delta), func.count()
    ).group_by(entries.c.dealer_id, entries.c.line)
    result: dict[int, Lines] = {}
    for dealer_id, name, points, count in db.session.execute(query):
        lines = result.setdefault(dealer_id, Lines())
        setattr(lines, name, -points if name in _DEBITS else points)
        lines.entries += count
    return result


def ledger_month_totals(month: Month) -> dict[str, int]:
    """The ledger's own totals of the month by entry kind and sign, straight from the entries
    (what every dealer's statement together must equal)."""
    # A literal 0, not a bound parameter: PostgreSQL only matches the SELECT's expression to
    # the GROUP BY's when both are the same text, and two parameters are $1 and $2.
    positive = PointsEntry.delta > literal_column("0")
    query = (
        select(PointsEntry.kind, positive, func.sum(PointsEntry.delta), func.count())
        .where(PointsEntry.created_at >= month.starts, PointsEntry.created_at < month.ends)
        .group_by(PointsEntry.kind, positive)
    )
    totals = {"entries": 0, "sum": 0}
    for kind, positive, points, count in db.session.execute(query):
        key = f"{EntryKind(kind).value}{'+' if positive else '-'}"
        totals[key] = points
        totals["entries"] += count
        totals["sum"] += points
    return totals


@dataclass
class Statement:
    """One dealer's (or every dealer's) settlement for a month."""

    lines: Lines
    points_worth_one_yuan: int
    # A total's dealer statements: its money is theirs added up, fen by fen, so the total row
    # matches the rows above it (pricing the summed points once could differ by a few fen).
    parts: tuple["Statement", ...] = ()

    def fen(self, points: int) -> int:
        """``points`` valued at the month's point value."""
        return value_fen(points, self.points_worth_one_yuan)

    @property
    def issued_fen(self) -> int:
        """What the dealer funds."""
        if self.parts:
            return sum(p.issued_fen for p in self.parts)
        return self.fen(self.lines.issued)

    @property
    def redeemed_fen(self) -> int:
        """What HQ funds."""
        if self.parts:
            return sum(p.redeemed_fen for p in self.parts)
        return self.fen(self.lines.redeemed_net)

    @property
    def net_fen(self) -> int:
        """Positive: HQ pays the dealer; negative: the dealer pays HQ."""
        return self.redeemed_fen - self.issued_fen

    def direction(self) -> str:
        """Who pays whom, in words."""
        if self.net_fen > 0:
            return _("HQ pays the dealer")
        if self.net_fen < 0:
            return _("The dealer pays HQ")
        return _("Nothing to pay")


def _overview_row(label, s: Statement) -> list:
    lines = s.lines
    return row(
        label,
        lines.issued,
        lines.redeemed_net,
        lines.expired,
        yuan(s.issued_fen),
        yuan(s.redeemed_fen),
        yuan(s.net_fen),
        s.direction(),
    )


def settlement_overview(
    actor: User, *, month: Month | None = None, now: datetime | None = None
) -> Report:
    """Every dealer's statement for ``month`` in one table (a dealer's admin: their own), with
    the ledger's month totals they add up to."""
    now = now or utcnow()
    month = month or current_month(now)
    scope = dealer_scope(actor)
    worth_one_yuan = rules_in_force(valuation_day(month, now)).points_worth_one_yuan
    per_dealer = month_lines(month, scope)
    dealers = scoped_dealers(scope, by_region=True)
    rows, bars = [], []
    for dealer in dealers:
        s = Statement(per_dealer.get(dealer.id, Lines()), worth_one_yuan)
        rows.append(_overview_row(dealer.code, s))
        bars.append(
            (
                dealer.code,
                yuan(s.net_fen),
                [("insight-fill-bar", "", abs(s.net_fen))],
            )
        )
    total = Statement(
        sum(per_dealer.values(), Lines()),
        worth_one_yuan,
        parts=tuple(Statement(lines, worth_one_yuan) for lines in per_dealer.values()),
    )
    table = Table(
        "dealers",
        _("Settlement of %(month)s per dealer", month=month.key),
        [
            Column(_("Dealer")),
            Column(_("Points issued"), True),
            Column(_("Points redeemed"), True),
            Column(_("Points expired"), True),
            Column(_("Dealer funds (¥)"), True),
            Column(_("HQ funds (¥)"), True),
            Column(_("Net (¥)"), True),
            Column(_("Who pays")),
        ],
        rows,
        _overview_row(_("Total"), total) if len(dealers) > 1 else None,
        empty=_("No dealer yet."),
    )
    return Report(
        scope,
        [table],
        [chart(_("Net settlement per dealer (¥)"), bars)],
        facts={
            "month": month,
            "points_worth_one_yuan": worth_one_yuan,
            "total": total,
            "dealer_ids": {d.code: d.id for d in dealers},
        },
    )


def dealer_statement(
    actor: User, dealer_id: int, *, month: Month | None = None, now: datetime | None = None
) -> Report:
    """One dealer's statement for ``month``: its lines, their value and who funds each, and
    the month's entries by source. NotFound outside ``actor``'s scope."""
    now = now or utcnow()
    month = month or current_month(now)
    scope = dealer_scope(actor, dealer_id)
    worth_one_yuan = rules_in_force(valuation_day(month, now)).points_worth_one_yuan
    s = Statement(month_lines(month, scope).get(scope, Lines()), worth_one_yuan)
    lines = s.lines
    dealer_funds, hq_funds, nobody = _("Dealer"), _("HQ"), _("Nobody (expired)")
    statement_rows = [
        row(_("Points earned (visits, referrals, events)"), lines.earned, dealer_funds),
        row(_("Goodwill points granted (net)"), lines.goodwill, dealer_funds),
        row(_("Points reversed (refunded visits)"), -lines.reversed, dealer_funds),
        row(_("Points issued"), lines.issued, dealer_funds),
        row(_("Points redeemed (vouchers, event deposits)"), lines.redeemed, hq_funds),
        row(_("Points returned (cancelled vouchers, deposits)"), -lines.returned, hq_funds),
        row(_("Points redeemed (net)"), lines.redeemed_net, hq_funds),
        row(_("Points expired"), lines.expired, nobody),
    ]
    statement = Table(
        "statement",
        _("Statement lines (points)"),
        [Column(_("Line")), Column(_("Points"), True), Column(_("Funded by"))],
        statement_rows,
        row(_("Change of the members' balances"), lines.balance_change, ""),
    )
    money = Table(
        "money",
        _("Amounts at %(points)s points = ¥1", points=worth_one_yuan),
        [Column(_("Item")), Column(_("Points"), True), Column(_("Value (¥)"), True)],
        [
            row(_("Dealer funds: points issued"), lines.issued, yuan(s.issued_fen)),
            row(_("HQ funds: points redeemed"), lines.redeemed_net, yuan(s.redeemed_fen)),
        ],
        row(s.direction(), "", yuan(abs(s.net_fen))),
    )
    sources = _sources(month, scope)
    return Report(
        scope,
        [statement, money, sources],
        facts={
            "month": month,
            "points_worth_one_yuan": worth_one_yuan,
            "statement": s,
            "net_yuan": yuan(abs(s.net_fen)),
        },
    )


def _sources(month: Month, scope: int) -> Table:
    dealer = func.coalesce(PointsEntry.dealer_id, Member.dealer_id)
    query = (
        select(PointsEntry.source, PointsEntry.kind, func.count(), func.sum(PointsEntry.delta))
        .join(PointsAccount, PointsAccount.id == PointsEntry.account_id)
        .join(Member, Member.id == PointsAccount.member_id)
        .where(
            PointsEntry.created_at >= month.starts,
            PointsEntry.created_at < month.ends,
            dealer == scope,
        )
        .group_by(PointsEntry.source, PointsEntry.kind)
        .order_by(PointsEntry.source, PointsEntry.kind)
    )
    rows = [
        row(
            str(SOURCE_LABELS.get(source, source)), str(KIND_LABELS[EntryKind(kind)]), count, points
        )
        for source, kind, count, points in db.session.execute(query)
    ]
    return Table(
        "sources",
        _("The month's ledger entries by source"),
        [
            Column(_("Source")),
            Column(_("Kind")),
            Column(_("Entries"), True),
            Column(_("Points"), True),
        ],
        rows,
        row(_("Total"), "", sum(int(r[2].text) for r in rows), sum(int(r[3].text) for r in rows))
        if rows
        else None,
        empty=_("No points were posted for this dealer this month."),
    )
