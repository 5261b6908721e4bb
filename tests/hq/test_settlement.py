"""The monthly points settlement: every entry of a month lands on one line of one dealer's
statement, the statements add up to the ledger, and the money follows the funding rule."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.core.errors import NotFound
from app.extensions import db
from app.hq.months import Month
from app.hq.settlement import (
    Lines,
    Statement,
    dealer_statement,
    ledger_month_totals,
    month_lines,
    settlement_overview,
    value_fen,
)
from app.loyalty.adjustments import request_adjustment
from app.loyalty.ledger import expire_points, post_points, reverse_entry
from app.loyalty.models import EntryKind, PointsEntry
from app.loyalty.services import account_for
from app.members import services as members
from app.rewards.services import cancel_voucher, redeem_reward
from app.service.services import record_visit, refund_visit
from tests.factories import make_event, make_member, make_reward, make_staff, make_vehicle

NOVEMBER = Month(date(2026, 11, 1))
# 2026-11-01 00:30 in Shanghai is still October in UTC.
EARLY_NOVEMBER = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)
LATE_OCTOBER = datetime(2026, 10, 31, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
MID_NOVEMBER = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _earn(member, points, *, at, dealer_id=None, key=None):
    return post_points(
        account_for(member).id,
        points,
        kind=EntryKind.EARN,
        source="service_visit",
        key=key,
        qualifying=True,
        dealer_id=dealer_id,
        now=at,
    )


@pytest.fixture
def month_of_activity(ctx, network):
    """A November of every kind of entry at SZ01 and GZ01, and entries just outside it."""
    sz, gz = network["SZ01"], network["GZ01"]
    owner = make_member(sz, name="Zhang Wei")
    car = make_vehicle(owner)
    other = make_member(gz, name="Zhou Min")
    # Outside November: the day before (local time), and an old lot that expires in November.
    _earn(owner, 700, at=LATE_OCTOBER)
    _earn(other, 300, at=datetime(2024, 11, 15, 2, 0, tzinfo=UTC))
    # November: SZ01 visits (one refunded), goodwill, an owner of SZ01 served at GZ01.
    record_visit(
        None, dealer_id=sz, ro_number="RO-1", vin=car.vin, visited_on=date(2026, 11, 1),
        mileage_km=1000, amount_fen=250_000, category="maintenance", now=EARLY_NOVEMBER,
    )  # fmt: skip
    record_visit(
        None, dealer_id=sz, ro_number="RO-2", vin=car.vin, visited_on=date(2026, 11, 9),
        mileage_km=1100, amount_fen=80_000, category="repair", now=MID_NOVEMBER,
    )  # fmt: skip
    refund_visit(None, dealer_id=sz, ro_number="RO-2", now=MID_NOVEMBER + timedelta(hours=1))
    advisor = make_staff("service_advisor", sz)
    request_adjustment(advisor, owner, points=200, reason="late car wash", now=MID_NOVEMBER)
    _earn(owner, 450, at=MID_NOVEMBER, dealer_id=gz)
    # Redemptions at SZ01 (one cancelled) and at GZ01; GZ01's old lot expires.
    reward = make_reward(sz, cost_points=1000)
    kept = redeem_reward(owner, reward.id, now=MID_NOVEMBER)
    cancelled = redeem_reward(owner, reward.id, now=MID_NOVEMBER)
    cancel_voucher(owner, cancelled.id, now=MID_NOVEMBER + timedelta(hours=2))
    gz_reward = make_reward(gz, cost_points=100)
    redeem_reward(other, gz_reward.id, now=MID_NOVEMBER)
    expire_points(now=datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    # December: must not touch November.
    _earn(owner, 999, at=datetime(2026, 11, 30, 16, 0, tzinfo=UTC))
    db.session.flush()
    return {"sz": sz, "gz": gz, "owner": owner, "kept": kept}


def test_each_line_of_a_dealers_statement_sums_its_entries(month_of_activity):
    sz, gz = month_of_activity["sz"], month_of_activity["gz"]
    lines = month_lines(NOVEMBER)
    # ¥2,500 maintenance = 2,500 points; ¥800 repair = 800 points, then refunded.
    assert lines[sz] == Lines(
        earned=3300, goodwill=200, reversed=800, redeemed=2000, returned=1000, expired=0, entries=7
    )
    # GZ01 issued the 450 points of its visit; it honoured a 100-point voucher; 200 of its
    # owner's old points (300 less the 100 just spent) expired.
    assert lines[gz] == Lines(
        earned=450, goodwill=0, reversed=0, redeemed=100, returned=0, expired=200, entries=3
    )
    assert lines[sz].issued == 2700
    assert lines[sz].redeemed_net == 1000


def test_the_statements_add_up_to_the_ledgers_month_to_the_point(month_of_activity):
    per_dealer = month_lines(NOVEMBER)
    everyone = sum(per_dealer.values(), Lines())
    ledger = ledger_month_totals(NOVEMBER)
    assert everyone.earned == ledger["earn+"]
    assert everyone.goodwill == ledger.get("adjust+", 0) + ledger.get("adjust-", 0)
    assert everyone.reversed == -ledger["reverse-"]
    assert everyone.returned == ledger["reverse+"]
    assert everyone.redeemed == -ledger["redeem-"]
    assert everyone.expired == -ledger["expire-"]
    assert everyone.entries == ledger["entries"]
    # What the statements say the balances did is what the entries did.
    in_month = select(func.sum(PointsEntry.delta)).where(
        PointsEntry.created_at >= NOVEMBER.starts, PointsEntry.created_at < NOVEMBER.ends
    )
    assert everyone.balance_change == db.session.scalar(in_month) == ledger["sum"]


def test_the_overview_total_is_the_ledgers_month(month_of_activity, network):
    hq = make_staff("hq_admin", None)
    report = settlement_overview(hq, month=NOVEMBER, now=NOW)
    table = report.table("dealers")
    assert [row[0].text for row in table.rows] == ["SH01", "GZ01", "SZ01"]
    issued, redeemed, expired = (int(cell.text) for cell in table.totals[1:4])
    ledger = ledger_month_totals(NOVEMBER)
    assert issued == ledger["earn+"] + ledger.get("adjust+", 0) + ledger["reverse-"]
    assert redeemed == -ledger["redeem-"] - ledger["reverse+"]
    assert expired == -ledger["expire-"]


def test_the_net_follows_the_funding_rule(month_of_activity):
    sz = month_of_activity["sz"]
    hq = make_staff("hq_admin", None)
    statement = dealer_statement(hq, sz, month=NOVEMBER, now=NOW).facts["statement"]
    # 100 points = ¥1: SZ01 funds 2,700 points (¥27), HQ funds 1,000 redeemed (¥10).
    assert (statement.issued_fen, statement.redeemed_fen, statement.net_fen) == (2700, 1000, -1700)
    assert statement.direction() == "The dealer pays HQ"


def test_a_transfer_does_not_move_earlier_points_to_the_new_chapter(ctx, network):
    sz, gz = network["SZ01"], network["GZ01"]
    owner = make_member(sz)
    _earn(owner, 600, at=datetime(2026, 10, 10, 2, 0, tzinfo=UTC))
    transfer = members.request_transfer(owner, to_dealer_id=gz, reason="moved")
    members.decide_transfer(make_staff("hq_admin", None), transfer.id, approve=True)
    assert owner.dealer_id == gz
    _earn(owner, 50, at=MID_NOVEMBER)
    october = Month(date(2026, 10, 1))
    assert month_lines(october)[sz].earned == 600
    assert gz not in month_lines(october)
    assert month_lines(NOVEMBER)[gz].earned == 50


def test_a_reversal_belongs_to_the_dealer_and_month_it_is_posted(ctx, network):
    sz, gz = network["SZ01"], network["GZ01"]
    owner = make_member(sz)
    entry = _earn(owner, 400, at=datetime(2026, 10, 10, 2, 0, tzinfo=UTC), dealer_id=gz)
    reverse_entry(entry.id, reason="wrong car", now=MID_NOVEMBER)
    assert month_lines(Month(date(2026, 10, 1)))[gz].issued == 400
    assert month_lines(NOVEMBER)[gz] == Lines(reversed=400, entries=1)


@pytest.mark.parametrize(
    ("points", "worth_one_yuan", "fen"),
    [(150, 100, 150), (1, 3, 33), (2, 3, 67), (-2, 3, -67), (0, 100, 0), (5, 10, 50)],
)
def test_points_are_valued_half_up_to_the_fen(points, worth_one_yuan, fen):
    assert value_fen(points, worth_one_yuan) == fen


def test_the_point_value_of_the_months_last_day_prices_it():
    statement = Statement(Lines(earned=1000, redeemed=3000), points_worth_one_yuan=50)
    assert (statement.issued_fen, statement.redeemed_fen, statement.net_fen) == (2000, 6000, 4000)
    assert statement.direction() == "HQ pays the dealer"


def test_a_dealer_admin_sees_only_their_own_dealer(ctx, network):
    admin = make_staff("dealer_admin", network["GZ01"])
    report = settlement_overview(admin, month=NOVEMBER, now=NOW)
    assert [row[0].text for row in report.table("dealers").rows] == ["GZ01"]
    with pytest.raises(NotFound):
        dealer_statement(admin, network["SZ01"], month=NOVEMBER, now=NOW)


def test_the_backfill_attributes_existing_entries_to_their_source(db_app):
    """Migration 0013's backfill, run on entries posted without a dealer."""
    from importlib import import_module

    backfill = import_module("migrations.versions.0013_hq_operations")._BACKFILL
    with db_app.app_context(), db_app.test_request_context():
        from tests.factories import make_dealer

        sz, gz = make_dealer("SZ01").id, make_dealer("GZ01").id
        owner = make_member(sz)
        car = make_vehicle(owner)
        visit = record_visit(
            None, dealer_id=sz, ro_number="RO-9", vin=car.vin, visited_on=date(2026, 11, 1),
            mileage_km=10, amount_fen=50_000, category="maintenance",
        ).visit  # fmt: skip
        voucher = redeem_reward(owner, make_reward(None, cost_points=100).id)
        cancel_voucher(owner, voucher.id)
        plain = _earn(owner, 300, at=NOW)
        sh = make_dealer("SH01").id
        referral, registration = _referral_and_registration(owner, referral_at=sh, event_at=sh)
        referred = _post(owner, 500, "referral", reference=f"R{referral.id}")
        ticket = _post(owner, 300, "event", key=f"ticket:{registration.ticket_uuid}")
        deposit = _post(owner, -50, "event_deposit", key=f"deposit:{registration.ticket_uuid}")
        odd = _post(owner, 10, "referral", reference="R")  # no referral: the chapter
        # The owner has moved to GZ01 since: the sources still say SZ01.
        owner.dealer_id = gz
        db.session.execute(update(PointsEntry).values(dealer_id=None))
        for statement in backfill:
            db.session.execute(db.text(statement))
        by_id = dict(db.session.execute(select(PointsEntry.id, PointsEntry.dealer_id)).all())
        assert by_id[visit.entry_id] == sz
        assert by_id[voucher.debit_entry_id] == sz
        assert by_id[voucher.refund_entry_id] == sz
        # An earning without a source row falls back to the member's chapter.
        assert by_id[plain.id] == gz
        # The referral reward and the event's points and deposit: where they happened.
        assert [by_id[e.id] for e in (referred, ticket, deposit)] == [sh, sh, sh]
        assert by_id[odd.id] == gz
        db.session.rollback()


