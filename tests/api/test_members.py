"""GET /api/v1/members/by-card/<card_number>."""

from app.cards.services import active_card, reissue_card
from app.extensions import db
from app.members.models import Member
from tests.api.conftest import assert_error
from tests.factories import give_points, make_staff


def card_number(app, member_id: int) -> str:
    with app.app_context():
        return active_card(db.session.get(Member, member_id)).number


def test_a_card_names_its_owner_tier_and_balance(app, api, seeded, member):
    with seeded():
        give_points(db.session.get(Member, member["id"]), 321)
    number = card_number(app, member["id"])
    response = api.get(f"/members/by-card/{number}")
    assert response.status_code == 200
    assert response.get_json() == {
        "member_id": member["id"],
        "name": "Zhang Wei",
        "tier": "gold",
        "balance": 321,
        "card_status": "active",
    }
    spaced = " ".join(number[i : i + 4] for i in range(0, 16, 4))
    assert api.get(f"/members/by-card/{spaced}").status_code == 200


def test_a_replaced_card_says_so(app, api, seeded, member, dealers):
    old = card_number(app, member["id"])
    with seeded():
        staff = make_staff("service_advisor", dealers["SZ01"])
        reissue_card(staff, db.session.get(Member, member["id"]), reason="lost")
    response = api.get(f"/members/by-card/{old}")
    assert response.status_code == 200
    assert response.get_json()["card_status"] == "replaced"


def test_a_wrong_check_digit_is_422(app, api, member):
    number = card_number(app, member["id"])
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert_error(api.get(f"/members/by-card/{wrong}"), 422, "validation_failed", "card_number")
    assert_error(api.get("/members/by-card/1234"), 422, field="card_number")
    assert_error(api.get("/members/by-card/abcdefghijklmnop"), 422, field="card_number")


def test_an_unknown_card_is_404(api, member):
    assert_error(api.get("/members/by-card/8000000000000003"), 404, "not_found")


def test_another_dealers_key_cannot_see_the_owner(app, api, member):
    number = card_number(app, member["id"])
    error = assert_error(api.get(f"/members/by-card/{number}", dealer="GZ01"), 404)
    assert "Zhang" not in str(error)
