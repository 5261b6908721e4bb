"""The prize draw at an event (issue 21): fair (uniform, seeded, committed before), recorded,
re-runnable from its record, audited, drawn once, absent winners drawn again."""

import hashlib
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.events import draws, services
from app.events.draw_models import DrawWinner, PrizeDraw, WinnerStatus
from app.events.models import CheckIn, EventKind
from app.extensions import db
from app.members.models import Notification
from tests.conftest import count_queries
from tests.factories import make_event, make_member, make_staff

# ------------------------------------------------------------------------- the algorithm

SEEDS = [hashlib.sha256(f"seed {n}".encode()).hexdigest() for n in range(4000)]


def test_the_same_seed_context_and_list_give_the_same_winners():
    eligible = [31, 7, 12, 5, 99, 42]
    first = draws.pick(SEEDS[0], "ctx", eligible, 3)
    assert first == draws.pick(SEEDS[0], "ctx", list(reversed(eligible)), 3)  # order-free
    assert len(set(first)) == 3 and set(first) <= set(eligible)
    # Another round (context) or another seed gives other numbers.
    others = {tuple(draws.pick(SEEDS[0], f"ctx{n}", eligible, 3)) for n in range(20)}
    assert len(others) > 10
    assert draws.pick(SEEDS[1], "ctx", eligible, 10) != first
    assert sorted(draws.pick(SEEDS[1], "ctx", eligible, 10)) == sorted(eligible)  # k > n: all
    assert draws.pick(SEEDS[1], "ctx", [], 2) == []


def test_every_attendee_is_equally_likely_to_win():
    # 4000 fixed seeds, so the test answers the same every run: one winner of 10, and the
    # three winners of 8 (each attendee should be among them 3/8 of the time).
    ones = Counter(draws.pick(seed, "one", list(range(10)), 1)[0] for seed in SEEDS)
    expected = len(SEEDS) / 10
    chi_square = sum((ones[n] - expected) ** 2 / expected for n in range(10))
    assert chi_square < 27.88  # 9 degrees of freedom, p = 0.001
    threes = Counter(w for seed in SEEDS for w in draws.pick(seed, "three", list(range(8)), 3))
    for n in range(8):
        assert abs(threes[n] / len(SEEDS) - 3 / 8) < 0.03
    # The first pick is not favoured either: every attendee comes first about as often.
    firsts = Counter(draws.pick(seed, "three", list(range(8)), 3)[0] for seed in SEEDS)
    assert max(firsts.values()) - min(firsts.values()) < 0.035 * len(SEEDS)


def test_the_commitment_is_the_seeds_sha256():
    seed = draws.new_seed()
    assert len(seed) == 64 and seed != draws.new_seed()
    assert draws.commitment_of(seed) == hashlib.sha256(bytes.fromhex(seed)).hexdigest()


# -------------------------------------------------------------------------------- services


@pytest.fixture
def staff(ctx, dealers):
    return make_staff("event_staff", dealers["SZ01"])


def _lecture(staff, clock, **overrides):
    return make_event(
        staff,
        now=clock.now(),
        kind=EventKind.LECTURE,
        title="Winter care lecture",
        capacity=40,
        max_companions=0,
        **overrides,
    )


def _attendees(event, dealer_id, n, *, checked_in=None):
    """``n`` owners with a seat; the first ``checked_in`` (default all) checked in."""
    seats = []
    for i in range(n):
        seat = services.sign_up(make_member(dealer_id, name=f"Owner {i}"), event.id)
        if i < (n if checked_in is None else checked_in):
            db.session.add(
                CheckIn(
                    registration_id=seat.id,
                    event_id=event.id,
                    checked_in_at=event.starts_at,
                    source="manual",
                )
            )
        seats.append(seat)
    db.session.flush()
    return seats