@pytest.mark.postgres
def test_the_backfill_finds_referrals_and_tickets_by_their_index_on_postgresql(pg_app):
    """One index lookup per entry, not a scan of every referral or registration per entry."""
    from importlib import import_module

    backfill = import_module("migrations.versions.0013_hq_operations")._BACKFILL
    lookups = {
        "FROM referrals r": "Index Scan using pk_referrals on referrals r",
        "FROM event_registrations r": "Index Scan using uq_event_registrations_ticket_uuid",
    }
    with pg_app.app_context():
        # Empty tables would be scanned anyway: make the planner use an index when it can.
        db.session.execute(db.text("SET enable_seqscan = off"))
        for source, lookup in lookups.items():
            (statement,) = [s for s in backfill if source in s]
            plan = "\n".join(row[0] for row in db.session.execute(db.text(f"EXPLAIN {statement}")))
            assert lookup in plan, plan
            assert "Seq Scan" not in plan, plan
        db.session.rollback()


def _post(owner, delta, source, *, reference=None, key=None):
    return post_points(
        account_for(owner).id,
        delta,
        kind=EntryKind.EARN if delta > 0 else EntryKind.REDEEM,
        source=source,
        reference=reference,
        key=key,
        now=NOW,
    )


def _referral_and_registration(owner, *, referral_at, event_at):
    """A referral of ``owner`` at one dealer and their registration to another's event."""
    from app.events.models import EventRegistration, RegistrationStatus
    from app.referrals.models import Referral, ReferralStatus

    staff = make_staff("event_staff", event_at)
    referral = Referral(
        dealer_id=referral_at,
        referrer_id=owner.id,
        friend_name="Friend",
        friend_mobile="13700000001",
        status=ReferralStatus.REGISTERED,
        registered_by_id=staff.id,
        registered_at=NOW,
    )
    registration = EventRegistration(
        event_id=make_event(staff, now=NOW).id,
        member_id=owner.id,
        status=RegistrationStatus.CONFIRMED,
        created_at=NOW,
        ticket_uuid="0f8fad5b-d9cb-469f-a165-70867728950e",
        ticket_code="HQST2345",
    )
    db.session.add_all([referral, registration])
    db.session.flush()
    return referral, registration


