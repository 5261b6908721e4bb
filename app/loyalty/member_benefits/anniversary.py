"""The anniversary gift's code (seed 002: 在您购车一周年之际…您到时候凭短信到我们客服部就可以领取
礼品): on each membership anniversary, an owner whose tier gives the gift gets a code by inbox
and SMS (quiet hours respected by the outbox); the counter takes it within
``BENEFIT_CLAIM_DAYS`` days. The daily job issues them; a day it missed is caught up within a
week, and two hosts running it at once issue one code."""

import secrets
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from app.core.clock import add_months, local_date, local_midnight, utcnow
from app.core.dates import format_local_date
from app.extensions import db
from app.loyalty.member_benefits.catalogue import by_tier, catalogue_in_force
from app.loyalty.member_benefits.models import AnniversaryCode, BenefitKind
from app.loyalty.member_benefits.uses import membership_year
from app.loyalty.models import PointsAccount
from app.members.inbox import notify
from app.members.models import Member

# Letters and digits nobody misreads over the counter (no 0/O, 1/I/L).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
CATCH_UP_DAYS = 7
# Anniversaries looked for: members of up to this many years.
MAX_YEARS = 60


def new_claim_code() -> str:
    """A fresh code, e.g. 'K7M2QX'."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _joined_in_window(first: date, last: date):
    """Members who joined on a day whose anniversary falls in ``first``..``last`` (some
    years ago): a range of joining instants per year, so an index on the column serves it."""
    ranges = []
    for years in range(1, MAX_YEARS + 1):
        start = local_midnight(add_months(first, -12 * years))
        end = local_midnight(add_months(last + timedelta(days=1), -12 * years))
        ranges.append(and_(Member.joined_at >= start, Member.joined_at < end))
    return or_(*ranges)


def _gift_tiers(today: date) -> set[str]:
    grouped = by_tier(catalogue_in_force(today))
    return {
        tier
        for tier, items in grouped.items()
        if any(b.kind == BenefitKind.ANNIVERSARY_GIFT for b in items)
    }


def issue_anniversary_codes(*, now: datetime | None = None) -> int:
    """Send today's anniversary codes (and those of the past week a missed run left); how many."""
    now = now or utcnow()
    today = local_date(now)
    tiers = _gift_tiers(today)
    if not tiers:
        return 0
    first = today - timedelta(days=CATCH_UP_DAYS - 1)
    members = db.session.scalars(
        select(Member)
        .join(PointsAccount, PointsAccount.member_id == Member.id)
        .where(
            Member.joined_at.is_not(None),
            PointsAccount.tier_code.in_(sorted(tiers)),
            _joined_in_window(first, today),
        )
        .order_by(Member.id)
    ).all()
    issued = 0
    for member in members:
        year_start, _next = membership_year(member, today)
        if not first <= year_start <= today or year_start <= local_date(member.joined_at):
            continue
        issued += _issue(member, year_start, now)
    return issued


def _issue(member: Member, year_start: date, now: datetime) -> int:
    """The year's code for ``member`` and its message; 0 when it was issued before."""
    issued_before = select(AnniversaryCode.id).where(
        AnniversaryCode.member_id == member.id, AnniversaryCode.year_start == year_start
    )
    if db.session.scalar(issued_before) is not None:
        return 0
    expires_on = year_start + timedelta(days=current_app.config["BENEFIT_CLAIM_DAYS"])
    code = AnniversaryCode(
        member_id=member.id,
        year_start=year_start,
        code=new_claim_code(),
        issued_at=now,
        expires_on=expires_on,
    )
    try:
        with db.session.begin_nested():
            db.session.add(code)
    except IntegrityError:
        return 0

    def render():
        return (
            _("Happy membership anniversary"),
            _(
                "Thank you for a year with the club. Show code %(code)s at %(dealer)s by "
                "%(date)s to collect your anniversary gift.",
                code=code.code,
                dealer=member.dealer.name,
                date=format_local_date(expires_on),
            ),
        )

    notify(
        member,
        "benefit_anniversary",
        render,
        dedupe_key=f"anniversary-code:{member.id}:{year_start.isoformat()}",
        now=now,
    )
    return 1
