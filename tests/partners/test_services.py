"""Partner perks: who may claim what, the limits and dates, the partner's once-only check,
the settlement, and managing partners, perks and logins."""

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.cards.services import active_card, card_token
from app.core.audit import AuditEntry
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.permissions import Role
from app.core.tokens import PREFIX
from app.extensions import db
from app.partners.claims import (
    PerkRefused,
    check_perk_code,
    claim_perk,
    claims_for,
    perk_token,
    perks_for,
)
from app.partners.models import Perk, PerkClaim
from app.partners.services import create_partner_user, perk_stats, save_partner, save_perk
from app.partners.settlement import parse_month, settlement_csv, settlement_for
from app.rewards.services import CODE_ALPHABET, format_voucher_code
from tests.factories import make_member, make_staff, next_mobile
from tests.partners.helpers import make_partner, make_partner_user, make_perk, set_tier


@pytest.fixture
def owner(ctx, dealers):
    return make_member(dealers["SZ01"], name="Zhang Wei")


@pytest.fixture
def hotel(ctx, dealers):
    """A group-wide hotel with a login for its front desk."""
    partner = make_partner(name="Longcheng Palace Hotel")
    return partner


@pytest.fixture
def front_desk(hotel):
    return make_partner_user(hotel)


def claims_count() -> int:
    return db.session.scalar(select(func.count(PerkClaim.id)))


def audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# ---------------------------------------------------------------------------------- claiming


def test_an_owner_claims_a_perk_and_gets_a_single_use_code(owner, hotel):
    perk = make_perk(hotel, title="Room upgrade", valid_until=date(2026, 12, 31))

    claim = claim_perk(owner, perk.id)

    assert len(claim.code) == 10 and set(claim.code) <= set(CODE_ALPHABET)
    assert claim.tier_code == "gold"
    assert claim.expires_on == date(2026, 12, 31)
    assert claim.honoured_at is None
    assert perk.claimed_count == 1
    token = perk_token(claim)
    assert token.startswith(PREFIX)
    assert claims_for(owner).ready == [claim]


def test_the_list_shows_the_dealers_and_group_wide_perks_and_why_not(owner, hotel, dealers):
    today = date(2026, 11, 23)
    local = make_partner(dealers["SZ01"], name="Binhai Car Spa", category="car_care")
    make_perk(local, title="Free wash")
    make_perk(hotel, title="Diamond suite", min_tier_code="diamond")
    make_perk(hotel, title="Wine evening", valid_from=today + timedelta(days=5))
    make_perk(hotel, title="Sold out", total_limit=1).claimed_count = 1
    make_perk(hotel, title="Ended", valid_from=today - timedelta(days=9), valid_until=today)
    make_perk(hotel, title="Long over", valid_from=date(2026, 1, 1), valid_until=date(2026, 2, 1))
    make_perk(hotel, title="Withdrawn", active=False)
    make_perk(make_partner(dealers["GZ01"]), title="Guangzhou only")
    make_perk(make_partner(active=False), title="Inactive partner")
    claim_perk(owner, make_perk(hotel, title="Breakfast").id)

    offers = {o.perk.title: o for o in perks_for(owner)}

    assert set(offers) == {
        "Free wash",
        "Diamond suite",
        "Wine evening",
        "Sold out",
        "Ended",
        "Breakfast",
    }
    assert offers["Free wash"].can_claim and offers["Ended"].can_claim
    assert offers["Diamond suite"].why_not == "For Diamond members and above"
    assert offers["Wine evening"].why_not == "From 28 Nov 2026"
    assert offers["Sold out"].why_not == "All claimed"
    assert offers["Breakfast"].why_not == "You have claimed it"
    assert offers["Breakfast"].claimed == 1
    claimable = [o.can_claim for o in perks_for(owner)]
    assert claimable == sorted(claimable, reverse=True)


def test_a_perk_above_the_owners_tier_is_refused_and_nothing_saved(owner, hotel):
    perk = make_perk(hotel, min_tier_code="platinum")

    with pytest.raises(Forbidden, match="This perk is for Platinum members and above"):
        claim_perk(owner, perk.id)
    assert claims_count() == 0
    assert perk.claimed_count == 0

    set_tier(owner, "platinum")
    assert claim_perk(owner, perk.id).tier_code == "platinum"


def test_a_diamond_member_may_claim_a_platinum_perk(owner, hotel):
    set_tier(owner, "diamond")
    claim = claim_perk(owner, make_perk(hotel, min_tier_code="platinum").id)
    assert claim.tier_code == "diamond"


