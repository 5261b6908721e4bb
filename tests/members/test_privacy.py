"""PIPL rights: an owner downloads their data, withdraws marketing consent, deletes their account
(confirmed by SMS code) and the books stay balanced; on SQLite and PostgreSQL."""

import json
import re
from datetime import timedelta

from sqlalchemy import func, select

from app.auth.codes import send_code
from app.auth.models import User, UserSession
from app.campaigns.calls.targeting import TargetFilters, count_matches
from app.cards.services import active_card, card_token, check_card
from app.core.audit import AuditEntry
from app.core.channels import sms_backend
from app.core.clock import local_date, utcnow
from app.events import services as events
from app.events.models import EventKind, EventRegistration, RegistrationStatus
from app.extensions import db
from app.hq.months import current_month
from app.hq.settlement import Lines, ledger_month_totals, month_lines
from app.loyalty.models import PointsAccount, PointsEntry
from app.loyalty.services import account_for
from app.members.inbox import notify
from app.members.models import Member, Notification
from app.members.privacy import DELETED_NAME, delete_member_account, export_member_data
from app.members.registration import register_member
from app.members.services import reveal_mobile
from app.referrals.models import Referral, ReferralStatus
from app.referrals.services import register_referral
from app.rewards.models import Voucher, VoucherStatus
from app.rewards.services import redeem_reward
from tests.conftest import PASSWORD, login
from tests.factories import (
    give_points,
    make_dealer,
    make_event,
    make_member,
    make_reward,
    make_staff,
    make_vehicle,
    next_mobile,
)


def sent_code(mobile: str) -> str:
    """The code in the newest text the log backend took for ``mobile``."""
    return re.search(r"\b(\d{6})\b", sms_backend().last_text(mobile)).group(1)


def build_owner(sz: int) -> dict:
    """An owner of ``sz`` with something in every section, and another owner with their own.

    The owner: a car, 5,000 points, an open 1,000-point voucher, a confirmed place at a trip with
    a 200-point deposit, a waiting-list place at a full lecture, a pending referral, an inbox
    message and a staff action about them in the audit log.
    """
    now = utcnow()
    staff = make_staff("event_staff", sz)
    owner = make_member(sz, name="Zhang Wei")
    car = make_vehicle(owner)
    other = make_member(sz, name="Li Na")
    make_vehicle(other, model="Magotan")
    give_points(owner, 5000, qualifying=True)
    give_points(other, 3000)
    reward = make_reward(sz, cost_points=1000)
    voucher = redeem_reward(owner, reward.id)
    redeem_reward(other, reward.id)
    trip = make_event(staff, now=now, deposit_points=200)
    place = events.sign_up(owner, trip.id, vehicle_id=car.id, accept_waiver=True)
    lecture = make_event(staff, now=now, kind=EventKind.LECTURE, capacity=1, title="Tyres 101")
    events.sign_up(other, lecture.id)
    waiting = events.sign_up(owner, lecture.id)
    assert (place.status, waiting.status) == (
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.WAITING,
    )
    friend = next_mobile("137")
    referral = register_referral(
        owner.user, owner, friend_name="Wang Fang", friend_mobile=friend, model_of_interest="GL8"
    )
    notify(owner, "test", lambda: ("Welcome, Zhang Wei", "Your card is ready."))
    notify(other, "test", lambda: ("Welcome, Li Na", "Your card is ready."))
    reveal_mobile(make_staff("care_agent", sz), owner)
    db.session.flush()
    return {
        "owner": owner,
        "other": other,
        "car": car,
        "voucher": voucher,
        "place": place,
        "waiting": waiting,
        "referral": referral,
        "friend": friend,
        "staff": staff,
    }


def assert_books_balance(month) -> None:
    """Every account: entries sum to the balance, never below 0; the month's dealer statements
    add up to the ledger's month, line by line and to the point."""
    sums = dict(
        db.session.execute(
            select(PointsEntry.account_id, func.sum(PointsEntry.delta)).group_by(
                PointsEntry.account_id
            )
        ).all()
    )
    for account in db.session.scalars(select(PointsAccount)):
        assert sums.get(account.id, 0) == account.balance >= 0
    everyone = sum(month_lines(month).values(), Lines())
    ledger = ledger_month_totals(month)
    assert everyone.entries == ledger["entries"]
    assert everyone.expired == -ledger.get("expire-", 0)
    assert everyone.returned == ledger.get("reverse+", 0)
    assert everyone.redeemed == -ledger.get("redeem-", 0)
    assert everyone.balance_change == ledger["sum"]


# ----------------------------------------------------------------------------- export


