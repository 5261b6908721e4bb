"""At the showroom (seed 002, 提供老客户相关信息 / 到值班经理处报备): the visitor names the
referrer when staff record the visit, and the duty manager confirms or refuses on the phone."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.extensions import db
from app.members.models import Member, Notification
from app.referrals import invites
from app.referrals import services as referrals
from app.referrals.models import (
    Referral,
    ReferralStatus,
    ReportStatus,
    ShowroomReport,
    ShowroomVisit,
)
from tests.factories import make_member, make_staff, make_vehicle
from tests.referrals.front_door import FRIEND_MOBILE, error, text

VISIT = {"mobile": FRIEND_MOBILE, "name": "Li Si", "visited_on": "2026-11-23"}


def _visit(client, **named):
    return client.post("/admin/prospects", data={**VISIT, **named})


def _one(app, model):
    with app.app_context():
        return db.session.scalar(select(model))


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


@pytest.fixture
def duty(staff_factory):
    """The showroom manager on duty at SZ01."""
    return staff_factory("showroom_manager", "SZ01")


@pytest.fixture
def plate(seeded, member):
    with seeded():
        return db.session.get(Member, member["id"]).vehicles[0].plate


# -------------------------------------------------------------------------- naming a referrer


@pytest.mark.parametrize("how", ["mobile", "name_and_plate"])
def test_the_visitor_names_the_referrer_and_the_duty_manager_sees_it(
    app, staff_client, duty, member, plate, how
):
    named = (
        {"referrer_mobile": member["mobile"]}
        if how == "mobile"
        else {"referrer_name": " zhang  wei ", "referrer_plate": plate.lower()}
    )
    response = _visit(staff_client, **named)
    assert response.status_code == 302
    page = text(staff_client.get("/admin/prospects"))
    assert "Visit of Li Si on 2026-11-23 recorded." in page
    assert "The referral of Zhang Wei waits for the duty manager's confirmation." in page

    referral = _one(app, Referral)
    assert (referral.referrer_id, referral.status) == (member["id"], ReferralStatus.VISITED)
    report = _one(app, ShowroomReport)
    assert report.status == ReportStatus.PENDING
    assert report.named_member_id == member["id"]

    waiting = text(duty.get("/admin/showroom/referrals"))
    assert "Li Si 137****4444" in waiting
    assert "the same owner" in waiting
    if how == "mobile":  # what the visitor said of a third person shows masked
        assert member["mobile"] not in waiting
        assert f"{member['mobile'][:3]}****{member['mobile'][-4:]}" in waiting
    assert "Zhang Wei · Sagitar · White" in waiting
    assert "Referrals to confirm 1" in text(duty.get("/admin/"))


@pytest.mark.parametrize(
    ("named", "field", "message"),
    [
        ({"referrer_mobile": "12345"}, "referrer_mobile", "Enter the referrer's mainland mobile"),
        ({"referrer_mobile": "13999999999"}, "referrer_mobile", "No club owner has this mobile"),
        ({"referrer_name": "Zhang Wei"}, "referrer_plate", "Give the referrer's mobile number"),
        ({"referrer_plate": "粤B00001"}, "referrer_name", "Give the referrer's mobile number"),
        (
            {"referrer_name": "Wang Wu", "referrer_plate": "PLATE"},
            "referrer_plate",
            "No club owner of this name drives a car with this plate.",
        ),
        ({"referrer_plate": "x" * 17}, "referrer_plate", "Field cannot be longer than 16"),
    ],
)
def test_words_that_lead_to_no_owner_record_nothing(
    app, staff_client, plate, named, field, message
):
    if named.get("referrer_plate") == "PLATE":
        named = {**named, "referrer_plate": plate}
    response = _visit(staff_client, **named)
    assert response.status_code == 200
    assert error(response, field).startswith(message)
    assert _count(app, ShowroomVisit) == _count(app, Referral) == 0


def test_a_pre_registered_friend_naming_someone_else_stays_the_first_referrers(
    app, seeded, staff_client, duty, member, dealers
):
    with seeded():
        owner = db.session.get(Member, member["id"])
        link = invites.invite_for(owner)
        invites.accept_invite(link, friend_name="Li Si", friend_mobile=FRIEND_MOBILE)
        other = make_member(dealers["SZ01"], name="Wang Fang")
        make_vehicle(other)
        other_mobile = other.user.mobile
    _visit(staff_client, referrer_mobile=other_mobile)
    assert "registered them first: the first registration counts" in text(
        staff_client.get("/admin/prospects")
    )
    referral = _one(app, Referral)
    assert referral.referrer_id == member["id"]
    assert referral.status == ReferralStatus.VISITED
    waiting = text(duty.get("/admin/showroom/referrals"))
    assert "another owner: Wang Fang" in waiting
    assert "through the owner's invite link" in waiting


def test_a_visitor_naming_nobody_is_recorded_as_before(app, staff_client, duty):
    assert _visit(staff_client).status_code == 302
    assert _count(app, ShowroomVisit) == 1
    assert _count(app, Referral) == _count(app, ShowroomReport) == 0
    assert "No referral waits for confirmation." in text(duty.get("/admin/showroom/referrals"))


def test_a_referral_registered_at_the_desk_on_the_visit_day_waits_too(
    app, seeded, staff_client, duty, member
):
    _visit(staff_client)
    staff_client.post(
        "/admin/referrals/new",
        data={"owner": member["mobile"], "friend_name": "Li Si", "friend_mobile": FRIEND_MOBILE},
    )
    assert _one(app, Referral).status == ReferralStatus.VISITED
    page = text(duty.get("/admin/showroom/referrals"))
    assert "named nobody when the visit was recorded" in page
    response = duty.post(f"/admin/showroom/referrals/{_one(app, Referral).id}/confirm")
    assert response.status_code == 302
    assert _one(app, ShowroomReport).status == ReportStatus.CONFIRMED


# -------------------------------------------------------------------------- the duty manager


def test_the_duty_manager_confirms_once_and_it_is_audited(app, staff_client, duty, member):
    _visit(staff_client, referrer_mobile=member["mobile"])
    referral_id = _one(app, Referral).id
    response = duty.post(f"/admin/showroom/referrals/{referral_id}/confirm", follow_redirects=True)
    assert "Referral of Zhang Wei confirmed." in text(response)
    assert "No referral waits for confirmation." in text(response)
    report = _one(app, ShowroomReport)
    assert report.status == ReportStatus.CONFIRMED and report.decided_by_id is not None
    response = duty.post(f"/admin/showroom/referrals/{referral_id}/confirm", follow_redirects=True)
    assert "This referral is no longer waiting for the duty manager." in text(response)
    response = duty.post(f"/admin/showroom/referrals/{referral_id}/refuse", data={"reason": "late"})
    assert _one(app, ShowroomReport).status == ReportStatus.CONFIRMED
    assert _one(app, Referral).status == ReferralStatus.VISITED
    detail = text(duty.get(f"/admin/referrals/{referral_id}"))
    assert "Confirmed by the duty manager" in detail
    assert "Reported to the duty manager" in detail
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.id)).where(
                    AuditEntry.action == "referral.showroom_confirmed"
                )
            )
            == 1
        )


def test_refusing_needs_a_reason_ends_the_referral_and_tells_the_owner(
    app, staff_client, duty, member, member_client
):
    _visit(staff_client, referrer_mobile=member["mobile"])
    referral_id = _one(app, Referral).id
    response = duty.post(
        f"/admin/showroom/referrals/{referral_id}/refuse",
        data={"reason": "  "},
        follow_redirects=True,
    )
    assert "Say why the referral is refused." in text(response)
    assert _one(app, Referral).status == ReferralStatus.VISITED

    response = duty.post(
        f"/admin/showroom/referrals/{referral_id}/refuse",
        data={"reason": "The visitor did not know Mr Zhang."},
        follow_redirects=True,
    )
    assert "Referral of Li Si refused." in text(response)
    referral = _one(app, Referral)
    assert referral.status == ReferralStatus.WITHDRAWN
    assert referral.review_reason == "The visitor did not know Mr Zhang."
    assert _one(app, ShowroomReport).status == ReportStatus.REFUSED
    with app.app_context():
        note = db.session.scalar(
            select(Notification).where(Notification.kind == "referral_refused")
        )
        assert note.member_id == member["id"]
        assert "did not know Mr Zhang" in note.body
    mine = text(member_client.get("/me/referrals"))
    assert "Not confirmed at the showroom" in mine
    assert "You withdrew this referral." not in mine
    detail = text(duty.get(f"/admin/referrals/{referral_id}"))
    assert "Refused by the duty manager · The visitor did not know Mr Zhang." in detail


def test_who_may_confirm(app, seeded, staff_factory, staff_client, member, dealers):
    # The manager who recorded the visit does not confirm it: another manager on duty does.
    recorder = staff_factory("showroom_manager", "SZ01")
    _visit(recorder, referrer_mobile=member["mobile"])
    referral_id = _one(app, Referral).id
    response = recorder.post(
        f"/admin/showroom/referrals/{referral_id}/confirm", follow_redirects=True
    )
    assert "another manager on duty must confirm it" in text(response)
    assert _one(app, ShowroomReport).status == ReportStatus.PENDING
    # A consultant may not; GZ01's admin does not see it; HQ holds no showroom.
    assert staff_client.get("/admin/showroom/referrals").status_code == 403
    assert staff_client.post(f"/admin/showroom/referrals/{referral_id}/confirm").status_code == 403
    gz = staff_factory("dealer_admin", "GZ01")
    assert "Li Si" not in text(gz.get("/admin/showroom/referrals"))
    assert gz.post(f"/admin/showroom/referrals/{referral_id}/confirm").status_code == 404
    assert staff_factory("hq_admin", None).get("/admin/showroom/referrals").status_code == 403
    assert _one(app, ShowroomReport).status == ReportStatus.PENDING
    # SZ01's admin confirms.
    admin = staff_factory("dealer_admin", "SZ01")
    assert admin.post(f"/admin/showroom/referrals/{referral_id}/confirm").status_code == 302
    assert _one(app, ShowroomReport).status == ReportStatus.CONFIRMED


def test_the_list_is_paginated_and_speaks_chinese(app, seeded, duty, member, dealers):
    app.config["MEMBERS_PER_PAGE"] = 2
    with seeded():
        owner = db.session.get(Member, member["id"])
        desk = make_staff("sales_consultant", dealers["SZ01"])
        for n in range(3):
            mobile = f"1370000{n:04d}"
            referrals.register_referral(
                owner.user, owner, friend_name=f"Friend {n}", friend_mobile=mobile
            )
            referrals.record_showroom_visit(
                desk, mobile=mobile, name=f"Friend {n}", visited_on=date(2026, 11, 23)
            )
    first = text(duty.get("/admin/showroom/referrals"))
    assert "Page 1 of 2" in first and "Friend 2" not in first
    assert "Friend 2" in text(duty.get("/admin/showroom/referrals?page=2"))
    zh = text(duty.get("/admin/showroom/referrals", headers={"Accept-Language": "zh"}))
    assert "待确认的推荐" in zh
