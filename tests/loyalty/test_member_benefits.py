"""Member benefits (issue 21): the catalogue per tier in announced versions, uses and their
yearly limits (the membership year), exclusions, the anniversary gift's code, voiding. Dates
through the clock."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.loyalty.member_benefits import catalogue
from app.loyalty.member_benefits.anniversary import issue_anniversary_codes
from app.loyalty.member_benefits.models import AnniversaryCode, BenefitUse, UseStatus
from app.loyalty.member_benefits.uses import (
    UseClaim,
    membership_year,
    owner_benefits,
    record_use,
    void_use,
)
from app.loyalty.services import account_for
from app.members.models import Notification
from tests.factories import make_member, make_staff

WASH = UseClaim(code="car-wash")


@pytest.fixture
def owner(ctx, dealers):
    """An owner of SZ01 who joined today (2026-11-23)."""
    return make_member(dealers["SZ01"], name="Zhang Wei")


@pytest.fixture
def advisor(ctx, dealers):
    return make_staff("service_advisor", dealers["SZ01"])


@pytest.fixture
def hq(ctx):
    return make_staff("hq_admin", None)


def use(advisor, owner, claim=WASH, **kwargs):
    return record_use(advisor, owner, claim, dealer_id=owner.dealer_id, **kwargs)


def set_tier(owner, code: str) -> None:
    account_for(owner).tier_code = code
    db.session.flush()


def labour(ro="RO-1", category="maintenance", base=40_000, discount=20_000):
    return UseClaim(
        code="labour-discount",
        reference=ro,
        category=category,
        base_fen=base,
        discount_fen=discount,
    )


def test_the_first_catalogue_gives_each_tier_its_benefits(owner, clock):
    grouped = catalogue.by_tier(catalogue.catalogue_in_force(date(2026, 11, 23)))
    codes = {tier: [b.code for b in items] for tier, items in grouped.items()}
    assert codes["gold"] == ["parts-discount", "car-wash", "anniversary-gift"]
    assert "labour-discount" not in codes["platinum"]
    labour_benefit = grouped["diamond"][0]
    # seed 002: 工时5折(事故车维修除外)
    assert (labour_benefit.percent, labour_benefit.excluded) == (50, ("accident",))
    assert (
        catalogue.terms(labour_benefit) == "50% off labour (not for Accident repair) · every visit"
    )
    mine = owner_benefits(owner)
    assert [(i.benefit.code, i.left) for i in mine.items] == [
        ("parts-discount", None),
        ("car-wash", 2),
        ("anniversary-gift", 1),
    ]


@pytest.mark.parametrize(
    ("joined", "on", "year"),
    [
        (date(2026, 11, 23), date(2026, 11, 23), (date(2026, 11, 23), date(2027, 11, 23))),
        (date(2026, 11, 23), date(2027, 11, 22), (date(2026, 11, 23), date(2027, 11, 23))),
        (date(2026, 11, 23), date(2027, 11, 23), (date(2027, 11, 23), date(2028, 11, 23))),
        # Joined on 29 February: the anniversary is the 28th in other years.
        (date(2024, 2, 29), date(2025, 2, 28), (date(2025, 2, 28), date(2026, 2, 28))),
        (date(2024, 2, 29), date(2025, 2, 27), (date(2024, 2, 29), date(2025, 2, 28))),
    ],
)
def test_the_membership_year_starts_on_the_joining_anniversary(owner, joined, on, year):
    from app.core.clock import local_midnight

    owner.joined_at = local_midnight(joined) + timedelta(hours=10)
    assert membership_year(owner, on) == year


def test_a_free_item_is_used_up_to_its_yearly_limit_and_comes_back_next_year(owner, advisor, clock):
    first = use(advisor, owner)
    use(advisor, owner)
    assert first.created and first.use.year_start == date(2026, 11, 23)
    with pytest.raises(ValidationFailed) as refused:
        use(advisor, owner)
    assert str(refused.value.message) == (
        "Already used 2 of 2 times this membership year; it starts again on 23 Nov 2027."
    )
    assert [(i.benefit.code, i.used, i.left) for i in owner_benefits(owner).items][1] == (
        "car-wash",
        2,
        0,
    )

    clock.advance(days=364)  # 2027-11-22: still the first membership year
    with pytest.raises(ValidationFailed):
        use(advisor, owner)
    clock.advance(days=1)  # the anniversary: a new year
    assert use(advisor, owner).use.year_start == date(2027, 11, 23)
    assert owner_benefits(owner).items[1].left == 1


def test_the_count_follows_the_benefit_across_a_tier_upgrade(owner, advisor):
    use(advisor, owner)
    use(advisor, owner)
    set_tier(owner, "platinum")  # four washes a year: two are left
    assert owner_benefits(owner).items[1].left == 2
    use(advisor, owner)
    use(advisor, owner)
    with pytest.raises(ValidationFailed, match="4 of 4"):
        use(advisor, owner)


def test_a_benefit_of_another_tier_is_refused_naming_the_tiers_that_have_it(owner, advisor):
    with pytest.raises(ValidationFailed) as refused:
        use(advisor, owner, labour())
    assert refused.value.message == (
        "Not a benefit of the owner's tier (Gold): it comes with Diamond."
    )
    with pytest.raises(ValidationFailed, match="No such benefit"):
        use(advisor, owner, UseClaim(code="free-lunch"))
    assert db.session.scalar(select(func.count(BenefitUse.id))) == 0


def test_a_discount_checks_the_repair_order_exclusions_and_its_percent(owner, advisor):
    set_tier(owner, "diamond")
    refusals = [
        (labour(ro=""), "reference", "Give the repair order number."),
        (labour(category="accident"), "category", "Accident repair is excluded"),
        (labour(category=None), "category", "Choose the kind of work."),
        (labour(base=None), "base_yuan", "Give the amount before the discount."),
        (labour(discount=0), "discount_yuan", "Give the discount given."),
        (labour(discount=20_001), "discount_yuan", "At most ¥200.00: 50% of ¥400.00."),
    ]
    for claim, field, message in refusals:
        with pytest.raises(ValidationFailed) as refused:
            use(advisor, owner, claim)
        assert (refused.value.field, message in str(refused.value.message)) == (field, True)
    result = use(advisor, owner, labour())
    assert (result.use.discount_fen, result.use.category) == (20_000, "maintenance")


def test_the_same_repair_order_again_changes_nothing_and_other_figures_conflict(owner, advisor):
    set_tier(owner, "diamond")
    first = use(advisor, owner, labour())
    again = use(advisor, owner, labour(ro=" RO-1 "))
    assert (again.created, again.use.id) == (False, first.use.id)
    with pytest.raises(Conflict, match="other figures"):
        use(advisor, owner, labour(discount=10_000))
    # Discounts have no yearly limit: another repair order is another use.
    assert use(advisor, owner, labour(ro="RO-2")).created
    assert db.session.scalar(select(func.count(BenefitUse.id))) == 2


def test_a_use_is_audited_with_the_version_it_was_used_under(owner, advisor):
    result = use(advisor, owner)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "benefit.used"))
    assert entry.actor_id == advisor.id and entry.subject_id == owner.id
    assert entry.details["version"] == result.use.catalogue_id
    assert result.use.benefit.catalogue.effective_from == date(2000, 1, 1)


def _gold_check_up_draft(hq):
    draft = catalogue.start_draft(hq)
    catalogue.save_benefit(
        hq,
        None,
        {
            "tier_code": "gold",
            "code": "check-up",
            "kind": "free_item",
            "name_en": "Full computer check-up",
            "name_zh": "全车电脑深度检测",
            "percent": None,
            "excluded": [],
            "yearly_limit": 1,
        },
    )
    return draft


def test_a_change_is_announced_ahead_and_applies_on_its_day(owner, advisor, hq, clock):
    draft = _gold_check_up_draft(hq)
    note = "Gold gets a check-up"
    with pytest.raises(ValidationFailed, match="told in advance"):
        catalogue.announce_draft(hq, effective_from=date(2026, 12, 22), note=note)
    version = catalogue.announce_draft(hq, effective_from=date(2026, 12, 23), note=note)
    assert version is draft and catalogue.current_draft() is None
    assert [v.id for v in catalogue.upcoming_catalogues()] == [version.id]
    old_use = use(advisor, owner).use
    with pytest.raises(ValidationFailed) as refused:
        use(advisor, owner, UseClaim(code="check-up"))
    assert refused.value.message == "This benefit applies from 23 Dec 2026, not yet."

    clock.advance(days=30)
    check_up = use(advisor, owner, UseClaim(code="check-up")).use
    assert check_up.catalogue_id == version.id
    # Uses already recorded keep the version they were used under; washes count on.
    assert old_use.catalogue_id != version.id
    assert owner_benefits(owner).items[1].left == 1
    assert catalogue.upcoming_catalogues() == []


def test_the_draft_holds_a_copy_and_an_announced_version_never_changes(hq, clock):
    in_force = catalogue.catalogue_in_force(date(2026, 11, 23))
    draft = catalogue.start_draft(hq)
    assert len(draft.benefits) == len(in_force.benefits)
    with pytest.raises(Conflict):
        catalogue.start_draft(hq)
    wash = next(b for b in draft.benefits if b.tier_code == "gold" and b.code == "car-wash")
    catalogue.remove_benefit(hq, wash.id)
    with pytest.raises(NotFound):
        catalogue.draft_benefit(in_force.benefits[0].id)
    catalogue.discard_draft(hq)
    assert catalogue.current_draft() is None
    assert len(in_force.benefits) == 14


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"code": "Car Wash"}, "code", "lower-case"),
        ({"code": "car-wash"}, "code", "already has a benefit"),
        ({"code": "labour-discount"}, "code", "another kind of benefit"),
        ({"kind": "labour_discount", "code": "labour-x"}, "percent", "1 to 100"),
        (
            {
                "kind": "parts_discount",
                "code": "parts-x",
                "percent": 10,
                "excluded": ["maintenance", "repair", "accident", "other"],
            },
            "excluded",
            "gives nothing",
        ),
        ({"yearly_limit": None}, "yearly_limit", "how many times"),
        ({"yearly_limit": 400}, "yearly_limit", "Between 1 and 366"),
        ({"name_zh": "  "}, "name_zh", "80 characters"),
        ({"tier_code": "bronze"}, "tier_code", "Choose a tier"),
    ],
)
def test_a_benefit_the_rules_refuse_is_not_saved(hq, changes, field, message):
    catalogue.start_draft(hq)
    values = {
        "tier_code": "gold",
        "code": "tyre-check",
        "kind": "free_item",
        "name_en": "Tyre check",
        "name_zh": "轮胎检查",
        "percent": None,
        "excluded": [],
        "yearly_limit": 2,
        **changes,
    }
    before = len(catalogue.current_draft().benefits)
    with pytest.raises((ValidationFailed, Conflict)) as refused:
        catalogue.save_benefit(hq, None, values)
    assert refused.value.field == field and message in str(refused.value.message)
    assert len(catalogue.current_draft().benefits) == before


def test_a_gift_is_once_a_year_whatever_the_form_says(hq):
    catalogue.start_draft(hq)
    gift = catalogue.save_benefit(
        hq,
        None,
        {
            "tier_code": "gold",
            "code": "renewal-gift",
            "kind": "renewal_gift",
            "name_en": "Umbrella",
            "name_zh": "雨伞",
            "percent": 30,
            "excluded": ["accident"],
            "yearly_limit": 5,
        },
    )
    assert (gift.yearly_limit, gift.percent, gift.excluded) == (1, None, [])


def test_a_renewal_gift_needs_the_policy_number(owner, advisor):
    set_tier(owner, "platinum")
    with pytest.raises(ValidationFailed, match="insurance policy number"):
        use(advisor, owner, UseClaim(code="renewal-gift"))
    assert use(advisor, owner, UseClaim(code="renewal-gift", reference="PICC-2027-88")).created
    with pytest.raises(ValidationFailed, match="1 of 1"):
        use(advisor, owner, UseClaim(code="renewal-gift", reference="PICC-2027-99"))


# ------------------------------------------------------------------ the anniversary gift


def test_the_anniversary_code_arrives_on_the_anniversary_once(owner, clock, app):
    assert issue_anniversary_codes() == 0  # joined today: no anniversary yet
    clock.advance(days=364)
    assert issue_anniversary_codes() == 0
    clock.advance(days=1)  # 2027-11-23
    assert issue_anniversary_codes() == 1
    assert issue_anniversary_codes() == 0
    code = db.session.scalar(select(AnniversaryCode))
    assert code.year_start == date(2027, 11, 23)
    assert code.expires_on == date(2027, 11, 23) + timedelta(days=app.config["BENEFIT_CLAIM_DAYS"])
    message = db.session.scalar(select(Notification).where(Notification.member_id == owner.id))
    # In the owner's language (Chinese unless they chose English), with the code and the day.
    assert message.title == "会员周年快乐" and code.code in message.body
    assert message.body.startswith("感谢您一年来的陪伴。请于 2028年1月22日 前到")
    assert owner_benefits(owner).items[2].claim == code


def test_a_missed_day_is_caught_up_within_a_week(owner, clock):
    clock.advance(days=365 + 6)
    assert issue_anniversary_codes() == 1
    clock.advance(days=367)  # 2028-11-30: the next anniversary was seven days ago, too late
    assert issue_anniversary_codes() == 0


def test_the_gift_is_claimed_with_the_sms_code_once_before_it_expires(owner, advisor, clock):
    clock.advance(days=365)
    issue_anniversary_codes()
    code = db.session.scalar(select(AnniversaryCode))
    for typed, message in [
        ("", "Type the code"),
        ("ABCDEF" if code.code != "ABCDEF" else "ABCDEG", "not the code sent"),
    ]:
        with pytest.raises(ValidationFailed, match=message):
            use(advisor, owner, UseClaim(code="anniversary-gift", claim_code=typed))
    typed = f" {code.code[:3].lower()} {code.code[3:]} "
    gift = use(advisor, owner, UseClaim(code="anniversary-gift", claim_code=typed)).use
    assert code.use_id == gift.id
    assert owner_benefits(owner).items[2].claim is None
    with pytest.raises(ValidationFailed, match="1 of 1"):
        use(advisor, owner, UseClaim(code="anniversary-gift", claim_code=code.code))

    void_use(advisor, gift, reason="Gift out of stock, given next week")
    assert code.use_id is None
    clock.advance(days=61)
    with pytest.raises(ValidationFailed, match="expired on"):
        use(advisor, owner, UseClaim(code="anniversary-gift", claim_code=code.code))


def test_no_code_was_sent_before_the_first_anniversary(owner, advisor):
    with pytest.raises(ValidationFailed, match="No anniversary code was sent"):
        use(advisor, owner, UseClaim(code="anniversary-gift", claim_code="K7M2QX"))


# ------------------------------------------------------------------ voiding


def test_a_voided_use_counts_no_more_and_frees_its_repair_order(owner, advisor):
    first = use(advisor, owner, UseClaim(code="car-wash", reference="RO-7")).use
    use(advisor, owner)
    with pytest.raises(ValidationFailed, match="Say why"):
        void_use(advisor, first, reason=" ")
    void_use(advisor, first, reason="Recorded on the wrong owner")
    assert first.status == UseStatus.VOIDED and first.idempotency_key is None
    assert owner_benefits(owner).items[1].left == 1
    again = use(advisor, owner, UseClaim(code="car-wash", reference="RO-7"))
    assert again.created
    with pytest.raises(Conflict):
        void_use(advisor, first, reason="twice")


def test_refunding_a_visit_gives_its_benefits_back(owner, advisor, clock):
    from app.service.services import BenefitClaim, record_visit, refund_visit
    from tests.factories import make_vehicle, record_car_visit

    set_tier(owner, "diamond")
    car = make_vehicle(owner)
    record_car_visit(car, "RO-8", date(2026, 11, 22))
    result = record_visit(
        None,
        dealer_id=owner.dealer_id,
        ro_number="RO-9",
        vin=car.vin,
        visited_on=date(2026, 11, 23),
        mileage_km=5000,
        amount_fen=60_000,
        category="repair",
        source="dms",
        benefits=[BenefitClaim("labour-discount", 20_000, 40_000), BenefitClaim("car-wash", 3000)],
    )
    uses = db.session.scalars(select(BenefitUse).order_by(BenefitUse.code)).all()
    assert [(u.code, u.reference, u.source) for u in uses] == [
        ("car-wash", "RO-9", "dms"),
        ("labour-discount", "RO-9", "dms"),
    ]
    assert owner_benefits(owner).items[2].left == 5
    refund_visit(None, dealer_id=owner.dealer_id, ro_number=result.visit.ro_number)
    assert {u.status for u in uses} == {UseStatus.VOIDED}
    assert owner_benefits(owner).items[2].left == 6
