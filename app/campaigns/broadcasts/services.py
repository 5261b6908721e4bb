"""Broadcasts: composing, scheduling and cancelling; the audience and its count; the month's
count against the seed's standard (节日祝福、特殊天气提醒等每月不得低于3次).

A broadcast belongs to one dealer (HQ picks it, as for a campaign). Its audience is the owners
of the dealer whose cars the campaign filters choose (app/campaigns/calls/targeting.py), active
accounts only, worked out when it is sent. Owners without a car on record are in no audience.
A greeting or a warning nobody asked for is a marketing message: owners who did not accept
marketing messages are counted, not sent to (the outbox checks the consent again when it
sends, and keeps the quiet hours).

Every change is once: scheduling a scheduled broadcast, cancelling a cancelled one or taking
a draft back to a draft changes nothing, so a double submit does no harm.
"""

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from app.auth.models import User
from app.campaigns.broadcasts.models import BROADCAST, Broadcast, BroadcastStatus
from app.campaigns.calls.targeting import TargetFilters, check_filters, matching_cars
from app.care.texts.kinds import BROADCAST_KINDS, TextKind
from app.care.texts.services import check_words
from app.core.audit import record_audit
from app.core.clock import local_date, local_midnight, utcnow
from app.core.errors import Forbidden, NotFound, ValidationFailed
from app.core.permissions import Role, has_permission
from app.extensions import db
from app.members.models import Dealer, Member
from app.members.scope import sees_dealer

# 节日祝福、特殊天气提醒等每月不得低于3次: at least this many a month.
MONTHLY_STANDARD = 3
# A send time this far back still counts as "now" when scheduling (a form filled slowly).
SEND_AT_GRACE = timedelta(minutes=10)
MAX_AHEAD = timedelta(days=366)
LANGUAGES = ("zh", "en")
_S = BroadcastStatus


@dataclass(frozen=True)
class BroadcastData:
    """A broadcast as the manager composed it."""

    kind: str
    send_at: datetime | None
    title_zh: str
    body_zh: str
    title_en: str
    body_en: str
    filters: TargetFilters


def visible_broadcasts(actor: User, dealer_id: int | None = None) -> Select:
    """The broadcasts ``actor`` may see (of ``dealer_id`` only, when given), newest first."""
    query = select(Broadcast).order_by(Broadcast.send_at.desc(), Broadcast.id.desc())
    if actor.role != Role.HQ_ADMIN:
        query = query.where(Broadcast.dealer_id == actor.dealer_id)
    if dealer_id is not None:
        query = query.where(Broadcast.dealer_id == dealer_id)
    return query