@pytest.fixture
def evening(staff, dealers, clock):
    """A lecture of SZ01 with 6 seats, 4 checked in, the clock at its start."""
    event = _lecture(staff, clock)
    seats = _attendees(event, dealers["SZ01"], 6, checked_in=4)
    clock.advance(days=10)
    return event, seats


def _winners(draw) -> list[int]:
    return [w.registration_id for w in draws.winners_of(draw)]


def test_a_draw_picks_among_checked_in_attendees_and_can_be_rerun(staff, evening):
    event, seats = evening
    prize = draws.add_prize(staff, event.id, name="Car care kit", quantity=2)
    draw = draws.draw_prize(staff, event.id, prize.id, count=2, round_expected=1)
    checked_in = sorted(s.id for s in seats[:4])
    assert draw.eligible_ids == checked_in and draw.eligible_count == 4
    assert set(_winners(draw)) <= set(checked_in) and len(_winners(draw)) == 2
    assert draws.rerun(draw) == _winners(draw)
    assert _winners(draw) == draws.pick(
        prize.seed, draws.draw_context(event.id, prize.id, 1), checked_in, 2
    )
    (audit,) = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "event.prize_drawn")
    )
    assert audit.details["winners"] == _winners(draw)
    assert audit.details["commitment"] == prize.commitment
    assert audit.details["eligible_count"] == 4
    # Each winner is told in their inbox, once.
    told = db.session.scalars(select(Notification).where(Notification.kind == "event_prize"))
    assert sorted(n.member_id for n in told) == sorted(w.member_id for w in draws.winners_of(draw))


def test_one_prize_per_person_unless_the_prize_is_open_to_earlier_winners(staff, evening):
    event, _seats = evening
    first = draws.add_prize(staff, event.id, name="First", quantity=3)
    second = draws.add_prize(staff, event.id, name="Second", quantity=1)
    grand = draws.add_prize(staff, event.id, name="Grand", quantity=1, repeat_winners=True)
    won = set(_winners(draws.draw_prize(staff, event.id, first.id, count=3, round_expected=1)))
    (left,) = draws.eligible_ids(event, second)
    assert left not in won
    assert len(draws.eligible_ids(event, grand)) == 4
    draws.draw_prize(staff, event.id, second.id, count=1, round_expected=1)
    with pytest.raises(Conflict, match="Every “Second” has been won"):
        draws.draw_prize(staff, event.id, second.id, count=1, round_expected=2)


def test_a_round_is_drawn_once(staff, evening):
    event, _seats = evening
    prize = draws.add_prize(staff, event.id, name="Kit", quantity=3)
    draws.draw_prize(staff, event.id, prize.id, count=1, round_expected=1)
    # A double tap (or a second phone) still asks for round 1: nothing more is drawn.
    with pytest.raises(Conflict, match="already been made"):
        draws.draw_prize(staff, event.id, prize.id, count=1, round_expected=1)
    assert db.session.scalar(select(func.count(DrawWinner.id))) == 1
    with pytest.raises(ValidationFailed, match="Draw from 1 to 2 winners"):
        draws.draw_prize(staff, event.id, prize.id, count=3, round_expected=2)
    with pytest.raises(ValidationFailed):
        draws.draw_prize(staff, event.id, prize.id, count=0, round_expected=2)


def test_an_absent_winner_is_drawn_again_among_the_others(staff, evening):
    event, _seats = evening
    prize = draws.add_prize(staff, event.id, name="Kit", quantity=1)
    first = draws.draw_prize(staff, event.id, prize.id, count=1, round_expected=1)
    (absent,) = draws.winners_of(first)
    redraw = draws.redraw_absent(staff, event.id, absent.id, round_expected=2)
    assert absent.status == WinnerStatus.ABSENT and absent.replaced_by_draw_id == redraw.id
    assert redraw.kind == "redraw" and redraw.round == 2
    assert absent.registration_id not in redraw.eligible_ids and redraw.eligible_count == 3
    assert draws.rerun(redraw) == _winners(redraw)
    assert draws.draw_record(redraw)["replaces_registration_id"] == absent.registration_id
    with pytest.raises(Conflict, match="already"):
        draws.redraw_absent(staff, event.id, absent.id, round_expected=3)
    assert [p["won"] for p in draws.board(event)["prizes"]] == [1]


