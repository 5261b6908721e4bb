"""Rewards and vouchers: redeeming points, cancelling, and using a voucher once at the counter."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.cards.services import active_card, card_token
from app.core.audit import AuditEntry
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.loyalty.ledger import InsufficientPoints
from app.loyalty.models import PointsEntry
from app.loyalty.services import account_for
from app.rewards.models import RewardKind, Voucher, VoucherStatus
from app.rewards.services import (
    CODE_ALPHABET,
    AlreadyRedeemed,
    VoucherRefused,
    cancel_voucher,
    catalog_for,
    issue_free_voucher,
    new_voucher_code,
    redeem_reward,
    redeem_voucher,
    save_reward,
    voucher_token,
    vouchers_for,
)
from tests.factories import (
    count_staff_made_rewards,
    give_points,
    make_member,
    make_reward,
    make_staff,
)


@pytest.fixture
def owner(ctx, dealers):
    return make_member(dealers["SZ01"], name="Zhang Wei")


@pytest.fixture
def desk(ctx, dealers):
    return make_staff("service_advisor", dealers["SZ01"])


def balance(member) -> int:
    return account_for(member).balance


def ledger_total(member) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
            PointsEntry.account_id == account_for(member).id
        )
    )


def voucher_count() -> int:
    return db.session.scalar(select(func.count(Voucher.id)))


def audit(action: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


# ------------------------------------------------------------------------------- redeeming


def test_redeeming_debits_the_points_takes_stock_and_issues_a_voucher(owner, dealers):
    give_points(owner, 1500)
    reward = make_reward(cost_points=1000, stock=3, validity_days=30, name="Car wash")

    voucher = redeem_reward(owner, reward.id)

    assert balance(owner) == 500 == ledger_total(owner)
    assert reward.stock == 2
    assert voucher.status == VoucherStatus.ISSUED
    assert voucher.member_id == owner.id
    assert voucher.cost_points == 1000
    # A group-wide reward is used at the owner's own dealer.
    assert voucher.dealer_id == dealers["SZ01"]
    # 23 Nov 2026 in Shanghai + 30 days.
    assert voucher.expires_on == date(2026, 12, 23)
    debit = db.session.get(PointsEntry, voucher.debit_entry_id)
    assert debit.delta == -1000 and debit.reference == "Car wash"
    assert len(voucher.code) == 10 and set(voucher.code) <= set(CODE_ALPHABET)


def test_a_dealers_reward_is_used_at_that_dealer(owner, dealers):
    give_points(owner, 1000)
    voucher = redeem_reward(owner, make_reward(dealers["SZ01"]).id)
    assert voucher.dealer_id == dealers["SZ01"]


def test_voucher_codes_avoid_characters_that_look_alike(ctx):
    codes = {new_voucher_code() for _ in range(300)}
    assert len(codes) == 300
    assert not set("".join(codes)) & set("0O1IL")


def test_not_enough_points_is_refused_and_changes_nothing(owner):
    give_points(owner, 999)
    reward = make_reward(cost_points=1000, stock=3)
    with pytest.raises(InsufficientPoints) as refused:
        redeem_reward(owner, reward.id)
    assert "Not enough points: 999 available." in str(refused.value.message)
    assert balance(owner) == 999 == ledger_total(owner)
    assert reward.stock == 3
    assert voucher_count() == 0


def test_an_out_of_stock_reward_is_refused_and_takes_no_points(owner):
    give_points(owner, 5000)
    reward = make_reward(cost_points=1000, stock=0)
    with pytest.raises(Conflict, match="out of stock"):
        redeem_reward(owner, reward.id)
    assert balance(owner) == 5000 == ledger_total(owner)
    assert reward.stock == 0
    assert voucher_count() == 0


def test_a_tier_reward_needs_the_tier(owner):
    give_points(owner, 6000)  # spendable, but not qualifying: still gold
    reward = make_reward(cost_points=1000, stock=5, min_tier_code="platinum")
    with pytest.raises(Forbidden) as refused:
        redeem_reward(owner, reward.id)
    assert str(refused.value.message) == "This reward is for Platinum members and above."
    assert balance(owner) == 6000 and reward.stock == 5 and voucher_count() == 0

    give_points(owner, 5000, qualifying=True)
    assert account_for(owner).tier_code == "platinum"
    assert redeem_reward(owner, reward.id).status == VoucherStatus.ISSUED
    assert balance(owner) == 10000


def test_inactive_and_other_dealers_rewards_cannot_be_redeemed(owner, dealers):
    give_points(owner, 5000)
    inactive = make_reward(active=False)
    with pytest.raises(Conflict, match="no longer offered"):
        redeem_reward(owner, inactive.id)
    with pytest.raises(NotFound):
        redeem_reward(owner, make_reward(dealers["GZ01"]).id)
    with pytest.raises(NotFound):
        redeem_reward(owner, 999_999)
    assert balance(owner) == 5000 and voucher_count() == 0


# ------------------------------------------------------------------------------- the catalog


def test_the_catalog_shows_what_the_owner_can_redeem_and_why_not(owner, dealers):
    give_points(owner, 1200)
    cheap = make_reward(cost_points=500, name="Cheap")
    dear = make_reward(cost_points=2000, name="Dear")
    tiered = make_reward(cost_points=100, min_tier_code="diamond", name="Diamond only")
    empty = make_reward(cost_points=10, stock=0, name="Gone")
    mine = make_reward(dealers["SZ01"], cost_points=800, name="SZ01 only")
    make_reward(dealers["GZ01"], name="GZ01 only")
    make_reward(active=False, name="Retired")

    items = catalog_for(owner)

    assert [i.reward for i in items] == [tiered, cheap, mine, dear, empty]
    why = {i.reward.name: (i.can_redeem, i.why_not) for i in items}
    assert why == {
        "Cheap": (True, ""),
        "SZ01 only": (True, ""),
        "Dear": (False, "You need 800 more points"),
        "Diamond only": (False, "For Diamond members and above"),
        "Gone": (False, "Out of stock"),
    }


# ------------------------------------------------------------------------------ cancelling


def test_cancelling_returns_exactly_the_points_and_the_stock(owner):
    give_points(owner, 700)
    give_points(owner, 700)
    reward = make_reward(cost_points=1000, stock=2)
    voucher = redeem_reward(owner, reward.id)
    assert balance(owner) == 400

    cancel_voucher(owner, voucher.id)

    assert balance(owner) == 1400 == ledger_total(owner)
    lots = db.session.scalar(
        select(func.sum(PointsEntry.remaining)).where(
            PointsEntry.account_id == account_for(owner).id
        )
    )
    assert lots == 1400
    assert reward.stock == 2
    assert voucher.status == VoucherStatus.CANCELLED and voucher.cancelled_at is not None
    refund = db.session.get(PointsEntry, voucher.refund_entry_id)
    assert refund.delta == 1000 and refund.reverses_id == voucher.debit_entry_id

    with pytest.raises(Conflict, match="already cancelled"):
        cancel_voucher(owner, voucher.id)
    assert balance(owner) == 1400


def test_only_an_unused_unexpired_own_voucher_can_be_cancelled(owner, desk, dealers, clock):
    give_points(owner, 3000)
    used = redeem_reward(owner, make_reward().id)
    redeem_voucher(desk, used.code, dealer_id=dealers["SZ01"])
    with pytest.raises(Conflict, match="already used"):
        cancel_voucher(owner, used.id)

    other = make_member(dealers["SZ01"], name="Li Na")
    mine = redeem_reward(owner, make_reward().id)
    with pytest.raises(NotFound):
        cancel_voucher(other, mine.id)

    clock.advance(days=31)
    with pytest.raises(Conflict, match="expired"):
        cancel_voucher(owner, mine.id)
    assert mine.status == VoucherStatus.ISSUED
    assert balance(owner) == 1000


# -------------------------------------------------------------------------------- counter


@pytest.fixture
def voucher(owner):
    give_points(owner, 1000)
    return redeem_reward(owner, make_reward(cost_points=1000, name="Car wash").id)


def test_staff_redeem_a_typed_code_once(voucher, desk, dealers, clock):
    typed = f" {voucher.code[:5].lower()}- {voucher.code[5:]} "
    redeemed = redeem_voucher(desk, typed, dealer_id=dealers["SZ01"])
    used_at = clock.now()
    assert redeemed is voucher
    assert voucher.status == VoucherStatus.REDEEMED
    assert voucher.redeemed_at == used_at
    assert voucher.redeemed_by_id == desk.id
    [entry] = audit("voucher.redeemed")
    assert entry.actor_id == desk.id and entry.subject_id == voucher.id
    assert entry.dealer_id == dealers["SZ01"]

    clock.advance(minutes=10)
    with pytest.raises(AlreadyRedeemed) as again:
        redeem_voucher(desk, voucher.code, dealer_id=dealers["SZ01"])
    assert again.value.reason == "already_redeemed"
    assert again.value.redeemed_at == used_at
    assert str(again.value.message) == "This voucher was already used."
    assert voucher.redeemed_at == used_at
    [refusal] = audit("voucher.refused")
    assert refusal.details["reason"] == "already_redeemed"


def test_staff_redeem_the_signed_qr_token(voucher, desk, dealers):
    assert redeem_voucher(desk, voucher_token(voucher), dealer_id=dealers["SZ01"]) is voucher
    assert voucher.status == VoucherStatus.REDEEMED


def test_the_api_redeems_without_a_staff_member(voucher, dealers):
    redeem_voucher(None, voucher.code, dealer_id=dealers["SZ01"])
    assert voucher.status == VoucherStatus.REDEEMED and voucher.redeemed_by_id is None
    with pytest.raises(VoucherRefused) as again:
        redeem_voucher(None, voucher.code, dealer_id=dealers["SZ01"])
    assert isinstance(again.value, AlreadyRedeemed) and again.value.redeemed_at is not None


def refused(desk, text, dealer_id) -> VoucherRefused:
    with pytest.raises(VoucherRefused) as refusal:
        redeem_voucher(desk, text, dealer_id=dealer_id)
    assert refusal.value.redeemed_at is None
    return refusal.value


def test_another_dealers_voucher_is_refused_but_hq_can_redeem_it(voucher, dealers):
    gz_desk = make_staff("service_advisor", dealers["GZ01"])
    refusal = refused(gz_desk, voucher.code, dealers["GZ01"])
    assert refusal.reason == "other_dealer"
    assert str(refusal.message) == "This voucher can only be used at another dealer."
    assert voucher.status == VoucherStatus.ISSUED
    [logged] = audit("voucher.refused")
    assert logged.dealer_id == dealers["GZ01"] and logged.details == {"reason": "other_dealer"}

    hq = make_staff("hq_admin", None)
    assert redeem_voucher(hq, voucher.code, dealer_id=None) is voucher


def test_only_hq_may_redeem_without_a_dealer(voucher, desk):
    with pytest.raises(Forbidden):
        redeem_voucher(desk, voucher.code, dealer_id=None)
    with pytest.raises(Forbidden):
        redeem_voucher(None, voucher.code, dealer_id=None)
    assert voucher.status == VoucherStatus.ISSUED


def test_an_expired_voucher_is_refused(voucher, desk, dealers, clock):
    # 24 Dec 01:00 in Shanghai (still 23 Dec in UTC): the day after its last day.
    clock.advance(days=30, hours=15)
    refusal = refused(desk, voucher.code, dealers["SZ01"])
    assert refusal.reason == "expired"
    assert str(refusal.message) == "This voucher has expired."
    assert voucher.status == VoucherStatus.ISSUED and voucher.redeemed_at is None


def test_a_voucher_is_good_on_its_last_day(voucher, desk, dealers, clock):
    clock.advance(days=30, hours=13)  # 23 Dec 23:00 in Shanghai
    assert redeem_voucher(desk, voucher.code, dealer_id=dealers["SZ01"]) is voucher


def test_a_cancelled_voucher_is_refused(voucher, owner, desk, dealers):
    cancel_voucher(owner, voucher.id)
    refusal = refused(desk, voucher.code, dealers["SZ01"])
    assert refusal.reason == "cancelled"
    assert voucher.status == VoucherStatus.CANCELLED
    assert balance(owner) == 1000


def test_forged_and_unknown_codes_are_refused(voucher, owner, desk, dealers):
    token = voucher_token(voucher)
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    cases = {
        forged: "forged",
        "CC1.not-a-token": "forged",
        card_token(active_card(owner)).token: "wrong_kind",
        "ABCDE-FGHJK": "unknown",
        "hello": "unknown",
        "": "unknown",
    }
    for text, reason in cases.items():
        assert refused(desk, text, dealers["SZ01"]).reason == reason, text
    assert voucher.status == VoucherStatus.ISSUED
    assert [e.details["reason"] for e in audit("voucher.refused")] == list(cases.values())


# ----------------------------------------------------------------------------- the lists


def test_an_owners_vouchers_are_split_into_usable_used_and_ended(owner, desk, dealers, clock):
    give_points(owner, 10_000)
    used = redeem_reward(owner, make_reward(validity_days=100).id)
    redeem_voucher(desk, used.code, dealer_id=dealers["SZ01"])
    cancelled = redeem_reward(owner, make_reward(validity_days=100).id)
    cancel_voucher(owner, cancelled.id)
    soon = redeem_reward(owner, make_reward(validity_days=1).id)
    clock.advance(days=2)
    fresh = redeem_reward(owner, make_reward(validity_days=100).id)

    lists = vouchers_for(owner)
    assert lists.active == [fresh]
    assert lists.used == [used]
    assert lists.ended == [soon, cancelled]


# ------------------------------------------------------------------------------- free ones


def test_a_free_voucher_is_given_once_per_key_and_costs_nothing(owner):
    reward = make_reward(cost_points=3000, stock=1, name="Regular maintenance")
    first = issue_free_voucher(owner, reward, source="referral", key="17")
    again = issue_free_voucher(owner, reward, source="referral", key="17")
    other = issue_free_voucher(owner, reward, source="referral", key="18")
    assert again is first and other is not first
    assert first.source == "referral:17" and first.cost_points == 0
    assert first.debit_entry_id is None
    assert reward.stock == 1 and balance(owner) == 0
    with pytest.raises(Conflict, match="gift"):
        cancel_voucher(owner, first.id)


# ---------------------------------------------------------------------------- catalog admin


def reward_fields(**overrides):
    return {
        "name": "Fuel card ¥50",
        "description": "Sinopec",
        "kind": "fuel_voucher",
        "cost_points": 5000,
        "stock": 50,
        "min_tier_code": "",
        "validity_days": 60,
        "image_url": "",
        "active": True,
        "dealer_id": None,
        **overrides,
    }


def test_hq_creates_group_wide_rewards_and_the_change_is_audited(ctx, dealers):
    hq = make_staff("hq_admin", None)
    reward = save_reward(hq, None, **reward_fields())
    assert reward.dealer_id is None and reward.kind == RewardKind.FUEL_VOUCHER
    assert reward.min_tier_code is None and reward.image_url is None
    save_reward(hq, reward, **reward_fields(stock=40, dealer_id=dealers["GZ01"]))
    assert reward.stock == 40 and reward.dealer_id == dealers["GZ01"]
    created, changed = audit("reward.created"), audit("reward.changed")
    assert created[0].actor_id == hq.id and created[0].details["changes"]["cost_points"] == 5000
    assert changed[0].details["changes"] == {
        "stock": [50, 40],
        "dealer_id": [None, dealers["GZ01"]],
    }


def test_a_dealer_admin_manages_only_their_own_dealers_rewards(ctx, dealers):
    admin = make_staff("dealer_admin", dealers["SZ01"])
    own = save_reward(admin, None, **reward_fields(dealer_id=dealers["SZ01"]))
    assert own.dealer_id == dealers["SZ01"]
    for dealer_id in (None, dealers["GZ01"]):
        with pytest.raises(Forbidden):
            save_reward(admin, None, **reward_fields(dealer_id=dealer_id))
    with pytest.raises(Forbidden):
        save_reward(admin, own, **reward_fields(dealer_id=None))
    group_wide = make_reward()
    with pytest.raises(Forbidden):
        save_reward(admin, group_wide, **reward_fields(dealer_id=dealers["SZ01"]))
    assert group_wide.dealer_id is None
    with pytest.raises(Forbidden):
        save_reward(make_staff("sales_consultant", dealers["SZ01"]), None, **reward_fields())
    assert count_staff_made_rewards() == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "  "),
        ("cost_points", 0),
        ("stock", -1),
        ("validity_days", 0),
        ("min_tier_code", "bronze"),
        ("kind", "spaceship"),
        ("image_url", "https://example.com/x.png"),
    ],
)
def test_bad_reward_values_are_refused(ctx, dealers, field, value):
    hq = make_staff("hq_admin", None)
    with pytest.raises(ValidationFailed) as refused:
        save_reward(hq, None, **reward_fields(**{field: value}))
    assert refused.value.field == field
    assert count_staff_made_rewards() == 0
