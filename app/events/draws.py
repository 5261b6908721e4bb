"""Prize draws among an event's checked-in attendees (issue 21): fair, seeded, recorded.

How a draw is fair and can be checked by anyone:

* When staff define a prize it gets a random 32-byte seed; the seed's SHA-256 (the
  *commitment*) is shown on the staff and live pages from then on, so the seed cannot be
  chosen after seeing who checked in. The seed itself is shown once the event is over.
* A draw takes every checked-in attendee (one ticket, one chance, companions included in it)
  who was not drawn for this prize before and, unless the prize is open to earlier winners,
  holds no other prize of the event; their registration ids, ascending, are recorded.
* ``pick`` shuffles that list with a partial Fisher–Yates whose random numbers come from
  HMAC-SHA256(seed, "<context>|<counter>"), rejection-sampled so every attendee is equally
  likely; the first ``k`` are the winners. Re-running ``pick`` with the recorded seed, context
  and list gives the same winners (``rerun``), which the draw's JSON record lets anyone do.
* Rounds of a prize are numbered; one round is drawn once (a unique constraint), so a double
  tap or a second phone draws nothing more. A winner who is not there when called is marked
  absent and the prize is drawn again among the others (a new round, recorded and audited).
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.dates import format_local_datetime
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.forms import is_visible_text
from app.core.identifiers import mask_mobile
from app.events.checkin import checkin_window
from app.events.draw_models import WINNER, DrawPrize, DrawWinner, PrizeDraw, WinnerStatus
from app.events.models import CheckIn, Event, EventRegistration, RegistrationStatus
from app.events.tripday import event_for_staff
from app.extensions import db
from app.members.models import Member
from app.members.services import mask_name

ALGORITHM = "hmac-sha256-fisher-yates/v1"
MAX_PRIZES = 30
MAX_QUANTITY = 1000
NAME_LENGTH = 80
_U64 = 2**64


# ------------------------------------------------------------------------- the algorithm


def new_seed() -> str:
    """32 random bytes, hex."""
    return secrets.token_hex(32)


def commitment_of(seed: str) -> str:
    """The seed's SHA-256 (of its bytes), hex: published before the draw."""
    return hashlib.sha256(bytes.fromhex(seed)).hexdigest()


def draw_context(event_id: int, prize_id: int, round_: int) -> str:
    """What ties a round's random numbers to it: no two rounds share them."""
    return f"carclub-draw/v1|event={event_id}|prize={prize_id}|round={round_}"