def test_with_nobody_else_to_draw_the_winner_keeps_the_prize(staff, dealers, clock):
    event = _lecture(staff, clock)
    _attendees(event, dealers["SZ01"], 1)
    clock.advance(days=10)
    prize = draws.add_prize(staff, event.id, name="Kit", quantity=1)
    (winner,) = draws.winners_of(
        draws.draw_prize(staff, event.id, prize.id, count=1, round_expected=1)
    )
    with pytest.raises(Conflict, match="the winner keeps it"):
        draws.redraw_absent(staff, event.id, winner.id, round_expected=2)
    assert winner.status == WinnerStatus.WON


def test_prizes_are_drawn_during_the_event_and_seeds_shown_after_it(staff, dealers, clock):
    event = _lecture(staff, clock)
    _attendees(event, dealers["SZ01"], 3)
    prize = draws.add_prize(staff, event.id, name="Kit", quantity=2)
    with pytest.raises(Conflict, match="drawn at the event"):
        draws.draw_prize(staff, event.id, prize.id, count=1, round_expected=1)
    clock.advance(days=10, hours=-2)  # the check-in opens two hours before
    draw = draws.draw_prize(staff, event.id, prize.id, count=1, round_expected=1)
    assert draws.draw_record(draw)["seed"] is None
    assert draws.draw_record(draw)["commitment"] == prize.commitment
    clock.advance(hours=2 + 24, minutes=1)  # the lecture (a day long) is over
    with pytest.raises(Conflict, match="over"):
        draws.draw_prize(staff, event.id, prize.id, count=1, round_expected=2)
    record = draws.draw_record(draw)
    assert record["seed"] == prize.seed
    assert draws.commitment_of(record["seed"]) == record["commitment"]
    # Anyone with the record re-runs the draw and gets the same winners.
    again = draws.pick(
        record["seed"], record["context"], record["eligible_registration_ids"], record["asked"]
    )
    assert again == record["winner_registration_ids"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "", "quantity": 1}, "name"),
        ({"name": "\u200b", "quantity": 1}, "name"),
        ({"name": "x" * 81, "quantity": 1}, "name"),
        ({"name": "Kit", "quantity": 0}, "quantity"),
        ({"name": "Kit", "quantity": 1001}, "quantity"),
        ({"name": "Kit", "quantity": 10**30}, "quantity"),
        ({"name": "Kit", "quantity": "3"}, "quantity"),
        ({"name": "Taken", "quantity": 1}, "name"),
    ],
)
def test_a_prize_is_refused_with_the_field_to_fix(staff, clock, fields, field):
    event = _lecture(staff, clock)
    draws.add_prize(staff, event.id, name="Taken", quantity=1)
    with pytest.raises(ValidationFailed) as refused:
        draws.add_prize(staff, event.id, **fields)
    assert refused.value.field == field
    assert len(draws.prizes(event)) == 1


def test_a_drawn_prize_keeps_its_winners_rules_and_record(staff, evening):
    event, _seats = evening
    prize = draws.add_prize(staff, event.id, name="Kit", quantity=3)
    draws.draw_prize(staff, event.id, prize.id, count=2, round_expected=1)
    with pytest.raises(ValidationFailed, match="cannot have fewer"):
        draws.update_prize(staff, event.id, prize.id, name="Kit", quantity=1)
    with pytest.raises(ValidationFailed, match="Who may win cannot change"):
        draws.update_prize(staff, event.id, prize.id, name="Kit", quantity=3, repeat_winners=True)
    with pytest.raises(Conflict, match="its record stays"):
        draws.remove_prize(staff, event.id, prize.id)
    draws.update_prize(staff, event.id, prize.id, name="Car care kit", quantity=2)
    assert (prize.name, prize.quantity) == ("Car care kit", 2)


