"""Staff and referrals (issue 21, R6.5, R6.6): a referrer who matches a staff member (their own
account, a second mobile or the ID number in the staff register, a namesake at the dealer) is
held for a manager's decision, never rewarded as staff; a fraud outcome flags every staff member
who handled the referral, first and repeat offences apart."""

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.permissions import Role
from app.extensions import db
from app.loyalty.services import account_for
from app.referrals import services, staff
from app.referrals.models import (
    ReferralStatus,
    StaffFlag,
    StaffIdentity,
    StaffReview,
)
from app.referrals.services import TransitionRefused
from app.rewards.models import Voucher
from tests.factories import make_member, make_staff, make_vehicle
from tests.referrals.rules_helpers import buy, confirm, make_club

ID_NUMBER = "11010519491231002X"  # GB 11643's own example


@pytest.fixture
def club(ctx, dealers):
    return make_club(dealers)


@pytest.fixture
def moonlighter(club, dealers):
    """Sales consultant Wang Qiang of SZ01 and his own owner account on a second mobile."""
    consultant = make_staff("sales_consultant", dealers["SZ01"])
    consultant.name = "Wang Qiang"
    owner = make_member(dealers["SZ01"], name="王强")
    make_vehicle(owner)
    return consultant, owner


def refer_by(owner, mobile="13700001111"):
    return services.register_referral(owner.user, owner, friend_name="李四", friend_mobile=mobile)


def audit_actions(referral) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject_type == "Referral", AuditEntry.subject_id == referral.id)
            .order_by(AuditEntry.id)
        )
    )


def vouchers_of(member) -> int:
    return db.session.scalar(select(func.count(Voucher.id)).where(Voucher.member_id == member.id))


def test_a_staff_members_own_owner_account_is_held_then_not_rewarded(club, moonlighter):
    consultant, owner = moonlighter
    hq = club["hq"]
    staff.record_identity(hq, staff_mobile=consultant.mobile, kind="mobile", value=owner.mobile)
    club["owner"] = owner  # the referrer the helpers confirm the licence of
    referral = refer_by(owner)
    assert referral.staff_review == StaffReview.PENDING
    assert referral.staff_match == [{"user_id": consultant.id, "by": ["mobile"], "reviewed": False}]
    buy(club, "13700001111")
    confirm(club, referral)
    # The callback approved it, but the reward waits for a manager.
    assert referral.status == ReferralStatus.STAFF_REVIEW
    assert account_for(owner).balance == 0 and vouchers_of(owner) == 0
    assert account_for(referral.friend).balance == 0

    services.decide_staff_review(
        club["showroom_manager"], referral.id, is_staff=True, reason="His second phone."
    )
    assert referral.status == ReferralStatus.STAFF_EXCLUDED
    assert account_for(owner).balance == 0 and vouchers_of(owner) == 0
    actions = audit_actions(referral)
    assert "referral.staff_suspected" in actions and "referral.staff_hold" in actions
    assert actions[-1] == "referral.staff_confirmed"
    with pytest.raises(TransitionRefused):
        services.reward_referral(referral)


def test_a_manager_who_clears_the_match_releases_the_reward(club, moonlighter):
    _consultant, owner = moonlighter
    club["owner"] = owner
    referral = refer_by(owner)  # 王强 is not Wang Qiang: no match by name
    assert referral.staff_review is None
    consultant = moonlighter[0]
    consultant.name = "王强"
    buy(club, "13700001111")
    confirm(club, referral)
    assert referral.status == ReferralStatus.STAFF_REVIEW
    assert referral.staff_match[0]["by"] == ["name"]

    services.decide_staff_review(
        club["showroom_manager"], referral.id, is_staff=False, reason="Namesake, a teacher."
    )
    assert referral.status == ReferralStatus.REWARDED
    assert account_for(owner).balance == 2000 and account_for(referral.friend).balance == 1000
    assert referral.staff_review == StaffReview.NOT_STAFF
    assert referral.staff_reviewed_by_id == club["showroom_manager"].id


def test_the_id_number_shown_at_the_licence_check_finds_the_staff_member(club, moonlighter):
    consultant, owner = moonlighter
    staff.record_identity(
        club["hq"], staff_mobile=consultant.mobile, kind="id_number", value=ID_NUMBER.lower()
    )
    entry = db.session.scalar(select(StaffIdentity))
    assert entry.value != ID_NUMBER and entry.tail == "002X"  # a digest, never the number
    referral = refer_by(owner)
    assert referral.staff_review is None
    buy(club, "13700001111")
    car = owner.vehicles[0]
    facts = services.LicenceFacts(car.plate, car.vin, car.model, car.colour_id, ID_NUMBER)
    services.check_licence(club["showroom_manager"], referral.id, facts)
    assert referral.staff_review == StaffReview.PENDING
    assert referral.staff_match[0] == {
        "user_id": consultant.id,
        "by": ["id_number"],
        "reviewed": False,
    }
    assert referral.licence_details["id_tail"] == "002X"
    assert ID_NUMBER not in str(referral.licence_details)


