"""The web app manifest: installable on a phone, with its icons, shortcuts and screenshots."""

import json

import pytest
from PIL import Image

from tests.conftest import ROOT

STATIC = ROOT / "app" / "static"
MANIFEST = json.loads((STATIC / "manifest.webmanifest").read_text(encoding="utf-8"))


def static_file(src: str):
    assert src.startswith("/static/"), src
    path = STATIC / src.removeprefix("/static/")
    assert path.is_file(), src
    return path


def test_the_manifest_makes_an_installable_app():
    for field in ("id", "name", "short_name", "start_url", "scope", "theme_color"):
        assert MANIFEST[field], field
    assert MANIFEST["display"] == "standalone"
    assert MANIFEST["background_color"].startswith("#")
    purposes = {(i["sizes"], i.get("purpose", "any")) for i in MANIFEST["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= purposes


@pytest.mark.parametrize(
    "image", MANIFEST["icons"] + MANIFEST["screenshots"], ids=lambda i: i["src"]
)
def test_every_image_is_there_at_its_stated_size(image):
    path = static_file(image["src"])
    if image["sizes"] != "any":
        with Image.open(path) as opened:
            assert "x".join(map(str, opened.size)) == image["sizes"]
            assert opened.format == image["type"].removeprefix("image/").upper()


def test_the_screenshots_are_for_phones():
    assert MANIFEST["screenshots"]
    assert {s["form_factor"] for s in MANIFEST["screenshots"]} == {"narrow"}
    assert all(s["label"] for s in MANIFEST["screenshots"])


def test_the_shortcuts_open_the_card_and_the_gate(app):
    urls = [s["url"] for s in MANIFEST["shortcuts"]]
    assert urls == ["/card", "/admin/events"]
    adapter = app.url_map.bind("localhost")
    endpoints = [adapter.match(url, method="GET")[0] for url in urls]
    assert endpoints == ["cards.show", "events.staff_list"]
    for shortcut in MANIFEST["shortcuts"]:
        for icon in shortcut["icons"]:
            static_file(icon["src"])


def test_the_manifest_is_served(client):
    with client.get("/static/manifest.webmanifest") as response:
        assert response.status_code == 200
        assert json.loads(response.get_data(as_text=True))["id"] == "/"
