"""Every page that shows an owner's balance shows what they can spend today: points whose date
has come are gone, whether or not the nightly job has run (R13, value-dated)."""

import re

import pytest

from app.cards.models import MemberCard
from app.extensions import db
from tests.api.conftest import make_key
from tests.factories import give_points


@pytest.fixture
def expiring_today(app, seeded, member, clock):
    """The owner earned 1,000 points 24 months ago (they expire today, the job has not run yet)
    and 500 a year ago: 500 are theirs to spend."""
    from app.members.models import Member

    with seeded():
        owner = db.session.get(Member, member["id"])
        give_points(owner, 1000)
        clock.advance(days=365)
        give_points(owner, 500)
        clock.advance(days=366)
        card = db.session.scalar(db.select(MemberCard).where(MemberCard.member_id == owner.id))
        return card.number


def shown_points(html: str) -> int:
    figure = re.search(r"<strong>([\d,]+)</strong>\s*(points|积分)", html).group(1)
    return int(figure.replace(",", ""))


def test_the_owner_sees_only_points_they_can_spend(member_client, expiring_today):
    for page in ("/", "/rewards", "/card", "/me/points"):
        response = member_client.get(page)
        assert response.status_code == 200, page
        assert shown_points(response.get_data(as_text=True)) == 500, page


def test_staff_see_only_points_the_owner_can_spend(staff_client, member, expiring_today):
    page = staff_client.get(f"/admin/members/{member['id']}").get_data(as_text=True)
    assert re.search(r"<dd>500 <small>", page)
    scanned = staff_client.post("/admin/scan", data={"code": expiring_today})
    assert "500 points" in scanned.get_data(as_text=True)


def test_the_dealer_system_reads_the_balance_of_today(app, member, expiring_today):
    key = make_key(app, "SZ01")
    response = app.test_client().get(
        f"/api/v1/members/by-card/{expiring_today}", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.get_json()["balance"] == 500