def test_the_register_still_matches_after_the_session_key_is_rotated(app, club, moonlighter):
    """ID numbers are kept as digests keyed with IDENTITY_DIGEST_KEY: an operator who rotates
    SECRET_KEY (sessions, CSRF) does not silently lose the staff register's ID numbers."""
    consultant, owner = moonlighter
    app.config["IDENTITY_DIGEST_KEY"] = "identity-key-kept-for-ever"
    staff.record_identity(
        club["hq"], staff_mobile=consultant.mobile, kind="id_number", value=ID_NUMBER
    )
    app.config["SECRET_KEY"] = "a-new-session-key"  # rotated after a leak
    referral = refer_by(owner)
    buy(club, "13700001111")
    car = owner.vehicles[0]
    facts = services.LicenceFacts(car.plate, car.vin, car.model, car.colour_id, ID_NUMBER)
    services.check_licence(club["showroom_manager"], referral.id, facts)
    assert referral.staff_review == StaffReview.PENDING
    assert referral.staff_match[0]["by"] == ["id_number"]
    # Another identity key matches nobody: the digest depends on it.
    app.config["IDENTITY_DIGEST_KEY"] = "another-key"
    assert staff.id_digest(ID_NUMBER) != db.session.scalar(select(StaffIdentity.value))


def test_a_wrong_id_number_at_the_licence_check_changes_nothing(club):
    referral = refer_by(club["owner"])
    buy(club, "13700001111")
    car = club["owner"].vehicles[0]
    facts = services.LicenceFacts(
        car.plate, car.vin, car.model, car.colour_id, "110105194912310021"
    )
    with pytest.raises(ValidationFailed) as refused:
        services.check_licence(club["showroom_manager"], referral.id, facts)
    assert refused.value.field == "id_number"
    assert referral.status == ReferralStatus.PURCHASED and referral.licence_details is None


def test_a_staff_account_as_referrer_matches_itself(club, dealers):
    owner = make_member(dealers["GZ01"], name="Zhou")
    owner.user.role = Role.SERVICE_ADVISOR
    owner.user.dealer_id = dealers["GZ01"]
    referral = refer_by(owner)
    assert referral.staff_match == [
        {"user_id": owner.user_id, "by": ["account"], "reviewed": False}
    ]


def test_a_namesake_at_another_dealer_is_no_match(club, dealers):
    other = make_staff("care_agent", dealers["GZ01"])
    other.name = "张三"
    assert refer_by(club["owner"]).staff_review is None
    here = make_staff("care_agent", dealers["SZ01"])
    here.name = " 张 三 "
    assert refer_by(club["owner"], "13700002222").staff_review == StaffReview.PENDING


def test_a_manager_confirming_staff_early_ends_the_referral(club, moonlighter):
    consultant, owner = moonlighter
    staff.record_identity(
        club["hq"], staff_mobile=consultant.mobile, kind="mobile", value=owner.mobile
    )
    referral = refer_by(owner)
    services.decide_staff_review(
        club["showroom_manager"], referral.id, is_staff=True, reason="Admitted it."
    )
    assert referral.status == ReferralStatus.STAFF_EXCLUDED
    with pytest.raises(TransitionRefused, match="no staff match waiting"):
        services.decide_staff_review(
            club["showroom_manager"], referral.id, is_staff=False, reason="Changed my mind."
        )


def test_the_review_asks_a_reason_and_not_the_matched_manager(club, moonlighter, dealers):
    _consultant, owner = moonlighter
    manager = club["showroom_manager"]
    staff.record_identity(
        club["hq"], staff_mobile=manager.mobile, kind="mobile", value=owner.mobile
    )
    referral = refer_by(owner)
    with pytest.raises(ValidationFailed, match="Say why"):
        services.decide_staff_review(manager, referral.id, is_staff=False, reason=" ")
    with pytest.raises(Conflict, match="names you"):
        services.decide_staff_review(manager, referral.id, is_staff=False, reason="Not me.")
    stranger = make_staff("showroom_manager", dealers["GZ01"])
    with pytest.raises(NotFound):
        services.decide_staff_review(stranger, referral.id, is_staff=False, reason="No.")
    assert referral.staff_review == StaffReview.PENDING


def test_a_cleared_match_is_asked_again_only_when_something_new_matches(club, moonlighter):
    consultant, owner = moonlighter
    staff.record_identity(
        club["hq"], staff_mobile=consultant.mobile, kind="mobile", value=owner.mobile
    )
    referral = refer_by(owner)
    services.decide_staff_review(
        club["showroom_manager"], referral.id, is_staff=False, reason="Shared family phone."
    )
    assert staff.screen_referrer(referral, now=referral.registered_at) is False
    staff.record_identity(
        club["hq"], staff_mobile=consultant.mobile, kind="id_number", value=ID_NUMBER
    )
    referral.licence_details = {"id_digest": staff.id_digest(ID_NUMBER)}
    assert staff.screen_referrer(referral, now=referral.registered_at) is True
    assert referral.staff_review == StaffReview.PENDING
    assert referral.staff_match[0]["by"] == ["mobile", "id_number"]