def test_the_export_holds_every_section_of_the_owner_and_nothing_of_another(ctx, dealers):
    data = build_owner(dealers["SZ01"])
    owner, other = data["owner"], data["other"]
    exported = export_member_data(owner)
    # A real JSON document.
    exported = json.loads(json.dumps(exported))

    assert exported["privacy_notice_version"] == owner.privacy_version
    assert exported["generated_at"].startswith("2026-11-23")
    (profile,) = exported["profile"]
    assert (profile["name"], profile["mobile"]) == ("Zhang Wei", owner.mobile)
    assert {c["consent"] for c in exported["consents"]} >= {"privacy_notice", "marketing"}
    assert [v["vin"] for v in exported["vehicles"]] == [data["car"].vin]
    assert [c["number"] for c in exported["cards"]] == [active_card(owner).number]
    assert exported["points_account"][0]["balance"] == account_for(owner).balance == 3800
    assert sum(e["delta"] for e in exported["ledger"]) == 3800
    assert [v["code"] for v in exported["vouchers"]] == [data["voucher"].code]
    assert {r["event_title"] for r in exported["event_registrations"]} == {
        "Lake Dongjiang self-drive",
        "Tyres 101",
    }
    (referral,) = exported["referrals"]
    assert referral["friend_name"] == "Wang Fang"
    assert referral["friend_mobile"] == data["friend"][:3] + "****" + data["friend"][-4:]
    # The greeting above, and the tier upgrade the 5,000 points brought.
    assert "Welcome, Zhang Wei" in {m["title"] for m in exported["messages"]}
    assert {m["channel"] for m in exported["messages"]} == {"in_app", "sms"}
    actions = {(a["action"], a["by"]) for a in exported["audit"]}
    assert ("member.mobile_revealed", "staff") in actions
    assert ("referral.registered", "you") in actions

    text = json.dumps(exported, ensure_ascii=False)
    for foreign in ("Li Na", other.mobile, other.vehicles[0].vin, active_card(other).number):
        assert foreign not in text
    for secret in ("password_hash", "code_hash", "key_hash", "totp", "argon2"):
        assert secret not in text


def test_money_is_in_fen_with_a_yuan_string():
    from app.members.privacy import export_row
    from app.service.models import ServiceVisit

    for fen, text in ((12800, "128.00"), (5, "0.05"), (0, "0.00"), (-1250, "-12.50")):
        data = export_row(ServiceVisit(amount_fen=fen))
        assert (data["amount_fen"], data["amount_yuan"]) == (fen, text)


def test_an_owner_downloads_their_data_as_a_json_attachment(app, seeded, dealers, clock):
    with seeded():
        data = build_owner(dealers["SZ01"])
        mobile, other_mobile = data["owner"].mobile, data["other"].mobile
    client = app.test_client()
    login(client, mobile)

    page = client.get("/me/privacy")
    assert page.status_code == 200 and "Download my data" in page.get_data(as_text=True)
    assert "/me/privacy" in client.get("/me/profile").get_data(as_text=True)
    response = client.post("/me/privacy/export")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="carclub-my-data-20261123.json"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    exported = response.get_json()
    assert exported["profile"][0]["mobile"] == mobile
    assert other_mobile not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(
            select(func.count()).where(AuditEntry.action == "member.data_exported")
        )


def test_only_the_logged_in_owner_reaches_their_privacy_pages(app, client, member, staff_client):
    for path in ("/me/privacy", "/me/privacy/delete"):
        assert client.get(path).status_code == 302  # to the login page
        assert staff_client.get(path).status_code == 403
    assert client.post("/me/privacy/export").status_code == 302
    assert staff_client.post("/me/privacy/export").status_code == 403
    assert staff_client.post("/me/privacy/delete/code").status_code == 403


# ---------------------------------------------------------------------------- marketing


def test_withdrawing_marketing_consent_drops_the_owner_from_a_campaigns_live_count_at_once(
    app, seeded, dealers, member_client, member, clock
):
    with seeded():
        for m in (db.session.get(Member, member["id"]), make_member(dealers["SZ01"])):
            m.marketing_opt_in = True
            if not m.vehicles:
                make_vehicle(m)

    def live_count():
        with app.app_context():
            today = local_date(utcnow())
            return count_matches(
                dealers["SZ01"], TargetFilters(), starts_on=today, today=today
            ).owners

    assert live_count() == 2
    clock.advance(minutes=3)
    response = member_client.post("/me/privacy/marketing", data={"given": "0"})
    assert response.status_code == 302
    assert "no more news or offers" in member_client.get("/me/privacy").get_data(as_text=True)
    assert live_count() == 1
    with app.app_context():
        owner = db.session.get(Member, member["id"])
        assert owner.marketing_opt_in is False
        assert owner.marketing_changed_at == utcnow()
    member_client.post("/me/privacy/marketing", data={"given": "1"})
    assert live_count() == 2