def load_broadcast(actor: User, broadcast_id: int, *, lock: bool = False) -> Broadcast:
    """The broadcast if ``actor`` may see it; NotFound otherwise (another dealer's too)."""
    query = select(Broadcast).where(Broadcast.id == broadcast_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    broadcast = db.session.scalars(query).one_or_none()
    if broadcast is None or not sees_dealer(actor, broadcast.dealer_id):
        raise NotFound(_("No such broadcast."))
    return broadcast


def _managed(actor: User, broadcast_id: int) -> Broadcast:
    if not has_permission(actor, "campaigns.broadcasts"):
        raise Forbidden(_("Only the care manager may change a broadcast."))
    return load_broadcast(actor, broadcast_id, lock=True)


def _checked(data: BroadcastData, dealer_id: int, now: datetime) -> BroadcastData:
    """The data with its words trimmed, or ValidationFailed naming the field."""
    if data.kind not in BROADCAST_KINDS:
        raise ValidationFailed(_("Choose a greeting or a weather warning."), field="kind")
    if data.send_at is None:
        raise ValidationFailed(_("Choose when to send it."), field="send_at")
    if data.send_at > now + MAX_AHEAD:
        raise ValidationFailed(_("Choose a time within a year."), field="send_at")
    words = {}
    for code in LANGUAGES:
        title, body = getattr(data, f"title_{code}"), getattr(data, f"body_{code}")
        try:
            words[f"title_{code}"], words[f"body_{code}"] = check_words(
                TextKind(data.kind), title, body
            )
        except ValidationFailed as err:
            err.field = f"{err.field}_{code}"
            raise
    check_filters(data.filters, dealer_id)
    return replace(data, **words)


def _values(data: BroadcastData) -> dict:
    return {
        "kind": data.kind,
        "send_at": data.send_at,
        "title_zh": data.title_zh,
        "body_zh": data.body_zh,
        "title_en": data.title_en,
        "body_en": data.body_en,
        "filters": data.filters.to_json(),
    }


def create_broadcast(
    actor: User, data: BroadcastData, *, dealer_id: int, now: datetime | None = None
) -> Broadcast:
    """A draft broadcast of ``dealer_id`` (the actor's dealer, or HQ's pick)."""
    now = now or utcnow()
    if not has_permission(actor, "campaigns.broadcasts") or not sees_dealer(actor, dealer_id):
        raise Forbidden(_("Only the care manager may change a broadcast."))
    if db.session.get(Dealer, dealer_id) is None:
        raise NotFound(_("No such dealer."))
    data = _checked(data, dealer_id, now)
    broadcast = Broadcast(
        dealer_id=dealer_id,
        status=BroadcastStatus.DRAFT,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        **_values(data),
    )
    db.session.add(broadcast)
    db.session.flush()
    record_audit(
        actor, "broadcast.created", subject=broadcast, dealer_id=dealer_id, details={}, now=now
    )
    return broadcast


def update_broadcast(
    actor: User, broadcast_id: int, data: BroadcastData, *, now: datetime | None = None
) -> Broadcast:
    """Change a draft."""
    now = now or utcnow()
    broadcast = _managed(actor, broadcast_id)
    if broadcast.status != BroadcastStatus.DRAFT:
        raise ValidationFailed(_("Only a draft can change: take it back to a draft first."))
    data = _checked(data, broadcast.dealer_id, now)
    for name, value in _values(data).items():
        setattr(broadcast, name, value)
    broadcast.updated_at = now
    db.session.flush()
    record_audit(
        actor, "broadcast.updated", subject=broadcast, dealer_id=broadcast.dealer_id, now=now
    )
    return broadcast


def data_of(broadcast: Broadcast) -> BroadcastData:
    """The broadcast as it was composed (to check it again, or fill a form)."""
    return BroadcastData(
        kind=broadcast.kind,
        send_at=broadcast.send_at,
        title_zh=broadcast.title_zh,
        body_zh=broadcast.body_zh,
        title_en=broadcast.title_en,
        body_en=broadcast.body_en,
        filters=TargetFilters.from_json(broadcast.filters),
    )


def _move(actor, broadcast: Broadcast, to: BroadcastStatus, action: str, now: datetime) -> None:
    BROADCAST.move(broadcast, to)
    broadcast.updated_at = now
    if to == BroadcastStatus.CANCELLED:
        broadcast.cancelled_at = now
    db.session.flush()
    record_audit(actor, action, subject=broadcast, dealer_id=broadcast.dealer_id, now=now)


def schedule_broadcast(actor: User, broadcast_id: int, *, now: datetime | None = None) -> Broadcast:
    """A draft is scheduled to go at its send time (its words and filters checked again);
    a scheduled one stays as it is."""
    now = now or utcnow()
    broadcast = _managed(actor, broadcast_id)
    if broadcast.status == BroadcastStatus.SCHEDULED:
        return broadcast
    if broadcast.status == BroadcastStatus.DRAFT:
        _checked(data_of(broadcast), broadcast.dealer_id, now)
        if broadcast.send_at < now - SEND_AT_GRACE:
            raise ValidationFailed(
                _("The send time has passed: edit the draft and choose another.")
            )
    _move(actor, broadcast, BroadcastStatus.SCHEDULED, "broadcast.scheduled", now)
    return broadcast


def unschedule_broadcast(
    actor: User, broadcast_id: int, *, now: datetime | None = None
) -> Broadcast:
    """A scheduled broadcast that has not started goes back to a draft; a draft stays one."""
    now = now or utcnow()
    broadcast = _managed(actor, broadcast_id)
    if broadcast.status != BroadcastStatus.DRAFT:
        _move(actor, broadcast, BroadcastStatus.DRAFT, "broadcast.unscheduled", now)
    return broadcast


def cancel_broadcast(actor: User, broadcast_id: int, *, now: datetime | None = None) -> Broadcast:
    """A draft or scheduled broadcast is cancelled for good; a cancelled one stays so."""
    now = now or utcnow()
    broadcast = _managed(actor, broadcast_id)
    if broadcast.status != BroadcastStatus.CANCELLED:
        _move(actor, broadcast, BroadcastStatus.CANCELLED, "broadcast.cancelled", now)
    return broadcast


# ------------------------------------------------------------------------------ audience


def audience(dealer_id: int, filters: TargetFilters, today: date) -> Select:
    """The owners a broadcast reaches: (member id, marketing consent) of the dealer's active
    owners whose cars the filters choose, by member id."""
    cars = matching_cars(
        dealer_id, filters, starts_on=today, today=today, consenting_only=False
    ).subquery()
    return (
        select(Member.id, Member.marketing_opt_in)
        .join(User, User.id == Member.user_id)
        .where(User.active.is_(True), Member.id.in_(select(cars.c.member_id)))
        .order_by(Member.id)
    )


@dataclass(frozen=True)
class AudienceCount:
    """How many owners the filters choose, and how many of them accepted marketing messages
    (the others are left out)."""

    owners: int
    consenting: int

    @property
    def without_consent(self) -> int:
        """Owners left out: no marketing consent."""
        return self.owners - self.consenting


def count_audience(dealer_id: int, filters: TargetFilters, today: date) -> AudienceCount:
    """The live count of the filters' audience (one query); ValidationFailed for filters that
    cannot be applied."""
    check_filters(filters, dealer_id)
    chosen = audience(dealer_id, filters, today).order_by(None).subquery()
    owners, consenting = db.session.execute(
        select(func.count(), func.count().filter(chosen.c.marketing_opt_in.is_(True)))
    ).one()
    return AudienceCount(owners, consenting)


def count_now(broadcast: Broadcast) -> AudienceCount | None:
    """The owners a waiting broadcast would reach now; None when its filters no longer apply
    (a model no owner drives any more: scheduling it says so)."""
    filters = TargetFilters.from_json(broadcast.filters)
    try:
        return count_audience(broadcast.dealer_id, filters, local_date())
    except ValidationFailed:
        return None


def month_counts(scope: int | None, today: date) -> dict[int, int]:
    """Broadcasts sent (or being sent) this month, by dealer (of ``scope``; None: all)."""
    first = local_midnight(today.replace(day=1))
    query = (
        select(Broadcast.dealer_id, func.count())
        .where(
            Broadcast.status.in_([_S.SENDING, _S.SENT]),
            Broadcast.started_at >= first,
        )
        .group_by(Broadcast.dealer_id)
    )
    if scope is not None:
        query = query.where(Broadcast.dealer_id == scope)
    return dict(db.session.execute(query).all())


def month_summary(scope: int | None, now: datetime | None = None) -> list[tuple[Dealer, int]]:
    """Each dealer of ``scope`` with this month's broadcasts, fewest first (the standard is
    ``MONTHLY_STANDARD``)."""
    today = local_date(now or utcnow())
    counts = month_counts(scope, today)
    query = select(Dealer).order_by(Dealer.code)
    if scope is not None:
        query = query.where(Dealer.id == scope)
    dealers = db.session.scalars(query)
    return sorted(((d, counts.get(d.id, 0)) for d in dealers), key=lambda pair: pair[1])
