"""Announced rule changes reach every owner's inbox (R2: "announced to members in advance"): the
daily loyalty job tells each change once, in the owner's language, with HQ's note; a change
withdrawn after that is retracted once; one withdrawn before anyone was told is never
mentioned; owners who closed their account hear nothing."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.loyalty import rules
from app.loyalty.member_benefits import catalogue
from app.members.announcements import tell_members
from app.members.models import Notification, OutboxMessage
from app.members.privacy import delete_member_account
from tests.factories import (
    announce_earning_rules,
    announce_referral_terms,
    make_member,
    make_staff,
)

DAY = date(2027, 1, 1)  # NOW is 23 November 2026: past the 30 days' notice


@pytest.fixture
def owners(ctx, dealers):
    """Three owners: Chinese (the club's language, none chosen), English, and one who closed
    their account."""
    zh = make_member(dealers["SZ01"], name="Zhang Wei")
    en = make_member(dealers["GZ01"], name="Amy Lee")
    en.user.locale = "en"
    gone = make_member(dealers["SZ01"], name="Gone")
    delete_member_account(gone)
    db.session.flush()
    return {"zh": zh, "en": en, "gone": gone}


@pytest.fixture
def hq(ctx):
    return make_staff("hq_admin", None)


def announce_rules(hq):
    return announce_earning_rules(hq, DAY, "Repair earns 15 points per ¥100", repair_rate=15)


def inbox(member) -> list[tuple[str, str]]:
    return [
        (n.title, n.body)
        for n in db.session.scalars(
            select(Notification)
            .where(Notification.member_id == member.id, Notification.kind == "rules_change")
            .order_by(Notification.id)
        )
    ]


def test_each_owner_is_told_once_in_their_language(owners, hq):
    announce_rules(hq)
    assert inbox(owners["zh"]) == []  # the daily job tells them, not the request
    assert tell_members() == (2, 0)
    ((title, body),) = inbox(owners["en"])
    assert title == "New earning rules from 1 Jan 2027"
    assert body.startswith("Repair earns 15 points per ¥100 What applies until then")
    assert "Me → My tier" in body
    ((title, body),) = inbox(owners["zh"])
    assert title == "2027年1月1日 起的新积分规则"
    assert body.startswith("Repair earns 15 points per ¥100")
    assert inbox(owners["gone"]) == []
    # Inbox only: nothing is texted or e-mailed.
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    assert tell_members() == (0, 0)
    assert len(inbox(owners["en"])) == 1


def test_a_change_withdrawn_before_the_job_is_never_mentioned(owners, hq):
    version = announce_rules(hq)
    rules.withdraw_rules(hq, version.id)
    assert tell_members() == (0, 0)
    assert inbox(owners["zh"]) == [] and inbox(owners["en"]) == []


def test_a_change_withdrawn_after_owners_were_told_is_retracted_once(owners, hq):
    version = announce_rules(hq)
    tell_members()
    rules.withdraw_rules(hq, version.id)
    assert tell_members() == (0, 2)
    assert tell_members() == (0, 0)
    titles = [title for title, _body in inbox(owners["en"])]
    assert titles == [
        "New earning rules from 1 Jan 2027",
        "Withdrawn: the change announced for 1 Jan 2027",
    ]
    _title, body = inbox(owners["en"])[1]
    assert "what applies today stays" in body and "Repair earns 15 points" in body


def test_tiers_referral_terms_and_benefits_are_told_too(owners, hq):
    from app.loyalty.services import TierSetting, schedule_tiers

    schedule_tiers(
        hq,
        [
            TierSetting("gold", 0, 100),
            TierSetting("platinum", 6000, 125),
            TierSetting("diamond", 15000, 150),
        ],
        effective_from=DAY,
        note="Platinum from 6,000 points",
    )
    announce_referral_terms(
        hq, date(2027, 1, 2), "3,000 points for the referrer", referrer_points=3000
    )
    catalogue.start_draft(hq)
    catalogue.announce_draft(hq, effective_from=date(2027, 1, 3), note="Same benefits")
    assert tell_members() == (6, 0)
    assert [title for title, _body in inbox(owners["en"])] == [
        "Tiers change on 1 Jan 2027",
        "Referral rewards change on 2 Jan 2027",
        "Member benefits change on 3 Jan 2027",
    ]


def test_benefits_withdrawn_and_announced_again_for_the_same_day_are_told_again(owners, hq):
    catalogue.start_draft(hq)
    version = catalogue.announce_draft(hq, effective_from=DAY, note="Gold: a check-up")
    tell_members()
    catalogue.withdraw_announcement(hq, version.id)
    catalogue.announce_draft(hq, effective_from=DAY, note="Gold: two check-ups")
    assert tell_members() == (2, 2)
    assert [body.split(" What applies")[0] for _title, body in inbox(owners["en"])] == [
        "Gold: a check-up",
        "HQ has withdrawn this change: what applies today stays. The change was: Gold: a check-up",
        "Gold: two check-ups",
    ]