def test_another_dealers_staff_reach_nothing(staff, evening, dealers):
    event, _seats = evening
    prize = draws.add_prize(staff, event.id, name="Kit", quantity=1)
    draw = draws.draw_prize(staff, event.id, prize.id, count=1, round_expected=1)
    gz = make_staff("event_staff", dealers["GZ01"])
    (winner,) = draws.winners_of(draw)
    for call in (
        lambda: draws.add_prize(gz, event.id, name="Mine", quantity=1),
        lambda: draws.draw_prize(gz, event.id, prize.id, count=1, round_expected=2),
        lambda: draws.redraw_absent(gz, event.id, winner.id, round_expected=2),
        lambda: draws.draw_for_staff(gz, event.id, draw.id),
    ):
        with pytest.raises(NotFound):
            call()
    assert db.session.scalar(select(func.count(PrizeDraw.id))) == 1


def test_the_screen_masks_names_and_mobiles(staff, evening):
    event, seats = evening
    prize = draws.add_prize(staff, event.id, name="Kit", quantity=4)
    draws.draw_prize(staff, event.id, prize.id, count=4, round_expected=1)
    board = draws.board(event)
    shown = board["latest"]
    assert {w.name for w in shown} == {"O**** *"}  # "Owner 3": the first letter only
    assert all(
        w.mobile.startswith(seats[0].member.mobile[:3]) and "****" in w.mobile for w in shown
    )
    assert board["prizes"][0]["won"] == 4
    assert draws.prizes_won(seats[0]) == ["Kit"]
    assert draws.prizes_won(seats[5]) == []
    assert all(w.full_name.startswith("Owner ") for w in shown)  # for the staff who call out


def test_the_screen_puts_the_newest_draw_first_and_each_prize_in_drawn_order(staff, evening, clock):
    event, _seats = evening
    first = draws.add_prize(staff, event.id, name="First", quantity=2)
    grand = draws.add_prize(staff, event.id, name="Grand", quantity=1)
    early = draws.draw_prize(staff, event.id, first.id, count=2, round_expected=1)
    clock.advance(minutes=5)
    late = draws.draw_prize(staff, event.id, grand.id, count=1, round_expected=1)
    board = draws.board(event)
    picked = [w.id for w in draws.winners_of(early)]
    assert [w.id for w in board["latest"]] == [draws.winners_of(late)[0].id, *picked]
    assert [w.id for w in board["prizes"][0]["winners"]] == picked
    assert [p["won"] for p in board["prizes"]] == [2, 1]


def test_the_screen_loads_its_winners_in_one_query_however_many(app, staff, evening):
    event, _seats = evening
    prize = draws.add_prize(staff, event.id, name="Kit", quantity=4)
    statements = []
    for round_, count in ((1, 1), (2, 3)):
        draws.draw_prize(staff, event.id, prize.id, count=count, round_expected=round_)
        db.session.expire_all()  # the owners as a fresh request finds them: not loaded yet
        with count_queries(app) as seen:
            names = {w.full_name for w in draws.board(event)["latest"]}
        statements.append(len(seen))
        assert len(names) == (1 if count == 1 else 4)
    assert statements[0] == statements[1]


def test_the_owners_export_lists_their_prizes(staff, evening):
    from app.members.privacy import export_member_data

    event, seats = evening
    prize = draws.add_prize(staff, event.id, name="Kit", quantity=4)
    draws.draw_prize(staff, event.id, prize.id, count=4, round_expected=1)
    (win,) = export_member_data(seats[0].member)["prize_wins"]
    assert (win["prize"], win["event_title"], win["status"]) == ("Kit", event.title, "won")
    assert export_member_data(seats[5].member)["prize_wins"] == []