# ----------------------------------------------------------------------------- deletion


def test_an_owner_deletes_their_account_with_the_code_sent_by_sms(app, seeded, dealers, clock):
    with seeded():
        data = build_owner(dealers["SZ01"])
        owner = data["owner"]
        ids = {
            "member": owner.id,
            "user": owner.user_id,
            "mobile": owner.mobile,
            "voucher": data["voucher"].id,
            "place": data["place"].id,
            "waiting": data["waiting"].id,
            "referral": data["referral"].id,
            "card": active_card(owner).id,
            "staff": data["staff"].id,
        }
    client = app.test_client()
    login(client, ids["mobile"])
    assert "Delete my account" in client.get("/me/privacy").get_data(as_text=True)
    with app.app_context():
        token = card_token(active_card(db.session.get(Member, ids["member"]))).token

    response = client.post("/me/privacy/delete/code")
    assert response.headers["Location"].endswith("/me/privacy/delete")
    with app.app_context():
        code = sent_code(ids["mobile"])
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    # A wrong code, or no tick: a clear message, nothing changes.
    page = client.post("/me/privacy/delete", data={"code": wrong, "confirm": "y"})
    assert page.status_code == 200 and "Wrong code" in page.get_data(as_text=True)
    page = client.post("/me/privacy/delete", data={"code": code})
    assert "Tick the box to confirm" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, ids["user"]).deleted_at is None
        assert db.session.get(Voucher, ids["voucher"]).status == VoucherStatus.ISSUED

    response = client.post("/me/privacy/delete", data={"code": code, "confirm": "y"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account-deleted")
    assert "Your account is deleted" in client.get("/account-deleted").get_data(as_text=True)
    # Logged out: the owner's pages ask for a login again, and the password no longer works.
    assert client.get("/me/privacy").status_code == 302
    refused = client.post("/login", data={"mobile": ids["mobile"], "password": PASSWORD})
    assert refused.status_code == 200

    with app.app_context(), app.test_request_context():
        member = db.session.get(Member, ids["member"])
        user = member.user
        assert member.name == DELETED_NAME and user.name == DELETED_NAME
        assert (member.birthday, member.email, member.occupation, member.hobbies) == (
            None,
            None,
            "",
            "",
        )
        assert member.marketing_opt_in is False and member.notify_sms is False
        assert user.mobile == f"x{user.id:010d}" and not user.active and user.deleted_at
        assert all(v.plate is None and v.vin.startswith("DELETED") for v in member.vehicles)
        # The card and its QR are refused.
        staff = db.session.get(User, ids["staff"])
        check = check_card(staff, token)
        assert (check.accepted, check.reason) == (False, "revoked")
        # The voucher's points came back before the balance was forfeited.
        voucher = db.session.get(Voucher, ids["voucher"])
        assert voucher.status == VoucherStatus.CANCELLED and voucher.refund_entry_id
        account = account_for(member)
        assert account.balance == 0
        forfeit = db.session.scalar(select(PointsEntry).where(PointsEntry.source == "forfeit"))
        assert forfeit.delta == -5000  # 5,000 earned: the voucher's 1,000 and deposit's 200 back
        regs = [db.session.get(EventRegistration, ids[k]) for k in ("place", "waiting")]
        assert [r.status for r in regs] == [
            RegistrationStatus.CANCELLED,
            RegistrationStatus.CANCELLED,
        ]
        # The referral record stays, withdrawn.
        referral = db.session.get(Referral, ids["referral"])
        assert referral.status == ReferralStatus.WITHDRAWN
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.member_id == member.id
        )) == 0  # fmt: skip
        (entry,) = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "account.deleted")
        ).all()
        assert "Zhang" not in json.dumps(entry.details) and ids["mobile"] not in json.dumps(
            entry.details
        )
        assert_books_balance(current_month(utcnow()))
        # The number is free: the owner can join again as a new member.
        again = register_member(
            mobile=ids["mobile"], password=PASSWORD, name="Zhang Wei", dealer_id=dealers["SZ01"]
        )
        assert again.id != ids["user"] and account_for(again.member).balance == 0