def test_the_per_member_limit_holds(owner, hotel):
    perk = make_perk(hotel, limit_per_member=2)
    claim_perk(owner, perk.id)
    claim_perk(owner, perk.id)

    with pytest.raises(Conflict, match="already claimed this perk 2 times, the most allowed"):
        claim_perk(owner, perk.id)
    assert perk.claimed_count == 2
    assert claims_count() == 2


def test_a_perk_once_per_member_says_so(owner, hotel):
    perk = make_perk(hotel)
    claim_perk(owner, perk.id)
    with pytest.raises(Conflict, match="You have already claimed this perk"):
        claim_perk(owner, perk.id)


def test_the_total_limit_holds_across_members(owner, hotel, dealers):
    perk = make_perk(hotel, total_limit=2)
    claim_perk(make_member(dealers["SZ01"]), perk.id)
    claim_perk(make_member(dealers["GZ01"]), perk.id)

    with pytest.raises(Conflict, match="every one of these perks has been claimed"):
        claim_perk(owner, perk.id)
    assert perk.claimed_count == 2
    assert claims_count() == 2


def test_an_ended_perk_cannot_be_claimed(owner, hotel, clock):
    perk = make_perk(hotel, valid_until=date(2026, 11, 30))
    clock.advance(days=8)  # 1 December in Shanghai
    with pytest.raises(Conflict, match="This perk ended on 30 Nov 2026") as refused:
        claim_perk(owner, perk.id)
    assert refused.value.code == "expired"
    assert claims_count() == 0


def test_a_perk_cannot_be_claimed_before_its_first_day(owner, hotel):
    perk = make_perk(hotel, valid_from=date(2026, 12, 1), valid_until=date(2026, 12, 31))
    with pytest.raises(Conflict, match="can be claimed from 1 Dec 2026"):
        claim_perk(owner, perk.id)


def test_another_dealers_perk_is_not_found(owner, dealers):
    perk = make_perk(make_partner(dealers["GZ01"]))
    with pytest.raises(NotFound):
        claim_perk(owner, perk.id)
    with pytest.raises(NotFound):
        claim_perk(owner, 9999)


@pytest.mark.parametrize("inactive", ["perk", "partner"])
def test_a_withdrawn_perk_cannot_be_claimed(owner, hotel, inactive):
    perk = make_perk(hotel)
    (perk if inactive == "perk" else hotel).active = False
    with pytest.raises(Conflict, match="no longer offered"):
        claim_perk(owner, perk.id)


# -------------------------------------------------------------------------- partner's check


def test_the_partner_honours_a_code_once(owner, hotel, front_desk, clock):
    claim = claim_perk(owner, make_perk(hotel, title="Room upgrade").id)

    honoured = check_perk_code(front_desk, format_voucher_code(claim.code).lower())

    assert honoured is claim
    assert claim.honoured_at == clock.at
    assert claim.honoured_by_id == front_desk.id
    assert claims_for(owner).used == [claim]
    (entry,) = audit("perk.honoured")
    assert entry.details == {"perk": "Room upgrade", "tier": "gold"}

    clock.advance(hours=3)
    with pytest.raises(PerkRefused) as refused:
        check_perk_code(front_desk, perk_token(claim))
    # 02:00 UTC is 10:00 in Shanghai.
    assert refused.value.message == "Already used at 10:00 on 23 Nov 2026."
    assert refused.value.reason == "already_used"
    assert claim.honoured_at == clock.at - timedelta(hours=3)
    assert [e.details["reason"] for e in audit("perk.refused")] == ["already_used"]


def test_the_partner_honours_the_qr_text(owner, hotel, front_desk):
    claim = claim_perk(owner, make_perk(hotel).id)
    assert check_perk_code(front_desk, f"  {perk_token(claim)}\n") is claim


def test_another_partners_code_is_refused_and_not_used(owner, hotel, front_desk):
    wine_shop = make_partner(name="Qijiayu Wine")
    claim = claim_perk(owner, make_perk(wine_shop).id)

    for text in (claim.code, perk_token(claim)):
        with pytest.raises(PerkRefused, match="another partner's perk") as refused:
            check_perk_code(front_desk, text)
        assert refused.value.claim is None
    assert claim.honoured_at is None
    # The wine shop can still honour it.
    assert check_perk_code(make_partner_user(wine_shop), claim.code) is claim


def test_an_expired_code_is_refused(owner, hotel, front_desk, clock):
    claim = claim_perk(owner, make_perk(hotel, valid_until=date(2026, 11, 25)).id)
    clock.advance(days=3)
    with pytest.raises(PerkRefused, match="Expired: its last day was 25 Nov 2026"):
        check_perk_code(front_desk, claim.code)
    assert claim.honoured_at is None
    assert claims_for(owner).expired == [claim]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ZZZZZ-ZZZZZ", "unknown"),
        ("hello", "unknown"),
        ("CARD", "wrong_kind"),
        ("FORGED", "forged"),
    ],
)
def test_codes_that_cannot_be_trusted_are_refused(owner, hotel, front_desk, text, reason):
    claim = claim_perk(owner, make_perk(hotel).id)
    if text == "CARD":
        text = card_token(active_card(owner)).token
    elif text == "FORGED":
        token = perk_token(claim)
        text = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    with pytest.raises(PerkRefused) as refused:
        check_perk_code(front_desk, text)
    assert refused.value.reason == reason
    assert claim.honoured_at is None


