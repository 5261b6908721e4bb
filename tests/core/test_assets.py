"""Static files: versioned URLs cached for a year, compressed text, fresh after a change."""

import gzip
import os
import re

import pytest
from flask import url_for


@pytest.fixture
def page(client):
    return client.get("/login").get_data(as_text=True)


def stylesheet_url(html: str) -> str:
    return re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{12})"', html).group(1)


def test_pages_link_static_files_with_their_version(page):
    assert stylesheet_url(page)
    assert re.search(r'src="/static/js/confirm\.js\?v=[0-9a-f]{12}"', page)


def test_a_versioned_file_is_cached_for_a_year(client, page):
    with client.get(stylesheet_url(page)) as response:
        assert response.status_code == 200
    assert response.cache_control.max_age == 365 * 24 * 3600
    assert response.cache_control.public and response.cache_control.immutable


def test_an_unversioned_file_is_revalidated(client):
    with client.get("/static/css/app.css") as response:
        assert response.status_code == 200
        assert not response.cache_control.immutable
        assert not response.cache_control.max_age


def test_text_is_gzipped_for_browsers_that_accept_it(client, page):
    url = stylesheet_url(page)
    with client.get(url) as response:
        plain = response.get_data()
    packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.get_data()) == plain
    assert len(packed.get_data()) < len(plain) / 3
    assert int(packed.headers["Content-Length"]) == len(packed.get_data())


def test_revalidation_of_a_gzipped_file_answers_not_modified(client, page):
    url = stylesheet_url(page)
    first = client.get(url, headers={"Accept-Encoding": "gzip"})
    with client.get(
        url, headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]}
    ) as again:
        assert again.status_code == 304


def test_images_are_not_recompressed(client):
    with client.get("/static/img/icon-512.png", headers={"Accept-Encoding": "gzip"}) as response:
        assert response.status_code == 200
        assert "Content-Encoding" not in response.headers


def changing_css(app, tmp_path, monkeypatch):
    """Serve static files from ``tmp_path``; returns (its app.css, the URL url_for gives it)."""
    css = tmp_path / "css" / "app.css"
    css.parent.mkdir()
    css.write_text("body{}")
    monkeypatch.setattr(app, "static_folder", str(tmp_path))

    def url():
        with app.test_request_context():
            return url_for("static", filename="css/app.css")

    return css, url


def change(css) -> None:
    css.write_text("body{color:red}")
    os.utime(css, ns=(css.stat().st_atime_ns, css.stat().st_mtime_ns + 1_000_000))


def test_a_changed_file_gets_a_new_url_where_templates_reload(app, tmp_path, monkeypatch):
    monkeypatch.setattr(app.jinja_env, "auto_reload", True)  # debug
    css, url = changing_css(app, tmp_path, monkeypatch)
    first = url()
    assert url() == first
    change(css)
    assert url() != first


def test_a_process_reads_each_version_once_elsewhere(app, tmp_path, monkeypatch):
    # A release restarts the processes; a page need not look at its ten files each time.
    css, url = changing_css(app, tmp_path, monkeypatch)
    first = url()
    change(css)
    assert url() == first
