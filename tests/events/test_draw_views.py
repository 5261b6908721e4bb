"""The prize draw's pages: staff draw on the phone (a double tap draws once), the live screen
and its JSON (masked), the draw's record, the winner's ticket; who may open them."""

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.events import draws, services
from app.events.draw_models import DrawPrize, DrawWinner, PrizeDraw
from app.events.models import CheckIn, EventKind
from app.extensions import db
from app.members.models import Member
from tests.conftest import NOW
from tests.factories import make_dealer, make_event, make_member, make_staff
from tests.test_postgres_concurrency import race


@pytest.fixture
def evening(seeded, dealers, member, clock):
    """A lecture of SZ01 tonight: the owner ("member") and three others checked in."""
    with seeded():
        organiser = make_staff("event_staff", dealers["SZ01"])
        event = make_event(
            organiser, now=clock.now(), kind=EventKind.LECTURE, capacity=20, max_companions=0
        )
        owners = [db.session.get(Member, member["id"])] + [
            make_member(dealers["SZ01"], name=f"Guest {i}") for i in range(3)
        ]
        seats = [services.sign_up(owner, event.id) for owner in owners]
        for seat in seats:
            db.session.add(
                CheckIn(
                    registration_id=seat.id,
                    event_id=event.id,
                    checked_in_at=event.starts_at,
                    source="manual",
                )
            )
        ids = {"event_id": event.id, "mine": seats[0].id, "mobile": member["mobile"]}
    clock.advance(days=10)
    return ids


@pytest.fixture
def host(staff_factory):
    return staff_factory("event_staff", "SZ01")


def _prize(app, event_id, **fields) -> int:
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.role == "event_staff"))
        prize = draws.add_prize(staff, event_id, **{"name": "Kit", "quantity": 1, **fields})
        db.session.commit()
        return prize.id


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


def test_staff_add_a_prize_draw_it_once_and_redraw_an_absent_winner(app, host, evening):
    base = f"/admin/events/{evening['event_id']}/draw"
    page = host.get(base).get_data(as_text=True)
    assert "No prizes yet" in page and "4 attendees checked in" in page
    bad = host.post(f"{base}/prizes", data={"name": "\u200b", "quantity": "0"})
    assert bad.status_code == 422 and _count(app, DrawPrize) == 0
    assert (
        host.post(f"{base}/prizes", data={"name": "Car care kit", "quantity": "2"}).status_code
        == 302
    )
    with app.app_context():
        prize = db.session.scalar(select(DrawPrize))
        prize_id, commitment = prize.id, prize.commitment
    page = host.get(base).get_data(as_text=True)
    assert commitment in page and "0 of 2 won" in page

    tap = {f"p{prize_id}-count": "1", f"p{prize_id}-round": "1"}
    key = {**tap, "idempotency_key": "draw-double-tap-0001"}
    assert host.post(f"{base}/prizes/{prize_id}/draw", data=key).status_code == 302
    assert host.post(f"{base}/prizes/{prize_id}/draw", data=key).status_code == 302  # replay
    stale = host.post(f"{base}/prizes/{prize_id}/draw", data=tap, follow_redirects=True)
    assert "already been made" in stale.get_data(as_text=True)
    assert _count(app, PrizeDraw) == 1 and _count(app, DrawWinner) == 1

    for hostile in ({f"p{prize_id}-round": "abc"}, {f"p{prize_id}-count": "-1"}):
        refused = host.post(f"{base}/prizes/{prize_id}/draw", data={**tap, **hostile})
        assert refused.status_code == 422
    assert _count(app, PrizeDraw) == 1

    with app.app_context():
        winner_id = db.session.scalar(select(DrawWinner.id))
    again = host.post(f"{base}/winners/{winner_id}/redraw", data={"round": "2"})
    assert again.status_code == 302
    page = host.get(base).get_data(as_text=True)
    assert "Absent: drawn again" in page and "1 of 2 won" in page
    assert _count(app, PrizeDraw) == 2


