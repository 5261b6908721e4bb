"""`flask loyalty reconcile`: a ledger that went through earn, spend, reversal, cancellation,
expiry and an event deposit agrees; each invariant broken by hand is reported."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.events import services as events
from app.events.checkin import check_in, ticket_token
from app.events.models import EventKind
from app.extensions import db
from app.loyalty.ledger import expire_points, post_points, refund_debit, reverse_entry
from app.loyalty.models import EntryKind, PointsEntry
from app.loyalty.reconcile import reconcile_ledger
from app.loyalty.services import account_for
from tests.factories import give_points, make_event, make_member, make_staff


@pytest.fixture
def books(ctx, dealers, clock):
    """Three owners' ledgers after a year and more of ordinary business, and a lecture with a
    points deposit that ended: one owner came, one did not, one cancelled."""
    staff = make_staff("event_staff", dealers["SZ01"])
    came, stayed_away, cancelled = (make_member(dealers["SZ01"], name=n) for n in "ABC")
    old = give_points(came, 1000)
    for member in (came, stayed_away, cancelled):
        give_points(member, 500)
    redeemed = post_points(
        account_for(came).id, -1200, kind=EntryKind.REDEEM, source="reward", now=clock.now()
    )
    reverse_entry(old.id, reason="refund")
    refund_debit(redeemed.id, key=f"cancel:{redeemed.id}", reason="voucher cancelled")
    lecture = make_event(
        staff, now=clock.now(), kind=EventKind.LECTURE, deposit_points=80, waiver_text=""
    )
    places = {m: events.sign_up(m, lecture.id) for m in (came, stayed_away, cancelled)}
    events.cancel_registration(cancelled, places[cancelled].id)
    clock.at = lecture.starts_at + timedelta(minutes=30)
    check_in(staff, event_id=lecture.id, ticket=ticket_token(places[came]))
    clock.advance(days=800)
    expire_points()
    for member in (came, stayed_away):
        give_points(member, 300)
    return {"came": came, "stayed_away": stayed_away, "places": places}


def checks() -> list[tuple[str, int]]:
    return sorted((b.check, b.member_id) for b in reconcile_ledger())


def test_ordinary_business_keeps_the_books(books):
    assert reconcile_ledger() == []


def test_a_clean_ledger_passes_the_command(app, books):
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["loyalty", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "the books agree" in result.output


def sql(statement: str, **params) -> None:
    db.session.execute(text(statement), params)
    db.session.expire_all()


def account_id(member) -> int:
    return account_for(member).id


def test_a_balance_that_is_not_its_entries_is_reported(app, books):
    came = books["came"]
    sql("UPDATE points_accounts SET balance = balance + 5 WHERE id = :a", a=account_id(came))
    assert checks() == [("entries", came.id), ("lots", came.id)]
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["loyalty", "reconcile", "--json"])
    assert result.exit_code == 1
    reported = json.loads(result.output)["breaches"]
    assert {(b["check"], b["account_id"], b["member_id"]) for b in reported} == {
        ("entries", account_id(came), came.id),
        ("lots", account_id(came), came.id),
    }


def test_lots_that_are_not_the_balance_are_reported(books):
    member = books["stayed_away"]
    lot = db.session.scalar(
        select(PointsEntry.id).where(
            PointsEntry.account_id == account_id(member), PointsEntry.remaining > 0
        )
    )
    sql("UPDATE points_entries SET remaining = remaining - 1 WHERE id = :lot", lot=lot)
    assert checks() == [("lots", member.id)]


def test_a_debt_left_while_the_owner_has_points_is_reported(books):
    member = books["stayed_away"]
    sql("UPDATE points_accounts SET debt = 10 WHERE id = :a", a=account_id(member))
    assert ("debt", member.id) in checks()


def test_a_debit_whose_allocations_are_not_its_points_is_reported(books):
    came = books["came"]
    sql(
        "UPDATE points_allocations SET amount = amount + 1 WHERE id = (SELECT MIN(a.id) FROM"
        " points_allocations a JOIN points_entries e ON e.id = a.debit_id WHERE e.account_id = :a)",
        a=account_id(came),
    )
    assert checks() == [("allocations", came.id)]


def test_an_earning_taken_beyond_its_points_is_reported(books):
    """The refund-on-the-expiry-day leak: the reversal took it all and its lot expired too."""
    came = books["came"]
    old = db.session.scalar(
        select(PointsEntry).where(
            PointsEntry.account_id == account_id(came), PointsEntry.reversed_at.is_not(None)
        )
    )
    expiry = db.session.scalar(
        select(PointsEntry.id).where(
            PointsEntry.account_id == account_id(came), PointsEntry.kind == EntryKind.EXPIRE
        )
    )
    sql(
        "INSERT INTO points_allocations (debit_id, lot_id, amount) VALUES (:e, :lot, 1000)",
        e=expiry,
        lot=old.id,
    )
    found = checks()
    assert ("overtaken", came.id) in found
    assert {check for check, _ in found} == {"overtaken", "allocations"}


@pytest.mark.parametrize("status", ["cancelled", "waiting", "offered", "expired"])
def test_an_ended_event_still_holding_a_deposit_is_reported(books, status):
    """Only an owner who held a place and did not come leaves the deposit behind."""
    member = books["stayed_away"]
    sql(
        "UPDATE event_registrations SET status = :s WHERE id = :r",
        s=status,
        r=books["places"][member].id,
    )
    assert checks() == [("deposits", member.id)]


def test_a_checked_in_owner_whose_deposit_was_not_returned_is_reported(books):
    came = books["came"]
    sql(
        "UPDATE points_entries SET idempotency_key = 'x' || idempotency_key"
        " WHERE idempotency_key LIKE 'deposit-return:%' AND account_id = :a",
        a=account_id(came),
    )
    assert checks() == [("deposits", came.id)]


def test_a_debt_no_reversal_accounts_for_is_reported(books):
    """The cancelled-voucher leak: points given back to a reversed earning expired at once and
    its debt stayed, to be taken again from the owner's next earnings."""
    member = books["stayed_away"]
    sql("UPDATE points_accounts SET debt = 40 WHERE id = :a", a=account_id(member))
    assert ("owed", member.id) in checks()