def test_only_partner_users_check_codes(owner, hotel, dealers):
    claim = claim_perk(owner, make_perk(hotel).id)
    for user in (make_staff("dealer_admin", dealers["SZ01"]), make_staff("partner", None)):
        with pytest.raises(Forbidden):
            check_perk_code(user, claim.code)
    assert claim.honoured_at is None


# ------------------------------------------------------------------------------ settlement


def test_the_settlement_counts_perks_honoured_in_the_month_by_tier(
    owner, hotel, front_desk, dealers, clock
):
    upgrade = make_perk(hotel, title="Room upgrade", valid_until=date(2027, 1, 31))
    breakfast = make_perk(hotel, title="Breakfast", valid_until=date(2027, 1, 31))
    platinum = make_member(dealers["GZ01"], name="Li Na")
    set_tier(platinum, "platinum")
    for member, perk in [(owner, upgrade), (platinum, upgrade), (owner, breakfast)]:
        check_perk_code(front_desk, claim_perk(member, perk.id).code)
    claim_perk(platinum, breakfast.id)  # claimed, never honoured
    spa = make_partner(name="Spa")
    check_perk_code(make_partner_user(spa), claim_perk(owner, make_perk(spa).id).code)
    # 30 Nov 16:30 UTC is 1 December in Shanghai: next month's settlement.
    clock.at = clock.at.replace(day=30, hour=16, minute=30)
    late = claim_perk(make_member(dealers["SZ01"]), upgrade.id)
    check_perk_code(front_desk, late.code)

    report = settlement_for(hotel, date(2026, 11, 1))

    assert [(line.perk_title, line.tier_code, line.count) for line in report.lines] == [
        ("Breakfast", "gold", 1),
        ("Room upgrade", "gold", 1),
        ("Room upgrade", "platinum", 1),
    ]
    assert report.by_tier == {"gold": 2, "platinum": 1}
    assert report.total == 3
    assert settlement_for(hotel, date(2026, 12, 1)).total == 1

    raw = settlement_csv(report)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows == [
        ["Partner", "Month", "Perk", "Tier", "Perks honoured"],
        ["Longcheng Palace Hotel", "2026-11", "Breakfast", "Gold", "1"],
        ["Longcheng Palace Hotel", "2026-11", "Room upgrade", "Gold", "1"],
        ["Longcheng Palace Hotel", "2026-11", "Room upgrade", "Platinum", "1"],
        ["Longcheng Palace Hotel", "2026-11", "All perks", "Gold", "2"],
        ["Longcheng Palace Hotel", "2026-11", "All perks", "Platinum", "1"],
        ["Longcheng Palace Hotel", "2026-11", "All perks", "All tiers", "3"],
    ]


def test_a_chinese_partner_name_survives_the_csv(hotel):
    hotel.name = "北京龙城丽宫酒店"
    raw = settlement_csv(settlement_for(hotel, date(2026, 11, 1)))
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[-1] == ["北京龙城丽宫酒店", "2026-11", "All perks", "All tiers", "0"]


@pytest.mark.parametrize("text", ["2026-13", "26-11", "November", "2026-1", "1999-12"])
def test_a_bad_month_is_refused(ctx, text):
    with pytest.raises(ValidationFailed, match="Choose a month"):
        parse_month(text)


def test_the_month_defaults_to_this_one(ctx):
    assert parse_month("") == date(2026, 11, 1)
    assert parse_month("2026-02") == date(2026, 2, 1)


# ------------------------------------------------------------------- managing the partners


PARTNER = {
    "name": "Shenzhen Xinqijian Car Care",
    "category": "car_care",
    "address": "8 Shennan Road",
    "logo_url": "",
    "active": True,
}


def test_a_dealer_admin_adds_a_local_partner_but_not_a_group_wide_one(ctx, dealers):
    admin = make_staff("dealer_admin", dealers["SZ01"])
    partner = save_partner(admin, None, dealer_id=dealers["SZ01"], **PARTNER)
    assert partner.dealer_id == dealers["SZ01"] and partner.logo_url is None
    assert audit("partner.created")[0].dealer_id == dealers["SZ01"]

    for dealer_id in (None, dealers["GZ01"]):
        with pytest.raises(Forbidden):
            save_partner(admin, None, dealer_id=dealer_id, **PARTNER)
    with pytest.raises(Forbidden):
        save_partner(admin, make_partner(), dealer_id=dealers["SZ01"], **PARTNER)


