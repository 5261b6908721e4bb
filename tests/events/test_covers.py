"""Event covers: staff upload one on the event form, owners see it resized; what is refused
says why beside the field and stores nothing; the pictures are served for a year, no further
than their folder."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.audit import AuditEntry
from app.events.models import Event
from app.extensions import db
from tests.events.test_views import EVENT_FORM
from tests.pictures import (
    fetch,
    photo,
    png_bomb,
    png_polyglot,
    post_form,
    svg_with_script,
    upload,
)


def stored(app) -> list[Path]:
    return sorted(Path(app.config["UPLOAD_FOLDER"]).rglob("*.webp"))


def only_event(app) -> Event:
    with app.app_context():
        return db.session.scalar(select(Event))


@pytest.fixture
def staff(staff_factory):
    return staff_factory("event_staff", "SZ01")


def publish(staff, **change):
    return post_form(staff, "/admin/events/new", {**EVENT_FORM, **change})


def test_a_published_cover_shows_resized_on_the_owners_pages(app, staff, member_client):
    form = staff.get("/admin/events/new").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and 'accept="image/jpeg,image/png' in form
    assert publish(staff, cover=upload(photo((3000, 2000), gps=True))).status_code == 302
    event = only_event(app)
    key = event.cover_key
    assert (event.cover_width, event.cover_height) == (960, 640)
    assert [p.name for p in stored(app)] == [f"{key}-480.webp", f"{key}-960.webp"]

    page = member_client.get(f"/events/{event.id}").get_data(as_text=True)
    hero = re.search(r'<img class="cover event-hero"[^>]*>', page).group(0)
    assert f'srcset="/media/covers/{key}-480.webp 480w, /media/covers/{key}-960.webp 960w"' in hero
    assert f'src="/media/covers/{key}-480.webp"' in hero
    assert 'width="960" height="640"' in hero and 'sizes="' in hero and 'alt=""' in hero
    # Above the fold: fetched first, not lazily.
    assert 'fetchpriority="high"' in hero and "loading=" not in hero

    listing = member_client.get("/events").get_data(as_text=True)
    card = re.search(r'<img class="cover event-cover"[^>]*>', listing).group(0)
    assert f"/media/covers/{key}-960.webp 960w" in card and 'width="960" height="640"' in card
    assert 'decoding="async"' in card

    with app.app_context():
        audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "event.created"))
        assert audit.details == {"cover": key}


def test_an_event_without_a_cover_keeps_its_box_in_the_list(app, staff, member_client):
    assert publish(staff).status_code == 302
    listing = member_client.get("/events").get_data(as_text=True)
    assert '<div class="cover cover-none event-cover" aria-hidden="true"></div>' in listing
    detail = member_client.get(f"/events/{only_event(app).id}").get_data(as_text=True)
    assert "cover" not in re.sub(r"<link[^>]*>", "", detail.split("<main", 1)[1])[:400]


def test_staff_replace_and_remove_the_cover_and_each_change_is_audited(app, staff, member_client):
    publish(staff, cover=upload(photo((1200, 600))))
    event = only_event(app)
    first = event.cover_key
    edit = f"/admin/events/{event.id}/edit"
    form = staff.get(edit).get_data(as_text=True)
    assert "Remove the picture" in form and f"/media/covers/{first}-480.webp" in form
    fields = {**EVENT_FORM, "kind": "trip"}
    assert (
        post_form(staff, edit, {**fields, "cover": upload(photo((1600, 900)))}).status_code == 302
    )
    second = only_event(app).cover_key
    assert second != first
    # Saving without a file keeps the picture.
    assert staff.post(edit, data=fields).status_code == 302
    assert only_event(app).cover_key == second
    assert staff.post(edit, data={**fields, "remove_cover": "y"}).status_code == 302
    event = only_event(app)
    assert (event.cover_key, event.cover_width, event.cover_height) == (None, None, None)
    with app.app_context():
        notes = db.session.scalars(
            select(AuditEntry.details)
            .where(AuditEntry.action == "event.updated")
            .order_by(AuditEntry.id)
        ).all()
    assert [n.get("cover", "-") for n in notes] == [second, None]


@pytest.mark.parametrize(
    ("data", "name", "kind", "message"),
    [
        (b"\xff\xd8\xff\xe0" + b"\0" * (20 * 1024 * 1024), "big.jpg", "image/jpeg",
         "The picture is too large: at most 8 MB."),
        (svg_with_script(), "cover.png", "image/png", "Send a photo as JPEG, PNG or WebP."),
        (png_bomb(30000, 30000), "bomb.png", "image/png",
         "The picture has too many pixels: at most 40 megapixels."),
        (b"<html><script>alert(1)</script></html>", "page.jpg", "image/jpeg",
         "Send a photo as JPEG, PNG or WebP."),
    ],
)  # fmt: skip
def test_a_refused_upload_says_why_beside_the_field_and_saves_nothing(
    app, staff, data, name, kind, message
):
    response = publish(staff, cover=upload(data, name, kind))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'<p class="error" id="cover-error">{message}</p>' in page
    # The rest of the form is kept.
    assert 'value="Spring self-drive to Huizhou"' in page
    assert only_event(app) is None and stored(app) == []


def test_an_upload_beyond_the_request_limit_gets_a_page_that_names_the_limit(app, staff):
    huge = b"\0" * (33 * 1024 * 1024)
    response = publish(staff, cover=upload(huge))
    assert response.status_code == 413
    assert "The picture is too large: send one of at most 8 MB." in response.get_data(as_text=True)
    assert only_event(app) is None and stored(app) == []


def test_other_forms_keep_the_small_request_limit(app, member_client):
    response = member_client.post("/me/profile", data={"name": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413


def test_a_polyglot_is_served_as_its_pixels_only(app, staff, client):
    publish(staff, cover=upload(png_polyglot(), "cover.png", "image/png"))
    key = only_event(app).cover_key
    for width in (480, 800):
        body = fetch(client, f"/media/covers/{key}-{width}.webp").data
        assert body.startswith(b"RIFF") and b"<script" not in body and b"PK\x03\x04" not in body


def test_media_is_cached_for_a_year_and_never_sniffed(app, staff, client):
    publish(staff, cover=upload(photo((1000, 500))))
    key = only_event(app).cover_key
    response = fetch(client, f"/media/covers/{key}-960.webp")
    assert response.status_code == 200 and response.mimetype == "image/webp"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/media/covers/{key}-961.webp").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/media/../carclub.sqlite",
        "/media/covers/../../carclub.sqlite",
        "/media/covers/..%2F..%2Fcarclub.sqlite",
        "/media/%2e%2e/carclub.sqlite",
        "/media/covers/0123456789abcdef-480.webp/..",
        "/media/covers//etc/passwd",
        "/media/covers/0123456789abcdef-480.svg",
    ],
)
def test_media_serves_nothing_outside_the_pictures(app, client, path):
    assert fetch(client, path).status_code == 404


def test_another_dealers_staff_cannot_change_the_cover(app, staff, staff_factory):
    publish(staff, cover=upload(photo((1200, 600))))
    event = only_event(app)
    other = staff_factory("event_staff", "GZ01")
    edit = f"/admin/events/{event.id}/edit"
    assert other.get(edit).status_code == 404
    response = post_form(other, edit, {**EVENT_FORM, "cover": upload(photo((1600, 900)))})
    assert response.status_code == 404
    response = other.post(edit, data={**EVENT_FORM, "remove_cover": "y"})
    assert response.status_code == 404
    assert only_event(app).cover_key == event.cover_key
    assert len(stored(app)) == 2


def test_owners_cannot_reach_the_staff_form(app, staff, member_client):
    publish(staff, cover=upload(photo((1200, 600))))
    edit = f"/admin/events/{only_event(app).id}/edit"
    assert post_form(member_client, edit, {"cover": upload(photo((800, 400)))}).status_code == 403