def test_the_point_value_in_force_on_the_months_last_day_prices_the_month(ctx, network):
    from app.loyalty.models import EarningRules

    db.session.add(
        EarningRules(
            effective_from=date(2026, 11, 15),
            maintenance_rate=100,
            repair_rate=100,
            accident_rate=50,
            other_rate=100,
            anniversary_multiplier_pct=200,
            points_worth_one_yuan=50,
            created_at=NOW,
        )
    )
    owner = make_member(network["SZ01"])
    _earn(owner, 1000, at=datetime(2026, 10, 10, 2, 0, tzinfo=UTC))
    _earn(owner, 1000, at=MID_NOVEMBER)
    hq = make_staff("hq_admin", None)
    october = dealer_statement(hq, network["SZ01"], month=Month(date(2026, 10, 1)), now=NOW)
    november = dealer_statement(hq, network["SZ01"], month=NOVEMBER, now=NOW)
    assert october.facts["statement"].issued_fen == 1000  # 100 points = ¥1
    assert november.facts["statement"].issued_fen == 2000  # 50 points = ¥1 from 15 November


def test_points_owed_from_a_refund_are_settled_with_the_dealer_of_the_refunded_visit(ctx, network):
    """An SZ01 owner serviced at GZ01 spends the points, GZ01 refunds the visit (a debt), the
    next earnings at SZ01 settle it: the settlement is GZ01's reversal, not SZ01's."""
    sz, gz = network["SZ01"], network["GZ01"]
    owner = make_member(sz)
    # The GZ01 visit (an owner of another chapter, as in month_of_activity).
    visit = _earn(owner, 500, at=EARLY_NOVEMBER, dealer_id=gz)
    redeem_reward(owner, make_reward(sz, cost_points=500).id, now=MID_NOVEMBER)
    reverse_entry(visit.id, reason="refunded", now=MID_NOVEMBER + timedelta(hours=1))
    assert account_for(owner).debt == 500
    _earn(owner, 300, at=MID_NOVEMBER + timedelta(days=1), dealer_id=sz)
    _earn(owner, 400, at=MID_NOVEMBER + timedelta(days=2), dealer_id=sz)
    assert (account_for(owner).debt, account_for(owner).balance) == (0, 200)

    lines = month_lines(NOVEMBER)
    assert lines[gz] == Lines(earned=500, reversed=500, entries=3)
    assert lines[sz] == Lines(earned=700, redeemed=500, entries=3)
    everyone = sum(lines.values(), Lines())
    ledger = ledger_month_totals(NOVEMBER)
    assert everyone.reversed == -ledger["reverse-"] and everyone.entries == ledger["entries"]
    assert everyone.balance_change == ledger["sum"]
    hq = make_staff("hq_admin", None)
    gz_statement = dealer_statement(hq, gz, month=NOVEMBER, now=NOW).facts["statement"]
    sz_statement = dealer_statement(hq, sz, month=NOVEMBER, now=NOW).facts["statement"]
    assert (gz_statement.issued_fen, sz_statement.issued_fen) == (0, 700)