def test_the_live_screen_and_its_json_show_masked_winners(app, host, evening):
    prize_id = _prize(app, evening["event_id"], quantity=4)
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.role == "event_staff"))
        draw = draws.draw_prize(staff, evening["event_id"], prize_id, count=4, round_expected=1)
        draw_id = draw.id
        db.session.commit()
    base = f"/admin/events/{evening['event_id']}/draw"
    live = host.get(f"{base}/live").get_data(as_text=True)
    assert "Z**** ***" in live and "draw-live.js" in live
    data = host.get(f"{base}/live.json")
    assert data.headers["Cache-Control"] == "no-store"
    body = data.get_json()
    assert len(body["latest"]) == 4 and body["prizes"][0]["won"] == 4
    text = data.get_data(as_text=True)
    assert "Zhang Wei" not in text and evening["mobile"] not in text
    record = host.get(f"{base}/records/{draw_id}.json").get_json()
    assert record["seed"] is None and len(record["eligible_registration_ids"]) == 4
    assert record["asked"] == 4 and record["commitment"] in live


def test_the_winner_reads_it_on_their_ticket_and_in_their_inbox(app, member_client, evening):
    prize_id = _prize(app, evening["event_id"], name="Free maintenance", quantity=4)
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.role == "event_staff"))
        draws.draw_prize(staff, evening["event_id"], prize_id, count=4, round_expected=1)
        db.session.commit()
    ticket = member_client.get(f"/me/tickets/{evening['mine']}").get_data(as_text=True)
    assert "You won in the prize draw" in ticket and "Free maintenance" in ticket
    inbox = member_client.get("/me/inbox").get_data(as_text=True)
    # Written in the owner's language (Chinese unless they chose English).
    assert "恭喜中奖：Free maintenance" in inbox


def test_only_the_dealers_event_staff_run_the_draw(app, staff_factory, member_client, evening):
    prize_id = _prize(app, evening["event_id"])
    base = f"/admin/events/{evening['event_id']}/draw"
    gz = staff_factory("event_staff", "GZ01")
    for path in (base, f"{base}/live", f"{base}/live.json", f"{base}/prizes/{prize_id}"):
        assert gz.get(path).status_code == 404
    tap = {f"p{prize_id}-count": "1", f"p{prize_id}-round": "1"}
    assert gz.post(f"{base}/prizes/{prize_id}/draw", data=tap).status_code == 404
    consultant = staff_factory("sales_consultant", "SZ01")
    for client in (consultant, member_client):
        assert client.get(f"{base}/live.json").status_code == 403
        assert client.post(f"{base}/prizes/{prize_id}/draw", data=tap).status_code == 403
    assert _count(app, PrizeDraw) == 0


@pytest.mark.postgres
def test_two_phones_drawing_the_same_round_draw_once(pg_app):
    with pg_app.app_context(), pg_app.test_request_context():
        dealer = make_dealer("SZ01")
        staff = make_staff("event_staff", dealer.id)
        event = make_event(staff, now=NOW, kind=EventKind.LECTURE, capacity=20)
        for i in range(6):
            seat = services.sign_up(make_member(dealer.id, name=f"Owner {i}"), event.id)
            db.session.add(
                CheckIn(
                    registration_id=seat.id,
                    event_id=event.id,
                    checked_in_at=event.starts_at,
                    source="manual",
                )
            )
        prize = draws.add_prize(staff, event.id, name="Kit", quantity=5)
        ids = (staff.id, event.id, prize.id)
        db.session.commit()
    pg_app.extensions["clock"].advance(days=10)

    def draw():
        actor = db.session.get(User, ids[0])
        return draws.draw_prize(actor, ids[1], ids[2], count=1, round_expected=1).id

    results = race(pg_app, draw, racers=8)
    assert sum(isinstance(r, int) for r in results) == 1
    with pg_app.app_context():
        assert db.session.scalar(select(func.count(DrawWinner.id))) == 1
