"""Demo data of member benefits (issue 21): the catalogue in force ships with the migration
(gold, platinum, diamond, from seed 002); here the diamond demo owner has used a car wash and
half-price labour at SZ01 this year, HQ has announced that gold owners get a check-up from a
month on (members see it on the tier page and card), and the owners whose membership
anniversary fell in the last week have their anniversary gift's code, as the daily job sends
them. Through the domains' services, once."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.auth.services import get_user_by_mobile
from app.core.clock import local_date
from app.extensions import db
from app.loyalty.member_benefits import catalogue
from app.loyalty.member_benefits.anniversary import issue_anniversary_codes
from app.loyalty.member_benefits.models import BenefitUse
from app.loyalty.member_benefits.uses import UseClaim, record_use

REFERENCE = "DEMO-BN-1"
CHECK_UP = {
    "tier_code": "gold",
    "code": "check-up",
    "kind": "free_item",
    "name_en": "Full computer check-up",
    "name_zh": "全车电脑深度检测",
    "percent": None,
    "excluded": [],
    "yearly_limit": 1,
}


def seed_benefits(now, owner_mobile: str, advisor_mobile: str, hq_mobile: str) -> int:
    """The demo owner's uses, HQ's announced change and the anniversary codes; nothing when the
    uses exist or the demo people are missing (the bench seeds none). Returns the uses made."""
    if db.session.scalar(select(BenefitUse.id).where(BenefitUse.reference == REFERENCE)):
        return 0
    owner, advisor = get_user_by_mobile(owner_mobile), get_user_by_mobile(advisor_mobile)
    hq = get_user_by_mobile(hq_mobile)
    if owner is None or owner.member is None or advisor is None or hq is None:
        return 0
    member, dealer_id = owner.member, advisor.dealer_id
    labour = UseClaim(
        code="labour-discount",
        reference=REFERENCE,
        category="repair",
        base_fen=64_000,
        discount_fen=32_000,
        note="Front brake pads",
    )
    record_use(advisor, member, UseClaim(code="car-wash"), dealer_id=dealer_id, now=now)
    record_use(advisor, member, labour, dealer_id=dealer_id, now=now)
    if catalogue.current_draft() is None and not catalogue.upcoming_catalogues(now=now):
        catalogue.start_draft(hq, now=now)
        catalogue.save_benefit(hq, None, CHECK_UP, now=now)
        days = current_app.config["RULES_NOTICE_DAYS"]
        catalogue.announce_draft(
            hq,
            effective_from=local_date(now) + timedelta(days=days),
            note="Gold members get a full computer check-up once a year.",
            now=now,
        )
    issue_anniversary_codes(now=now)
    return 2
