"""The owner's points history and the card's expiry notice."""

from datetime import timedelta

import pytest

from app.extensions import db
from app.loyalty.ledger import post_points, refund_debit, reverse_entry
from app.loyalty.models import EntryKind
from app.loyalty.services import account_for
from app.members.models import Member
from tests.conftest import count_queries


def give_points(app, member_id, n, points=100, **kw):
    with app.app_context(), app.test_request_context():
        account = account_for(db.session.get(Member, member_id))
        entries = [
            post_points(
                account.id,
                points,
                kind=EntryKind.EARN,
                source="service_visit",
                reference=f"RO-{i}",
                **kw,
            )
            for i in range(n)
        ]
        db.session.commit()
        return [e.id for e in entries]


def test_history_says_why_each_line_changed_the_balance(app, member, member_client):
    ids = give_points(app, member["id"], 2)
    with app.app_context(), app.test_request_context():
        reverse_entry(ids[1], reason="refund")
        db.session.commit()
    page = member_client.get("/me/points").get_data(as_text=True)
    assert "+100" in page and "-100" in page
    assert "Service visit · RO-0" in page
    assert "Reversed: Service visit · RO-1" in page
    assert "<strong>100</strong> points" in page


def test_an_empty_history_explains_how_to_earn(member_client):
    assert "No points yet" in member_client.get("/me/points").get_data(as_text=True)


def test_history_is_paginated(app, member, member_client):
    give_points(app, member["id"], 35, points=1)
    first = member_client.get("/me/points").get_data(as_text=True)
    assert "Page 1 of 2" in first
    assert "RO-34" in first and "RO-0<" not in first
    assert "RO-0" in member_client.get("/me/points?page=2").get_data(as_text=True)


def test_card_and_history_use_the_same_number_of_queries_whatever_the_history(
    app, member, member_client
):
    give_points(app, member["id"], 3)
    # Warm the per-process cache of the yuan value of a point, so both counts compare alike.
    member_client.get("/card")
    with count_queries(app) as short:
        member_client.get("/card")
        member_client.get("/me/points")
    give_points(app, member["id"], 60)
    with count_queries(app) as long:
        member_client.get("/card")
        member_client.get("/me/points")
    assert len(long) == len(short)


def test_the_card_warns_of_points_expiring_within_60_days(app, member, member_client, clock):
    give_points(app, member["id"], 1, points=250)
    assert "expire in the next 60 days" not in member_client.get("/card").get_data(as_text=True)
    clock.advance(days=700)
    assert "250 points expire in the next 60 days." in member_client.get("/card").get_data(
        as_text=True
    )


def test_the_daily_expiry_job_expires_old_points_once(app, member, clock):
    give_points(app, member["id"], 1, points=250)
    clock.advance(days=800)
    runner = app.test_cli_runner()
    assert "Expired 250 points." in runner.invoke(args=["loyalty", "expire"]).output
    assert "Expired 0 points." in runner.invoke(args=["loyalty", "expire"]).output


def test_history_is_for_owners_only(client, staff_client):
    assert client.get("/me/points").status_code == 302
    assert staff_client.get("/me/points").status_code == 403


def test_the_daily_job_expires_points_and_runs_due_reviews(app, member, clock):
    give_points(app, member["id"], 1, points=250)
    clock.advance(days=800)
    output = app.test_cli_runner().invoke(args=["loyalty", "daily"]).output
    assert "expired 250 points; 0 tiers changed" in output
    again = app.test_cli_runner().invoke(args=["loyalty", "daily"]).output
    assert "expired 0 points; 0 tiers changed" in again


def test_the_card_shows_the_yuan_value_of_the_rules_in_force_that_day(
    member, member_client, staff_factory, clock
):
    give_points(member_client.application, member["id"], 1, points=1000)
    assert "≈ ¥10.00" in member_client.get("/card").get_data(as_text=True)
    hq = staff_factory("hq_admin", None)
    announced = hq.post(
        "/admin/earning-rules",
        data={
            "maintenance_rate": "100",
            "repair_rate": "100",
            "accident_rate": "50",
            "other_rate": "100",
            "anniversary_multiplier_pct": "200",
            "points_worth_one_yuan": "50",
            "note": "Points are worth twice as much",
            "effective_from": (clock.now().date() + timedelta(days=40)).isoformat(),
        },
        follow_redirects=True,
    )
    assert "New rules announced." in announced.get_data(as_text=True)
    # Announced, not in force: today's figure stays.
    assert "≈ ¥10.00" in member_client.get("/card").get_data(as_text=True)
    clock.advance(days=40)
    assert "≈ ¥20.00" in member_client.get("/card").get_data(as_text=True)


def test_an_event_deposit_and_its_return_read_as_words_in_both_languages(
    app, member, member_client
):
    """The deposit of an event used to show as the raw code "event_deposit"."""
    give_points(app, member["id"], 1)
    with app.app_context(), app.test_request_context():
        account = account_for(db.session.get(Member, member["id"]))
        deposit = post_points(
            account.id, -50, kind=EntryKind.REDEEM, source="event_deposit", reference="Lecture"
        )
        refund_debit(deposit.id, key="deposit-back", reason="event over")
        db.session.commit()
    page = member_client.get("/me/points").get_data(as_text=True)
    assert "event_deposit" not in page
    assert "Event deposit · Lecture" in page and "Reversed: Event deposit · Lecture" in page
    with app.app_context():
        db.session.get(Member, member["id"]).user.locale = "zh"
        db.session.commit()
    page = member_client.get("/me/points").get_data(as_text=True)
    assert "活动押金 · Lecture" in page
    assert "event_deposit" not in page and "Event deposit" not in page


def test_the_ledger_refuses_a_source_the_history_could_not_name(app, member):
    with app.app_context(), app.test_request_context():
        account = account_for(db.session.get(Member, member["id"]))
        with pytest.raises(ValueError, match="no label"):
            post_points(account.id, 10, kind=EntryKind.EARN, source="mystery")