def test_hq_adds_a_group_wide_partner(ctx, dealers):
    hq = make_staff("hq_admin", None)
    partner = save_partner(hq, None, dealer_id=None, **PARTNER)
    assert partner.dealer_id is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"category": "casino"}, "category"),
        ({"logo_url": "https://example.com/logo.png"}, "logo_url"),
        ({"logo_url": "//example.com/logo.png"}, "logo_url"),
    ],
)
def test_a_partner_needs_valid_values(ctx, changes, field):
    with pytest.raises(ValidationFailed) as refused:
        save_partner(make_staff("hq_admin", None), None, dealer_id=None, **{**PARTNER, **changes})
    assert refused.value.field == field


def perk_values(**changes):
    return {
        "title": "Free car wash",
        "description": "Exterior wash.",
        "min_tier_code": "",
        "valid_from": date(2026, 11, 23),
        "valid_until": date(2026, 12, 31),
        "limit_per_member": 1,
        "total_limit": None,
        "active": True,
        **changes,
    }


def test_perks_are_checked_and_changes_audited(owner, dealers):
    admin = make_staff("dealer_admin", dealers["SZ01"])
    partner = make_partner(dealers["SZ01"])
    perk = save_perk(admin, partner, None, **perk_values(total_limit=5))
    assert perk.min_tier_code is None and perk.claimed_count == 0

    claim_perk(owner, perk.id)
    claim_perk(make_member(dealers["SZ01"]), perk.id)
    with pytest.raises(Conflict, match="already claimed 2: the total cannot be lower") as err:
        save_perk(admin, partner, perk, **perk_values(total_limit=1))
    assert err.value.field == "total_limit"
    save_perk(admin, partner, perk, **perk_values(total_limit=2, min_tier_code="platinum"))
    assert perk.total_limit == 2 and perk.min_tier_code == "platinum"
    (changed,) = audit("perk.changed")
    assert changed.details["changes"] == {
        "total_limit": [5, 2],
        "min_tier_code": [None, "platinum"],
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": ""}, "title"),
        ({"valid_until": date(2026, 11, 1)}, "valid_until"),
        ({"limit_per_member": 0}, "limit_per_member"),
        ({"total_limit": 0}, "total_limit"),
        ({"min_tier_code": "bronze"}, "min_tier_code"),
    ],
)
def test_a_perk_needs_valid_values(ctx, changes, field):
    with pytest.raises(ValidationFailed) as refused:
        save_perk(make_staff("hq_admin", None), make_partner(), None, **perk_values(**changes))
    assert refused.value.field == field
    assert db.session.scalar(select(func.count(Perk.id))) == 0


def test_a_dealer_admin_cannot_change_a_group_wide_partners_perks(ctx, dealers):
    admin = make_staff("dealer_admin", dealers["SZ01"])
    with pytest.raises(Forbidden):
        save_perk(admin, make_partner(), None, **perk_values())


def test_a_partner_login_is_created_for_the_partner(ctx, dealers):
    admin = make_staff("dealer_admin", dealers["SZ01"])
    partner = make_partner(dealers["SZ01"])
    mobile = next_mobile("137")
    user = create_partner_user(admin, partner, mobile=mobile, name="Desk", password="long-pass-1")
    assert user.role == Role.PARTNER
    assert user.partner_id == partner.id
    assert user.dealer_id == dealers["SZ01"]
    assert not user.is_staff

    with pytest.raises(Conflict, match="already registered"):
        create_partner_user(admin, partner, mobile=mobile, name="Again", password="long-pass-1")
    with pytest.raises(ValidationFailed) as short:
        create_partner_user(
            admin, partner, mobile=next_mobile("137"), name="Short", password="short"
        )
    assert short.value.field == "password"
    with pytest.raises(Forbidden):
        create_partner_user(
            admin, make_partner(), mobile=next_mobile("137"), name="X", password="long-pass-1"
        )


def test_stats_count_claims_by_tier_and_those_honoured(owner, hotel, front_desk, dealers):
    perk = make_perk(hotel, total_limit=10)
    platinum = make_member(dealers["SZ01"])
    set_tier(platinum, "platinum")
    check_perk_code(front_desk, claim_perk(owner, perk.id).code)
    claim_perk(platinum, perk.id)

    (stats,) = perk_stats(hotel)
    assert stats.perk is perk
    assert stats.by_tier == {"gold": 1, "platinum": 1}
    assert stats.honoured == 1
    assert stats.left == 8