# --------------------------------------------------------------------------- the register


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("mobile", "12345", "11 digits"),
        ("id_number", "110105194912310021", "18-character"),
        ("id_number", "1101051949123100", "18-character"),
        ("other", "x", "Choose what"),
    ],
)
def test_the_register_refuses_bad_numbers(club, kind, value, message):
    with pytest.raises(ValidationFailed, match=message):
        staff.record_identity(
            club["hq"], staff_mobile=club["care_agent"].mobile, kind=kind, value=value
        )
    assert db.session.scalar(select(func.count(StaffIdentity.id))) == 0


def test_the_register_is_kept_per_dealer(club, dealers):
    agent = club["care_agent"]
    gz_admin = make_staff("dealer_admin", dealers["GZ01"])
    with pytest.raises(NotFound):
        staff.record_identity(
            gz_admin, staff_mobile=agent.mobile, kind="mobile", value="13900001111"
        )
    owner_mobile = club["owner"].mobile
    with pytest.raises(NotFound):  # an owner is not staff
        staff.record_identity(
            club["hq"], staff_mobile=owner_mobile, kind="mobile", value="13900001111"
        )
    with pytest.raises(ValidationFailed, match="log in with"):
        staff.record_identity(
            club["hq"], staff_mobile=agent.mobile, kind="mobile", value=agent.mobile
        )
    sz_admin = make_staff("dealer_admin", dealers["SZ01"])
    entry = staff.record_identity(
        sz_admin, staff_mobile=agent.mobile, kind="mobile", value="13900001111"
    )
    with pytest.raises(Conflict):
        staff.record_identity(
            sz_admin, staff_mobile=agent.mobile, kind="mobile", value="139 0000 1111"
        )
    assert db.session.scalars(staff.identities(gz_admin)).all() == []
    assert db.session.scalars(staff.identities(sz_admin)).all() == [entry]
    with pytest.raises(NotFound):
        staff.remove_identity(gz_admin, entry.id)
    staff.remove_identity(sz_admin, entry.id)
    assert db.session.scalars(staff.identities(club["hq"])).all() == []
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("staff_identity.%"))
    ).all()
    assert actions == ["staff_identity.recorded", "staff_identity.removed"]


# ---------------------------------------------------------------------------- fraud flags


def fraud(club, mobile):
    """A referral the consultant registered, the manager checked and the agent called: fraud."""
    owner = club["owner"]
    referral = services.register_referral(
        club["sales_consultant"], owner, friend_name="李四", friend_mobile=mobile
    )
    buy(club, mobile)
    car = owner.vehicles[0]
    services.check_licence(
        club["showroom_manager"],
        referral.id,
        services.LicenceFacts(car.plate, car.vin, car.model, car.colour_id),
    )
    from app.referrals import verification

    verification.start_callback(club["care_agent"], referral.id)
    for question in referral.questions:
        verification.answer_question(club["care_agent"], referral.id, question.id, correct=False)
    verification.complete_callback(club["care_agent"], referral.id, recording_ref="REC-F")
    assert referral.status == ReferralStatus.FRAUD
    return referral


def flags_of(referral) -> dict[int, tuple[int, list[str]]]:
    rows = db.session.scalars(select(StaffFlag).where(StaffFlag.referral_id == referral.id))
    return {f.user_id: (f.offence, f.handled) for f in rows}


def test_fraud_flags_everyone_who_handled_it_first_then_repeat(club):
    first = fraud(club, "13700001111")
    consultant, manager, agent = (
        club["sales_consultant"].id,
        club["showroom_manager"].id,
        club["care_agent"].id,
    )
    assert flags_of(first) == {
        consultant: (1, ["registration", "consultant"]),
        manager: (1, ["licence"]),
        agent: (1, ["callback"]),
    }
    second = fraud(club, "13700002222")
    assert {u: offence for u, (offence, _h) in flags_of(second).items()} == {
        consultant: 2,
        manager: 2,
        agent: 2,
    }
    # Flagging again adds nothing; an earlier outcome no longer fraud does not count.
    staff.flag_handlers(second, now=second.decided_at)
    assert db.session.scalar(select(func.count(StaffFlag.id))) == 6
    second.status = ReferralStatus.APPROVED  # as if overturned
    third = fraud(club, "13700003333")
    assert flags_of(third)[consultant][0] == 2
    rows = staff.staff_flags(club["hq"])
    assert [flag.referral_id for flag, _user in rows][:3] == [third.id] * 3


def test_an_owners_own_registration_flags_no_owner(club):
    owner = club["owner"]
    referral = services.register_referral(
        owner.user, owner, friend_name="李四", friend_mobile="13700001111"
    )
    assert owner.user_id not in staff.handlers(referral)
