"""Perk covers: a dealer admin uploads one on the perk form; owners see it on the perks page;
a group-wide partner's perks stay HQ's, another dealer's are not found."""

import re

from app.extensions import db
from app.partners.models import Perk
from tests.partners import test_views
from tests.partners.test_views import perk_form
from tests.pictures import photo, png_bomb, post_form, upload

perks = test_views.perks  # the fixture: partners, perks and logins of two dealers and HQ


def perk(app, perk_id) -> Perk:
    with app.app_context():
        return db.session.get(Perk, perk_id)


def test_a_perk_cover_is_uploaded_and_shown_to_owners(app, staff_factory, perks, member_client):
    admin = staff_factory("dealer_admin", "SZ01")
    edit = f"/admin/perks/{perks['wash']}/edit"
    assert 'enctype="multipart/form-data"' in admin.get(edit).get_data(as_text=True)
    fields = perk_form(title="Free wash", min_tier_code="", total_limit="")
    bomb = post_form(admin, edit, {**fields, "cover": upload(png_bomb(), "wash.png", "image/png")})
    assert bomb.status_code == 422
    assert "too many pixels" in bomb.get_data(as_text=True)
    assert perk(app, perks["wash"]).cover is None
    response = post_form(admin, edit, {**fields, "cover": upload(photo((2000, 1000)))})
    assert response.status_code == 302
    cover = perk(app, perks["wash"]).cover
    assert (cover.width, cover.height) == (960, 480)
    page = member_client.get("/perks").get_data(as_text=True)
    item = page.split("Free wash")[0].rsplit("<li", 1)[1]
    img = re.search(r"<img class=\"cover[^>]*>", item).group(0)
    assert f"/media/covers/{cover.key}-960.webp 960w" in img and 'width="960"' in img
    # A perk without a picture keeps a box of the same shape.
    assert 'class="cover cover-none' in page


def test_perk_covers_follow_the_partners_scope(app, staff_factory, perks):
    admin = staff_factory("dealer_admin", "SZ01")
    fields = {**perk_form(), "cover": upload(photo((800, 400)))}
    assert post_form(admin, f"/admin/perks/{perks['upgrade']}/edit", fields).status_code == 403
    assert post_form(admin, f"/admin/perks/{perks['tea']}/edit", fields).status_code == 404
    assert perk(app, perks["upgrade"]).cover is None and perk(app, perks["tea"]).cover is None
