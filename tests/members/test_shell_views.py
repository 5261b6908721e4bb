"""The owner's shell: the tab bar, the new home, the "me" page, tier and car pages."""

import re
from datetime import date

from app.core.dates import format_local_date
from app.extensions import db
from app.members.models import Member
from app.service.services import refund_visit
from tests.conftest import login
from tests.factories import make_member, make_reward, make_vehicle, record_car_visit

# Every link the twelve tiles of the old home held, and its "add a car" button.
OLD_HOME_LINKS = {
    "/card",
    "/me/tier",
    "/me/points",
    "/events",
    "/me/appointments",
    "/perks",
    "/rewards",
    "/referrals/new",
    "/me/referrals",
    "/me/vehicles",
    "/me/notifications",
    "/me/profile",
    "/me/chapter",
    "/me/vehicles/new",
}


def links(html: str) -> set[str]:
    return set(re.findall(r'href="(/[^"]*)"', html))


def tabbar(html: str) -> str:
    return html.split('<nav class="tabbar"', 1)[1].split("</nav>", 1)[0]


def test_home_opens_on_the_card_tier_and_car_under_a_tab_bar(member_client):
    html = member_client.get("/").get_data(as_text=True)
    assert html.index('class="card-summary') < html.index("tier-title") < html.index("cars-title")
    assert html.index("cars-title") < html.index("new-title")
    assert "Show my member card" in html and "Zhang Wei" in html
    assert "5000 points to Platinum" in html
    assert "Sagitar" in html and "First maintenance overdue since" in html
    bar = tabbar(html)
    assert re.findall(r'<a href="([^"]+)"', bar) == ["/", "/card", "/events", "/rewards", "/me"]
    assert re.search(r'href="/"\s+aria-current="page"', bar)
    assert bar.count("aria-current") == 1 and bar.count("<svg") == 5


def test_a_new_owner_is_asked_for_the_car_first(app, seeded, dealers, client):
    with seeded():
        mobile = make_member(dealers["SZ01"], name="Newcomer").user.mobile
    login(client, mobile)
    html = client.get("/").get_data(as_text=True)
    assert "Add your car" in html
    assert html.index('href="/me/vehicles/new"') < html.index('class="card-summary')


def test_every_link_of_the_old_home_is_one_tap_from_home_or_me(app, seeded, dealers, client):
    with seeded():
        mobile = make_member(dealers["SZ01"], name="Newcomer").user.mobile
    login(client, mobile)
    reachable = links(client.get("/").get_data(as_text=True))
    reachable |= links(client.get("/me").get_data(as_text=True))
    assert OLD_HOME_LINKS - reachable == set()


def test_me_gathers_the_account_pages(member_client):
    html = member_client.get("/me").get_data(as_text=True)
    for path in (
        "/account/devices",
        "/account/password",
        "/me/privacy",
        "/me/vouchers",
        "/me/inbox",
    ):
        assert f'href="{path}"' in html, path
    assert 'action="/logout"' in html
    assert re.search(r'href="/me"\s+aria-current="page"', tabbar(html))


def test_each_owner_page_marks_its_tab(member_client):
    for path, tab in [
        ("/card", "/card"),
        ("/events", "/events"),
        ("/me/tickets", "/events"),
        ("/rewards", "/rewards"),
        ("/perks", "/rewards"),
        ("/me/points", "/me"),
        ("/me/tier", "/me"),
    ]:
        bar = tabbar(member_client.get(path).get_data(as_text=True))
        assert re.findall(r'href="([^"]+)"\s+aria-current="page"', bar) == [tab], path


def test_staff_and_visitors_keep_their_header(client, staff_client):
    assert 'class="tabbar"' not in client.get("/").get_data(as_text=True)
    assert 'class="tabbar"' not in client.get("/login").get_data(as_text=True)
    desk = staff_client.get("/admin/").get_data(as_text=True)
    assert 'class="tabbar"' not in desk and 'class="topnav"' in desk


def test_the_tier_page_shows_progress_and_what_each_tier_gives(app, seeded, member_client):
    with seeded():
        make_reward(name="Fuel card ¥100", min_tier_code="platinum")
    html = member_client.get("/me/tier").get_data(as_text=True)
    assert re.search(r'<progress id="tier-to-next"[^>]*max="5000" value="0"', html)
    assert "5000 points to Platinum" in html
    assert "What each tier gives" in html and "×1.25 points on service visits" in html
    platinum = html.split('id="tier-platinum"', 1)[1].split('id="tier-diamond"', 1)[0]
    assert "Fuel card ¥100" in platinum
    assert "Fuel card ¥100" not in html.split('id="tier-platinum"', 1)[0]  # not gold's


def test_the_tier_page_says_what_keeps_the_tier(app, seeded, member, member_client):
    with seeded():
        owner = db.session.get(Member, member["id"])
        car = owner.vehicles[0]
        for ro in ("RO-1", "RO-2"):
            record_car_visit(car, ro, date(2026, 11, 20), amount_fen=300_000)
    html = member_client.get("/me/tier").get_data(as_text=True)
    assert "Platinum is yours at your review on" in html
    assert re.search(r'<progress id="tier-to-keep"[^>]*max="5000" value="5000"', html)
    assert "9000 points to Diamond" in html


def test_the_car_page_lists_visits_with_refunds(app, seeded, member, member_client):
    with seeded():
        owner = db.session.get(Member, member["id"])
        car = owner.vehicles[0]
        car.insurance_expires_on = date(2027, 3, 31)
        record_car_visit(
            car, "RO-9", date(2026, 11, 2), mileage_km=12_345, amount_fen=88_800, category="repair"
        )
        refund_visit(None, dealer_id=owner.dealer_id, ro_number="RO-9")
    html = member_client.get(f"/me/vehicles/{member['vehicle_id']}").get_data(as_text=True)
    assert "Dealer SZ01" in html and "12,345 km" in html and "¥888.00" in html
    assert "Refunded on" in html and "888 points taken back" in html
    with app.test_request_context():
        assert format_local_date(date(2027, 3, 31)) in html
    assert re.search(r'href="/me"\s+aria-current="page"', tabbar(html))


def test_another_owners_car_is_not_found(app, seeded, dealers, member, client):
    with seeded():
        other = make_member(dealers["SZ01"], name="Li Lei")
        make_vehicle(other)
        mobile = other.user.mobile
    login(client, mobile)
    assert client.get(f"/me/vehicles/{member['vehicle_id']}").status_code == 404