def test_the_total_row_is_the_sum_of_the_dealers_rows_to_the_fen(ctx, network):
    """At 3 points = ¥1 each dealer's 2 redeemed points are worth ¥0.67: the total says
    ¥1.34, not the ¥1.33 that 4 points priced at once would give."""
    from app.loyalty.models import EarningRules

    db.session.add(
        EarningRules(
            effective_from=date(2026, 11, 1), maintenance_rate=100, repair_rate=100,
            accident_rate=50, other_rate=100, anniversary_multiplier_pct=200,
            points_worth_one_yuan=3, created_at=NOW,
        )
    )  # fmt: skip
    for code in ("SZ01", "GZ01"):
        owner = make_member(network[code])
        _earn(owner, 3, at=MID_NOVEMBER)
        post_points(account_for(owner).id, -2, kind=EntryKind.REDEEM, source="reward", now=NOW)
    report = settlement_overview(make_staff("hq_admin", None), month=NOVEMBER, now=NOW)
    table = report.table("dealers")
    funds = [[cell.text for cell in row[4:7]] for row in table.rows]
    assert funds == [["0.00", "0.00", "0.00"], ["1.00", "0.67", "-0.33"], ["1.00", "0.67", "-0.33"]]
    assert [cell.text for cell in table.totals[1:7]] == ["6", "4", "0", "2.00", "1.34", "-0.66"]
