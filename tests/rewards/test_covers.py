"""Reward covers: a dealer admin uploads one on the reward form; owners see it in the catalog;
another dealer's admin cannot change it."""

import re

from sqlalchemy import select

from app.core.audit import AuditEntry
from app.extensions import db
from app.rewards.models import Reward
from tests.pictures import fetch, photo, post_form, svg_with_script, upload
from tests.rewards.test_views import reward_form


def newest_reward(app) -> Reward:
    with app.app_context():
        return db.session.scalar(select(Reward).order_by(Reward.id.desc()))


def test_a_reward_cover_is_uploaded_audited_and_shown_in_the_catalog(
    app, staff_factory, dealers, member_client
):
    admin = staff_factory("dealer_admin", "SZ01")
    assert 'enctype="multipart/form-data"' in admin.get("/admin/rewards/new").get_data(as_text=True)
    fields = reward_form(dealer_id=str(dealers["SZ01"]), cost_points="10")
    response = post_form(
        admin, "/admin/rewards/new", {**fields, "cover": upload(photo((800, 600)))}
    )
    assert response.status_code == 302
    reward = newest_reward(app)
    assert (reward.cover_width, reward.cover_height) == (800, 600)
    page = member_client.get("/rewards").get_data(as_text=True)
    item = page.split("Fuel card ¥50")[0].rsplit("<li", 1)[1]
    img = re.search(r"<img [^>]*>", item).group(0)
    assert f"/media/covers/{reward.cover_key}-480.webp 480w" in img
    assert f"/media/covers/{reward.cover_key}-800.webp 800w" in img
    assert 'width="800" height="600"' in img and 'loading="lazy"' in img
    assert fetch(member_client, f"/media/covers/{reward.cover_key}-800.webp").status_code == 200
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reward.created"))
        assert entry.details["changes"]["cover_key"] == reward.cover_key

    edit = f"/admin/rewards/{reward.id}"
    refused = post_form(admin, edit, {**fields, "cover": upload(svg_with_script(), "a.png")})
    assert refused.status_code == 200  # the reward form answers 200 with its errors
    assert 'id="cover-error">Send a photo as JPEG, PNG or WebP.' in refused.get_data(as_text=True)
    assert newest_reward(app).cover_key == reward.cover_key
    removed = post_form(admin, edit, {**fields, "stock_seen": "50", "remove_cover": "y"})
    assert removed.status_code == 302
    assert newest_reward(app).cover is None
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reward.changed"))
        assert entry.details["changes"]["cover_key"] == [reward.cover_key, None]


def test_another_dealers_admin_cannot_change_a_rewards_cover(app, staff_factory, dealers):
    admin = staff_factory("dealer_admin", "SZ01")
    fields = reward_form(dealer_id=str(dealers["SZ01"]))
    post_form(admin, "/admin/rewards/new", {**fields, "cover": upload(photo((800, 600)))})
    reward = newest_reward(app)
    other = staff_factory("dealer_admin", "GZ01")
    response = post_form(
        other, f"/admin/rewards/{reward.id}", {**fields, "cover": upload(photo((900, 600)))}
    )
    assert response.status_code == 404
    assert newest_reward(app).cover_key == reward.cover_key
