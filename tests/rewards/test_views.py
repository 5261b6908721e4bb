"""The owner's catalog and vouchers, the staff catalog admin and the voucher counter page."""

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from app.core.audit import AuditEntry
from app.extensions import db
from app.loyalty.services import account_for
from app.members.models import Member
from app.rewards.models import Reward, Voucher, VoucherStatus
from app.rewards.services import format_voucher_code, redeem_reward
from tests.conftest import login
from tests.factories import (
    count_staff_made_rewards,
    give_points,
    make_member,
    make_reward,
    staff_made_rewards,
)


def text(response) -> str:
    """The page's visible text, tags removed and whitespace squeezed."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


@pytest.fixture
def shop(app, seeded, member, dealers):
    """Points for Zhang Wei (1,500) and a catalog: ids by name."""
    with seeded():
        owner = db.session.get(Member, member["id"])
        give_points(owner, 1500)
        rewards = {
            "wash": make_reward(name="Car wash", cost_points=800, stock=5),
            "labour": make_reward(name="Labour hour", cost_points=1000, min_tier_code="platinum"),
            "package": make_reward(dealers["SZ01"], name="Maintenance package", cost_points=9000),
            "gz": make_reward(dealers["GZ01"], name="Guangzhou gift", cost_points=100),
        }
        return {k: r.id for k, r in rewards.items()}


def state(app, member_id: int) -> dict:
    with app.app_context():
        owner = db.session.get(Member, member_id)
        return {
            "balance": account_for(owner).balance,
            "vouchers": db.session.scalar(select(func.count(Voucher.id))),
            "stock": dict(db.session.execute(select(Reward.name, Reward.stock)).all()),
        }


def issue(app, member_id: int, reward_id: int) -> dict:
    with app.app_context(), app.test_request_context():
        voucher = redeem_reward(db.session.get(Member, member_id), reward_id)
        db.session.commit()
        return {"id": voucher.id, "code": voucher.code}


# ----------------------------------------------------------------------------------- owner


def test_the_catalog_shows_cost_value_tier_and_what_can_be_redeemed(member_client, shop):
    response = member_client.get("/rewards")
    page = text(response)
    assert "1500 points ≈ ¥15.00" in page
    assert "Car wash" in page and "800 points ≈ ¥8.00" in page
    assert "For Platinum members and above" in page
    assert "Maintenance package" in page and "You need 7500 more points" in page
    assert "Guangzhou gift" not in page
    html = response.get_data(as_text=True)
    # Only the car wash can be redeemed now, and the form asks first.
    assert html.count('class="confirm"') == 1
    assert f'action="/rewards/{shop["wash"]}/redeem"' in html
    assert "Spend 800 points on “Car wash”?" in unescape(html)


def test_the_home_page_links_to_the_rewards(member_client):
    assert 'href="/rewards"' in member_client.get("/").get_data(as_text=True)


def test_redeeming_shows_the_voucher_with_its_code_and_qr(app, member, member_client, shop):
    response = member_client.post(f"/rewards/{shop['wash']}/redeem")
    assert response.status_code == 302
    page = member_client.get(response.headers["Location"])
    body = text(page)
    assert "Your voucher is ready. Show it at the counter." in body
    assert "Car wash" in body and "Ready to use" in body
    with app.app_context():
        voucher = db.session.scalar(select(Voucher))
        code = format_voucher_code(voucher.code)
    assert code in body
    assert 'class="qr"' in page.get_data(as_text=True)
    assert "Cancel the voucher and get the points back" in body
    assert state(app, member["id"])["balance"] == 700
    assert state(app, member["id"])["stock"]["Car wash"] == 4
    assert code in text(member_client.get("/me/vouchers"))


@pytest.mark.parametrize(
    ("reward", "message"),
    [
        ("package", "Not enough points: 1500 available."),
        ("labour", "This reward is for Platinum members and above."),
    ],
)
def test_a_refused_redemption_says_why_and_changes_nothing(
    app, member, member_client, shop, reward, message
):
    before = state(app, member["id"])
    response = member_client.post(f"/rewards/{shop[reward]}/redeem", follow_redirects=True)
    assert message in text(response)
    assert state(app, member["id"]) == before


def test_another_dealers_reward_is_not_found(app, member, member_client, shop):
    before = state(app, member["id"])
    assert member_client.post(f"/rewards/{shop['gz']}/redeem").status_code == 404
    assert state(app, member["id"]) == before


def test_cancelling_a_voucher_gives_the_points_back(app, member, member_client, shop):
    voucher = issue(app, member["id"], shop["wash"])
    response = member_client.post(f"/me/vouchers/{voucher['id']}/cancel", follow_redirects=True)
    page = text(response)
    assert "Voucher cancelled: 800 points are back in your account." in page
    assert "Cancelled on" in page
    assert "Cancel the voucher" not in page
    assert 'class="qr"' not in response.get_data(as_text=True)
    assert state(app, member["id"])["balance"] == 1500
    vouchers = text(member_client.get("/me/vouchers"))
    assert "Expired or cancelled (1)" in vouchers and "Cancelled: points returned" in vouchers


def test_an_owner_cannot_see_or_cancel_another_owners_voucher(
    app, seeded, dealers, member, client, shop
):
    voucher = issue(app, member["id"], shop["wash"])
    with seeded():
        other = make_member(dealers["SZ01"], name="Li Na")
        mobile = other.user.mobile
    login(client, mobile)
    assert client.get(f"/me/vouchers/{voucher['id']}").status_code == 404
    assert client.post(f"/me/vouchers/{voucher['id']}/cancel").status_code == 404
    assert voucher["code"] not in client.get("/me/vouchers").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Voucher, voucher["id"]).status == VoucherStatus.ISSUED


def test_owner_pages_are_for_owners(client, staff_client):
    for path in ("/rewards", "/me/vouchers", "/me/vouchers/1"):
        assert client.get(path).status_code == 302
        assert staff_client.get(path).status_code == 403


# ----------------------------------------------------------------------------------- staff


def test_staff_redeem_a_code_at_the_counter_once(app, member, staff_client, shop):
    voucher = issue(app, member["id"], shop["wash"])
    typed = format_voucher_code(voucher["code"]).lower()
    page = text(staff_client.post("/admin/vouchers/redeem", data={"code": typed}))
    assert "✓ Voucher redeemed" in page and "Car wash" in page and "Zhang Wei" in page

    page = text(staff_client.post("/admin/vouchers/redeem", data={"code": voucher["code"]}))
    assert "✗ Refused" in page
    assert "This voucher was already used." in page
    assert "Used on" in page
    with app.app_context():
        assert db.session.get(Voucher, voucher["id"]).status == VoucherStatus.REDEEMED
        # The refusal is kept in the audit log, not rolled back with the request.
        reasons = db.session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "voucher.refused")
        ).all()
        assert reasons == [{"reason": "already_redeemed", "redeemed_at": reasons[0]["redeemed_at"]}]


def test_another_dealers_staff_are_refused(app, member, staff_factory, shop):
    voucher = issue(app, member["id"], shop["wash"])
    gz_desk = staff_factory("service_advisor", "GZ01")
    page = text(gz_desk.post("/admin/vouchers/redeem", data={"code": voucher["code"]}))
    assert "This voucher can only be used at another dealer." in page
    assert "Zhang Wei" not in page
    with app.app_context():
        assert db.session.get(Voucher, voucher["id"]).status == VoucherStatus.ISSUED


def test_an_unknown_or_empty_code_is_explained(staff_client):
    page = text(staff_client.post("/admin/vouchers/redeem", data={"code": "ZZZZZ-ZZZZZ"}))
    assert "No voucher has this code. Check it for a typo." in page
    page = text(staff_client.post("/admin/vouchers/redeem", data={"code": ""}))
    assert "Scan or type a code." in page


def test_the_desk_shows_the_tiles_a_role_may_use(staff_factory):
    consultant = text(staff_factory("sales_consultant").get("/admin/"))
    assert "Redeem a voucher" in consultant and "Rewards catalog" not in consultant
    admin = text(staff_factory("dealer_admin").get("/admin/"))
    assert "Redeem a voucher" in admin and "Rewards catalog" in admin
    events = text(staff_factory("event_staff").get("/admin/"))
    assert "Redeem a voucher" not in events


def reward_form(**overrides) -> dict:
    return {
        "name": "Fuel card ¥50",
        "kind": "fuel_voucher",
        "description": "Sinopec",
        "cost_points": "5000",
        "stock": "50",
        "min_tier_code": "",
        "validity_days": "60",
        "image_url": "",
        "active": "y",
        **overrides,
    }


def test_a_dealer_admin_adds_a_reward_for_their_dealer(app, staff_factory, dealers):
    admin = staff_factory("dealer_admin", "SZ01")
    form = admin.get("/admin/rewards/new").get_data(as_text=True)
    assert "All dealers (group-wide)" not in form
    response = admin.post("/admin/rewards/new", data=reward_form(dealer_id=str(dealers["SZ01"])))
    assert response.status_code == 302
    listing = text(admin.get("/admin/rewards"))
    assert "Reward saved." in listing and "Fuel card ¥50" in listing
    with app.app_context():
        reward = db.session.scalar(staff_made_rewards())
        assert (reward.dealer_id, reward.cost_points, reward.stock) == (dealers["SZ01"], 5000, 50)
        assert reward.min_tier_code is None and reward.active


def test_a_dealer_admin_cannot_make_a_group_wide_reward(app, staff_factory):
    admin = staff_factory("dealer_admin", "SZ01")
    page = text(admin.post("/admin/rewards/new", data=reward_form(dealer_id="")))
    assert "You may only manage your own dealer's rewards." in page
    with app.app_context():
        assert count_staff_made_rewards() == 0


def test_hq_makes_group_wide_rewards_and_dealer_admins_cannot_edit_them(
    app, seeded, staff_factory, dealers
):
    hq = staff_factory("hq_admin", None)
    assert "All dealers (group-wide)" in hq.get("/admin/rewards/new").get_data(as_text=True)
    response = hq.post(
        "/admin/rewards/new", data=reward_form(dealer_id="", min_tier_code="diamond")
    )
    assert response.status_code == 302
    with app.app_context():
        reward = db.session.scalar(staff_made_rewards())
        assert reward.dealer_id is None and reward.min_tier_code == "diamond"
        reward_id = reward.id
    with seeded():
        gz_reward = make_reward(dealers["GZ01"], name="GZ only").id
    admin = staff_factory("dealer_admin", "SZ01")
    listing = text(admin.get("/admin/rewards"))
    assert "Fuel card ¥50" in listing and "GZ only" not in listing
    assert admin.get(f"/admin/rewards/{reward_id}").status_code == 403
    assert admin.post(f"/admin/rewards/{reward_id}", data=reward_form()).status_code == 403
    assert admin.get(f"/admin/rewards/{gz_reward}").status_code == 404


def test_bad_reward_values_are_shown_next_to_their_fields(app, staff_factory, dealers):
    admin = staff_factory("dealer_admin", "SZ01")
    response = admin.post(
        "/admin/rewards/new",
        data=reward_form(
            dealer_id=str(dealers["SZ01"]), cost_points="0", image_url="http://x.test/a.png"
        ),
    )
    html = response.get_data(as_text=True)
    assert 'id="cost_points-error"' in html
    response = admin.post(
        "/admin/rewards/new",
        data=reward_form(dealer_id=str(dealers["SZ01"]), image_url="http://x.test/a.png"),
    )
    html = unescape(response.get_data(as_text=True))
    assert 'id="image_url-error"' in html
    assert "Give the address of an image on this site, starting with /." in html
    with app.app_context():
        assert count_staff_made_rewards() == 0


def test_the_catalog_speaks_chinese(member_client, shop):
    member_client.set_cookie("lang", "zh")
    page = text(member_client.get("/rewards"))
    assert "积分" in page and "7500" in page
    assert "more points" not in page and "Redeem" not in page


def test_saving_an_old_edit_form_never_undoes_redemptions(app, dealers, seeded):
    """An admin opened the form at stock 5; owners redeemed two since: the save is refused."""
    from tests.conftest import login
    from tests.factories import make_reward, make_staff

    with seeded():
        admin_mobile = make_staff("dealer_admin", dealers["SZ01"]).mobile
        reward = make_reward(dealers["SZ01"], stock=5)
        reward_id = reward.id
    admin = app.test_client()
    login(admin, admin_mobile)
    page = admin.get(f"/admin/rewards/{reward_id}").get_data(as_text=True)
    assert 'name="stock_seen"' in page and 'value="5"' in page
    with seeded():
        db.session.get(Reward, reward_id).stock = 3
    form = {
        "name": "Car wash",
        "description": "",
        "kind": "gift",
        "cost_points": "800",
        "stock": "5",
        "stock_seen": "5",
        "min_tier_code": "",
        "validity_days": "90",
        "image_url": "",
        "active": "y",
        "dealer_id": str(dealers["SZ01"]),
    }
    answer = admin.post(f"/admin/rewards/{reward_id}", data=form).get_data(as_text=True)
    assert "the stock is now 3" in answer
    with app.app_context():
        assert db.session.get(Reward, reward_id).stock == 3