def pick(seed: str, context: str, eligible: list[int], k: int) -> list[int]:
    """The first ``k`` of ``eligible`` (taken ascending) shuffled by the seed: each id equally
    likely, the same answer every time for the same arguments."""
    key = bytes.fromhex(seed)
    pool = sorted(eligible)
    counter = 0

    def below(n: int) -> int:
        nonlocal counter
        limit = _U64 - _U64 % n  # the largest multiple of n: no value is favoured
        while True:
            block = hmac.new(key, f"{context}|{counter}".encode(), hashlib.sha256).digest()
            counter += 1
            value = int.from_bytes(block[:8], "big")
            if value < limit:
                return value % n

    for i in range(min(k, len(pool))):
        j = i + below(len(pool) - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[: min(k, len(pool))]


def rerun(draw: PrizeDraw) -> list[int]:
    """The winners (registration ids, in order) that the draw's record gives when re-run."""
    context = draw_context(draw.event_id, draw.prize_id, draw.round)
    return pick(draw.prize.seed, context, list(draw.eligible_ids), draw.asked)


# -------------------------------------------------------------------------------- prizes


def prizes(event: Event) -> list[DrawPrize]:
    """The event's prizes, in the order they were defined."""
    return list(
        db.session.scalars(
            select(DrawPrize).where(DrawPrize.event_id == event.id).order_by(DrawPrize.id)
        )
    )


def prize_for_staff(actor: User, event_id: int, prize_id: int) -> DrawPrize:
    """A prize of an event the actor may run; NotFound otherwise."""
    event = event_for_staff(actor, event_id)
    prize = db.session.get(DrawPrize, prize_id)
    if prize is None or prize.event_id != event.id:
        raise NotFound(_l("No such prize."))
    return prize


def _won_count(prize: DrawPrize) -> int:
    return db.session.scalar(
        select(func.count(DrawWinner.id)).where(
            DrawWinner.prize_id == prize.id, DrawWinner.status == WinnerStatus.WON
        )
    )


def next_round(prize: DrawPrize) -> int:
    """The number the prize's next draw will have."""
    done = db.session.scalar(select(func.count(PrizeDraw.id)).where(PrizeDraw.prize_id == prize.id))
    return done + 1


def _not_over(event: Event, now: datetime) -> None:
    if now > event.ends_at:
        raise Conflict(_l("The event is over: its prize draw can no longer change."))


def _prize_fields(event: Event, name, quantity, *, prize: DrawPrize | None = None) -> dict:
    name = (name or "").strip()
    if not name or not is_visible_text(name):
        raise ValidationFailed(_l("Name the prize, e.g. a car care kit."), field="name")
    if len(name) > NAME_LENGTH:
        raise ValidationFailed(_l("Keep it under %(n)d characters.", n=NAME_LENGTH), field="name")
    if not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed(
            _l("Enter how many, from 1 to %(n)d.", n=MAX_QUANTITY), field="quantity"
        )
    taken = db.session.scalar(
        select(DrawPrize.id).where(
            DrawPrize.event_id == event.id,
            DrawPrize.name == name,
            DrawPrize.id != (prize.id if prize else -1),
        )
    )
    if taken:
        raise ValidationFailed(_l("The event already has a prize of that name."), field="name")
    return {"name": name, "quantity": quantity}


def add_prize(
    actor: User,
    event_id: int,
    *,
    name: str,
    quantity: int,
    repeat_winners: bool = False,
    now: datetime | None = None,
) -> DrawPrize:
    """Define a prize with its seed (its commitment shown from now on); audited."""
    now = now or utcnow()
    event = event_for_staff(actor, event_id)
    _not_over(event, now)
    if len(prizes(event)) >= MAX_PRIZES:
        raise Conflict(_l("An event has at most %(n)d prizes.", n=MAX_PRIZES))
    seed = new_seed()
    prize = DrawPrize(
        event_id=event.id,
        **_prize_fields(event, name, quantity),
        repeat_winners=bool(repeat_winners),
        seed=seed,
        commitment=commitment_of(seed),
        created_at=now,
        created_by_id=actor.id,
    )
    db.session.add(prize)
    db.session.flush()
    record_audit(
        actor,
        "event.prize_added",
        subject=prize,
        dealer_id=event.dealer_id,
        details={
            "event_id": event.id,
            "name": prize.name,
            "quantity": prize.quantity,
            "repeat_winners": prize.repeat_winners,
            "commitment": prize.commitment,
        },
        now=now,
    )
    return prize


def update_prize(
    actor: User,
    event_id: int,
    prize_id: int,
    *,
    name: str,
    quantity: int,
    repeat_winners: bool = False,
    now: datetime | None = None,
) -> DrawPrize:
    """Rename a prize or change how many there are (never fewer than already won); who may
    win it is fixed once it has been drawn. Audited."""
    now = now or utcnow()
    prize = prize_for_staff(actor, event_id, prize_id)
    event = db.session.get(Event, prize.event_id)
    _not_over(event, now)
    fields = _prize_fields(event, name, quantity, prize=prize)
    won = _won_count(prize)
    if fields["quantity"] < won:
        raise ValidationFailed(
            _l("%(n)d already won: the prize cannot have fewer.", n=won), field="quantity"
        )
    drawn = next_round(prize) > 1
    if drawn and bool(repeat_winners) != prize.repeat_winners:
        raise ValidationFailed(
            _l("Who may win cannot change once the prize has been drawn."),
            field="repeat_winners",
        )
    before = {"name": prize.name, "quantity": prize.quantity, "repeat": prize.repeat_winners}
    prize.name, prize.quantity = fields["name"], fields["quantity"]
    prize.repeat_winners = bool(repeat_winners)
    db.session.flush()
    record_audit(
        actor,
        "event.prize_changed",
        subject=prize,
        dealer_id=event.dealer_id,
        details={"before": before, "name": prize.name, "quantity": prize.quantity},
        now=now,
    )
    return prize


def remove_prize(actor: User, event_id: int, prize_id: int, *, now: datetime | None = None):
    """Remove a prize that was never drawn; audited."""
    now = now or utcnow()
    prize = prize_for_staff(actor, event_id, prize_id)
    event = db.session.get(Event, prize.event_id)
    if next_round(prize) > 1:
        raise Conflict(_l("This prize has been drawn: its record stays."))
    record_audit(
        actor,
        "event.prize_removed",
        subject=prize,
        dealer_id=event.dealer_id,
        details={"event_id": event.id, "name": prize.name, "commitment": prize.commitment},
        now=now,
    )
    db.session.delete(prize)
    db.session.flush()


# -------------------------------------------------------------------------------- draws


def eligible_ids(event: Event, prize: DrawPrize) -> list[int]:
    """The registration ids that may win ``prize`` now, ascending: checked in, not drawn for
    this prize before, and (unless it is open to earlier winners) holding no other prize."""
    drawn_here = select(DrawWinner.registration_id).where(DrawWinner.prize_id == prize.id)
    query = (
        select(CheckIn.registration_id)
        .join(EventRegistration, EventRegistration.id == CheckIn.registration_id)
        .where(
            CheckIn.event_id == event.id,
            EventRegistration.status == RegistrationStatus.CONFIRMED,
            CheckIn.registration_id.not_in(drawn_here),
        )
        .order_by(CheckIn.registration_id)
    )
    if not prize.repeat_winners:
        holders = select(DrawWinner.registration_id).where(
            DrawWinner.event_id == event.id, DrawWinner.status == WinnerStatus.WON
        )
        query = query.where(CheckIn.registration_id.not_in(holders))
    return list(db.session.scalars(query))


def draw_window(event: Event) -> tuple[datetime, datetime]:
    """When prizes can be drawn: while tickets check in (from the check-in's opening to the
    end)."""
    return checkin_window(event)


def _during_event(event: Event, now: datetime) -> None:
    opens, closes = draw_window(event)
    if now < opens:
        raise Conflict(
            _l(
                "Prizes are drawn at the event: from %(time)s.",
                time=format_local_datetime(opens, "short"),
            )
        )
    if now > closes:
        raise Conflict(_l("The event is over: no more prizes are drawn."))


def _lock(prize: DrawPrize) -> DrawPrize:
    return db.session.execute(
        select(DrawPrize)
        .where(DrawPrize.id == prize.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _check_round(prize: DrawPrize, round_expected: int | None) -> int:
    round_ = next_round(prize)
    if round_expected is not None and round_expected != round_:
        raise Conflict(
            _l("This draw has already been made: the winners are shown below."), code="drawn"
        )
    return round_


def _draw(actor, event, prize, *, count: int, round_: int, kind: str, now) -> PrizeDraw:
    eligible = eligible_ids(event, prize)
    if not eligible:
        raise Conflict(_l("Nobody checked in can win this prize now."))
    draw = PrizeDraw(
        event_id=event.id,
        prize_id=prize.id,
        round=round_,
        kind=kind,
        asked=count,
        eligible_count=len(eligible),
        eligible_ids=eligible,
        algorithm=ALGORITHM,
        drawn_at=now,
        drawn_by_id=actor.id,
    )
    db.session.add(draw)
    try:
        db.session.flush()
    except IntegrityError:
        # Another phone drew this round a moment ago (SQLite: both read the same count).
        db.session.rollback()
        raise Conflict(
            _l("This draw has already been made: the winners are shown below."), code="drawn"
        ) from None
    chosen = pick(prize.seed, draw_context(event.id, prize.id, round_), eligible, count)
    registrations = {
        r.id: r
        for r in db.session.scalars(
            select(EventRegistration).where(EventRegistration.id.in_(chosen))
        )
    }
    for rank, registration_id in enumerate(chosen, start=1):
        db.session.add(
            DrawWinner(
                draw_id=draw.id,
                event_id=event.id,
                prize_id=prize.id,
                registration_id=registration_id,
                member_id=registrations[registration_id].member_id,
                rank=rank,
                status=WinnerStatus.WON,
            )
        )
    db.session.flush()
    _tell_winners(event, prize, draw)
    return draw


def _remaining(prize: DrawPrize) -> int:
    return prize.quantity - _won_count(prize)


def draw_prize(
    actor: User,
    event_id: int,
    prize_id: int,
    *,
    count: int,
    round_expected: int | None,
    now: datetime | None = None,
) -> PrizeDraw:
    """Draw ``count`` winners of the prize among the eligible checked-in attendees (fewer when
    fewer are eligible); tells each winner in their inbox. Audited."""
    now = now or utcnow()
    prize = prize_for_staff(actor, event_id, prize_id)
    event = db.session.get(Event, prize.event_id)
    _during_event(event, now)
    prize = _lock(prize)
    round_ = _check_round(prize, round_expected)
    remaining = _remaining(prize)
    if remaining <= 0:
        raise Conflict(_l("Every “%(prize)s” has been won.", prize=prize.name))
    if not isinstance(count, int) or not 1 <= count <= remaining:
        raise ValidationFailed(
            _l("Draw from 1 to %(n)d winners: that many are left.", n=remaining), field="count"
        )
    draw = _draw(actor, event, prize, count=count, round_=round_, kind="draw", now=now)
    _audit_draw(actor, "event.prize_drawn", event, prize, draw, now)
    return draw


def redraw_absent(
    actor: User,
    event_id: int,
    winner_id: int,
    *,
    round_expected: int | None,
    now: datetime | None = None,
) -> PrizeDraw:
    """The winner was not there when called: mark them absent and draw the prize again among
    the others (a new round that names the one it replaces). Audited."""
    now = now or utcnow()
    winner = winner_for_staff(actor, event_id, winner_id)
    event = db.session.get(Event, winner.event_id)
    _during_event(event, now)
    prize = _lock(winner.prize)
    round_ = _check_round(prize, round_expected)
    if winner.status == WinnerStatus.WON and not eligible_ids(event, prize):
        raise Conflict(_l("Nobody else checked in can win this prize: the winner keeps it."))
    WINNER.move(winner, WinnerStatus.ABSENT, message=_l("This winner was already redrawn."))
    winner.absent_at, winner.absent_by_id = now, actor.id
    db.session.flush()
    draw = _draw(actor, event, prize, count=1, round_=round_, kind="redraw", now=now)
    winner.replaced_by_draw_id = draw.id
    db.session.flush()
    _audit_draw(actor, "event.prize_redrawn", event, prize, draw, now, absent=winner.id)
    return draw


def _audit_draw(actor, action, event, prize, draw, now, **more) -> None:
    record_audit(
        actor,
        action,
        subject=draw,
        dealer_id=event.dealer_id,
        details={
            "event_id": event.id,
            "prize_id": prize.id,
            "prize": prize.name,
            "round": draw.round,
            "asked": draw.asked,
            "eligible_count": draw.eligible_count,
            "commitment": prize.commitment,
            "winners": [w.registration_id for w in winners_of(draw)],
            **more,
        },
        now=now,
    )


def _tell_winners(event: Event, prize: DrawPrize, draw: PrizeDraw) -> None:
    from app.members.inbox import notify

    for winner in winners_of(draw):
        notify(
            winner.registration.member,
            "event_prize",
            lambda: (
                _l("You won: %(prize)s", prize=prize.name),
                _l(
                    "Congratulations! You won “%(prize)s” in the prize draw of %(title)s. "
                    "Collect it from the staff at the event with your ticket.",
                    prize=prize.name,
                    title=event.title,
                ),
            ),
            dedupe_key=f"event-prize:{winner.id}",
            now=draw.drawn_at,
        )


def winners_of(draw: PrizeDraw) -> list[DrawWinner]:
    """The draw's winners in the order it picked them."""
    return list(
        db.session.scalars(
            select(DrawWinner).where(DrawWinner.draw_id == draw.id).order_by(DrawWinner.rank)
        )
    )


# ------------------------------------------------------------------------ what is shown


def seed_revealed(event: Event, *, now: datetime | None = None) -> bool:
    """Seeds are shown once the event is over (no more draws can be made)."""
    return (now or utcnow()) > event.ends_at


def draw_for_staff(actor: User, event_id: int, draw_id: int) -> PrizeDraw:
    """A draw of an event the actor may run; NotFound otherwise."""
    event = event_for_staff(actor, event_id)
    draw = db.session.get(PrizeDraw, draw_id)
    if draw is None or draw.event_id != event.id:
        raise NotFound(_l("No such draw."))
    return draw


def draw_record(draw: PrizeDraw, *, now: datetime | None = None) -> dict:
    """Everything needed to re-run the draw (the seed once the event is over)."""
    event = db.session.get(Event, draw.event_id)
    replaced = db.session.scalar(
        select(DrawWinner.registration_id).where(DrawWinner.replaced_by_draw_id == draw.id)
    )
    return {
        "algorithm": draw.algorithm,
        "event_id": draw.event_id,
        "prize": {"id": draw.prize_id, "name": draw.prize.name},
        "round": draw.round,
        "kind": draw.kind,
        "replaces_registration_id": replaced,
        "context": draw_context(draw.event_id, draw.prize_id, draw.round),
        "commitment": draw.prize.commitment,
        "seed": draw.prize.seed if seed_revealed(event, now=now) else None,
        "asked": draw.asked,
        "eligible_count": draw.eligible_count,
        "eligible_registration_ids": list(draw.eligible_ids),
        "winner_registration_ids": [w.registration_id for w in winners_of(draw)],
        "drawn_at": draw.drawn_at.isoformat(),
    }


@dataclass(frozen=True)
class ShownWinner:
    """A winner as the event's screen shows them: masked name and mobile."""

    id: int
    prize: str
    name: str
    mobile: str
    full_name: str  # for the staff who call the winner out, never on the screen
    status: WinnerStatus
    round: int
    kind: str


def _shown(winner: DrawWinner, draw: PrizeDraw, prize: DrawPrize) -> ShownWinner:
    member = winner.registration.member
    return ShownWinner(
        id=winner.id,
        prize=prize.name,
        name=mask_name(member.name),
        mobile=mask_mobile(member.mobile),
        full_name=member.name,
        status=winner.status,
        round=draw.round,
        kind=draw.kind,
    )


def board(event: Event, *, latest: int = 12) -> dict:
    """The live screen: each prize's winners in the order drawn, and the latest winners (the
    newest draw first, each draw's winners in the order it picked them)."""
    rows = db.session.execute(
        select(DrawWinner, PrizeDraw, DrawPrize)
        .join(PrizeDraw, PrizeDraw.id == DrawWinner.draw_id)
        .join(DrawPrize, DrawPrize.id == DrawWinner.prize_id)
        .where(DrawWinner.event_id == event.id)
        .options(
            joinedload(DrawWinner.registration)
            .joinedload(EventRegistration.member)
            .joinedload(Member.user)
        )
        .order_by(PrizeDraw.drawn_at, PrizeDraw.id, DrawWinner.rank)
    ).all()
    by_draw: dict[int, list[ShownWinner]] = {}
    by_prize: dict[int, list[ShownWinner]] = {}
    for winner, draw, prize in rows:
        shown = _shown(winner, draw, prize)
        by_draw.setdefault(draw.id, []).append(shown)
        by_prize.setdefault(prize.id, []).append(shown)
    newest_first = [s for draw_id in reversed(by_draw) for s in by_draw[draw_id]]
    return {
        "prizes": [
            {
                "prize": prize,
                "won": sum(1 for s in by_prize.get(prize.id, []) if s.status == WinnerStatus.WON),
                "winners": by_prize.get(prize.id, []),
            }
            for prize in prizes(event)
        ],
        "latest": [s for s in newest_first if s.status == WinnerStatus.WON][:latest],
        "count": len(rows),
    }


def prizes_won(registration: EventRegistration) -> list[str]:
    """The prizes the owner won with this ticket (and was there to collect)."""
    return list(
        db.session.scalars(
            select(DrawPrize.name)
            .join(DrawWinner, DrawWinner.prize_id == DrawPrize.id)
            .where(
                DrawWinner.registration_id == registration.id,
                DrawWinner.status == WinnerStatus.WON,
            )
            .order_by(DrawWinner.id)
        )
    )


@dataclass(frozen=True)
class PrizeRow:
    """A prize on the staff's draw page: how many are won and left, who may win it now."""

    prize: DrawPrize
    won: int
    remaining: int
    next_round: int
    eligible: int


def prize_rows(event: Event) -> list[PrizeRow]:
    """The event's prizes with their counts, for the staff's draw page."""
    rows = []
    for prize in prizes(event):
        won = _won_count(prize)
        rows.append(
            PrizeRow(
                prize, won, prize.quantity - won, next_round(prize), len(eligible_ids(event, prize))
            )
        )
    return rows


def checked_in_count(event: Event) -> int:
    """How many tickets of the event are checked in (everyone the draw can pick from)."""
    return db.session.scalar(select(func.count(CheckIn.id)).where(CheckIn.event_id == event.id))


def winner_for_staff(actor: User, event_id: int, winner_id: int) -> DrawWinner:
    """A winner of an event the actor may run; NotFound otherwise."""
    event = event_for_staff(actor, event_id)
    winner = db.session.get(DrawWinner, winner_id)
    if winner is None or winner.event_id != event.id:
        raise NotFound(_l("No such winner."))
    return winner


def draws_of(event: Event) -> list[PrizeDraw]:
    """The event's draws, latest first: the record staff can hand to anyone who asks."""
    return list(
        db.session.scalars(
            select(PrizeDraw)
            .where(PrizeDraw.event_id == event.id)
            .order_by(PrizeDraw.drawn_at.desc(), PrizeDraw.id.desc())
        )
    )