def test_a_code_for_another_purpose_or_an_expired_one_deletes_nothing(
    app, member_client, member, clock
):
    with app.app_context(), app.test_request_context():
        send_code(member["mobile"], "signin")
        db.session.commit()
        signin_code = sent_code(member["mobile"])
    page = member_client.post("/me/privacy/delete", data={"code": signin_code, "confirm": "y"})
    assert "Wrong code" in page.get_data(as_text=True)
    member_client.post("/me/privacy/delete/code")
    with app.app_context():
        code = sent_code(member["mobile"])
    clock.advance(minutes=6)
    page = member_client.post("/me/privacy/delete", data={"code": code, "confirm": "y"})
    assert "expired" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, member["user_id"]).deleted_at is None


def test_deletion_keeps_the_ledger_and_the_settlement_balanced(db_app):
    """On SQLite and PostgreSQL: the books balance after a deletion, a second deletion changes
    nothing, device sessions end, and the mobile registers afresh."""
    with db_app.app_context(), db_app.test_request_context():
        sz = make_dealer("SZ01").id
        data = build_owner(sz)
        owner = data["owner"]
        mobile, user_id = owner.mobile, owner.user_id
        now = utcnow()
        db.session.add(
            UserSession(
                user_id=user_id,
                key_hash="a" * 64,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(days=30),
            )
        )
        db.session.commit()

        done = delete_member_account(owner)
        db.session.commit()

        assert done["vouchers_cancelled"] == 1 and done["registrations_cancelled"] == 2
        assert done["points_forfeited"] == 5000 and done["sessions_ended"] == 1
        assert db.session.scalar(select(UserSession.revoked_at)) is not None
        user = db.session.get(User, user_id)
        assert not user.active and user.deleted_at is not None
        assert_books_balance(current_month(now))
        entries = db.session.scalar(select(func.count()).select_from(PointsEntry))

        again = delete_member_account(db.session.get(Member, owner.id))
        db.session.commit()
        assert set(again.values()) == {0}
        assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == entries
        assert (
            db.session.scalar(select(func.count()).where(AuditEntry.action == "account.deleted"))
            == 1
        )
        assert db.session.get(Referral, data["referral"].id) is not None
        fresh = register_member(mobile=mobile, password=PASSWORD, name="Zhang Wei", dealer_id=sz)
        db.session.commit()
        assert fresh.mobile == mobile and fresh.id != user_id


def test_the_privacy_pages_speak_chinese(member_client):
    member_client.get("/lang/zh")
    page = member_client.get("/me/privacy").get_data(as_text=True)
    assert "隐私与我的数据" in page and "注销我的账户" in page and "下载我的数据" in page
    member_client.post("/me/privacy/delete/code")
    page = member_client.get("/me/privacy/delete").get_data(as_text=True)
    assert "永久注销我的账户" in page


def test_a_paid_place_is_refunded_in_full_when_its_owner_deletes_the_account(app, dealers, clock):
    from app.payments import services as payments
    from app.payments.models import Payment, PaymentStatus
    from tests.payments.conftest import PRICE_FEN, make_paid_event, stripe_settings
    from tests.payments.fake_stripe import FakeStripe

    fake = FakeStripe().start()
    try:
        app.config.update(stripe_settings(fake))
        with app.app_context(), app.test_request_context():
            owner = make_member(dealers["SZ01"])
            event = make_paid_event(make_staff("event_staff", dealers["SZ01"]), clock)
            registration = events.sign_up(owner, event.id)
            payment = payments.start_checkout(owner, registration.id)
            fake.mark_paid(payment.checkout_session_id)
            payments.sync_session(payment.checkout_session_id)

            done = delete_member_account(owner)

            assert done["payments_refunded"] == 1
            payment = db.session.get(Payment, payment.id)
            assert payment.status == PaymentStatus.REFUNDED
            assert payment.refunded_fen == PRICE_FEN
            (refund,) = fake.refunds.values()
            assert refund["amount"] == PRICE_FEN
    finally:
        fake.stop()


def test_a_referral_decided_after_its_referrer_left_rewards_only_the_friend(ctx, dealers):
    sz = dealers["SZ01"]
    referrer, friend = make_member(sz, name="Zhang Wei"), make_member(sz, name="Wang Fang")
    referral = register_referral(
        referrer.user, referrer, friend_name="Wang Fang", friend_mobile=next_mobile("137")
    )
    # Bought, checked and approved (the steps are the referral tests' business).
    referral.status, referral.friend_member_id = ReferralStatus.APPROVED, friend.id
    delete_member_account(referrer)

    from app.referrals.services import reward_referral

    reward_referral(referral)
    assert referral.status == ReferralStatus.REWARDED
    assert account_for(referrer).balance == 0
    assert account_for(friend).balance > 0
    assert not db.session.scalars(select(Voucher).where(Voucher.member_id == referrer.id)).all()
