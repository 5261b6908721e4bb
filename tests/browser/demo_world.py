"""The demo data on a browser test's live server, and logging in as its accounts."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.auth.models import User
from app.auth.second_factor import code_at
from app.auth.services import get_user_by_mobile
from app.core.clock import local_date, utcnow
from app.extensions import db
from app.members.inbox import notify
from app.partners.claims import claim_perk
from app.partners.models import Perk
from app.referrals.services import register_referral
from app.rewards.models import Reward
from app.rewards.services import redeem_reward
from app.service.appointments import book_appointment, bookable_slots
from demo.seed import DEMO_OWNER, DEMO_PASSWORD, DEMO_TOTP_SECRET, STAFF, seed_demo
from tests.factories import next_mobile, record_car_visit


def seed_demo_world(app) -> None:
    """The demo data (8 owners, a staff account per role, HQ, a partner), and the demo owner
    with a voucher, a perk, an appointment, a referral, a message and a service history."""
    with app.app_context(), app.test_request_context():
        # The server's own staff account may hold a demo number: it moves aside.
        demo_numbers = {s[0] for s in STAFF} | {f"139{i:08d}" for i in range(1, 9)}
        for user in db.session.scalars(select(User).where(User.mobile.in_(demo_numbers))):
            user.mobile = next_mobile("136")
        seed_demo(8)
        now = utcnow()
        member = get_user_by_mobile(DEMO_OWNER).member
        car = member.vehicles[0]
        record_car_visit(car, "RO-7001", local_date(now) - timedelta(days=40), mileage_km=8_200)
        wash = db.session.scalar(select(Reward).where(Reward.name == "Car wash voucher"))
        redeem_reward(member, wash.id)
        perk = db.session.scalar(select(Perk).where(Perk.title == "Free hand wash"))
        claim_perk(member, perk.id)
        for days in range(1, 8):
            slots = bookable_slots(member, local_date(now) + timedelta(days=days))
            if slots:
                book_appointment(member, slot_id=slots[0].id, vehicle_id=car.id)
                break
        register_referral(member.user, member, friend_name="Qian Yu", friend_mobile="13912345678")
        notify(member, "welcome", lambda: ("Welcome", "Your card is ready."), dedupe_key="fit")
        db.session.commit()


def demo_log_in(page, mobile: str) -> None:
    """Log in as a demo account (with the demo authenticator code for admins)."""
    page.goto("/login")
    page.fill("#mobile", mobile)
    page.fill("#password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert not page.url.endswith("/login"), page.locator("main").inner_text()
    if page.url.endswith("/login/second-factor"):
        page.fill("#code", code_at(DEMO_TOTP_SECRET, datetime.now(UTC)))
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_url(lambda url: not url.endswith("/login/second-factor"))
