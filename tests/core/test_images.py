"""Cover pictures: what is refused (size, type, pixels, damage) and what is kept (upright
pixels re-encoded to WebP at two widths, no metadata, nothing appended)."""

import io
from pathlib import Path

import pytest
from PIL import Image

from app.core import images
from app.core.errors import ValidationFailed
from app.core.images import LocalStorage, StoredImage, store_cover
from tests.pictures import (
    GPS_PLACE,
    SCRIPT,
    ZIP_SIGNATURE,
    photo,
    png_bomb,
    png_polyglot,
    svg_with_script,
    truncated_jpeg,
)


def refusal(data: bytes) -> str:
    with pytest.raises(ValidationFailed) as refused:
        store_cover(io.BytesIO(data))
    assert refused.value.field == "cover"
    return str(refused.value.message)


def stored_files(app) -> list[Path]:
    return sorted(Path(app.config["UPLOAD_FOLDER"]).rglob("*.webp"))


def test_a_photo_is_stored_as_webp_at_two_widths_upright_without_exif(app, ctx):
    cover = store_cover(io.BytesIO(photo((3000, 2000), orientation=6, gps=True)))
    # Orientation 6: the camera was held upright, so the picture is 2000 x 3000 once turned.
    assert (cover.width, cover.height) == (960, 1440)
    assert cover.widths == [480, 960]
    files = stored_files(app)
    assert [f.name for f in files] == [f"{cover.key}-480.webp", f"{cover.key}-960.webp"]
    for path, width in zip(files, (480, 960), strict=True):
        data = path.read_bytes()
        stored = Image.open(io.BytesIO(data))
        assert stored.format == "WEBP" and stored.width == width
        assert "exif" not in stored.info and not stored.getexif()
        assert GPS_PLACE.encode() not in data and b"Exif" not in data
        # The raw picture's top (red) is on the right once turned a quarter clockwise.
        right, left = stored.getpixel((width - 5, 10)), stored.getpixel((5, 10))
        assert right[0] > 150 > right[2] and left[2] > 150 > left[0]


def test_a_small_photo_is_never_enlarged(app, ctx):
    cover = store_cover(io.BytesIO(photo((600, 300), "PNG")))
    assert (cover.width, cover.height, cover.widths) == (600, 300, [480, 600])
    narrow = store_cover(io.BytesIO(photo((400, 200), "WEBP")))
    assert narrow.widths == [400]


def test_the_same_picture_gets_the_same_name_and_a_new_one_another(app, ctx):
    first = store_cover(io.BytesIO(photo((800, 400))))
    assert store_cover(io.BytesIO(photo((800, 400)))) == first
    assert store_cover(io.BytesIO(photo((800, 500)))).key != first.key


def test_a_file_over_the_limit_is_refused_before_it_is_read_whole(app, ctx):
    huge = b"\xff\xd8\xff\xe0" + b"\0" * (20 * 1024 * 1024)
    assert refusal(huge) == "The picture is too large: at most 8 MB."
    assert stored_files(app) == []


def test_an_svg_with_a_script_is_refused_whatever_it_is_called(app, ctx):
    assert refusal(svg_with_script()) == "Send a photo as JPEG, PNG or WebP."
    # Nor any other format Pillow reads (a GIF, a BMP, a TIFF).
    for fmt in ("GIF", "BMP", "TIFF"):
        assert refusal(photo((800, 400), fmt)) == "Send a photo as JPEG, PNG or WebP."
    assert stored_files(app) == []


def test_a_polyglot_png_is_stored_as_its_pixels_only(app, ctx):
    cover = store_cover(io.BytesIO(png_polyglot()))
    assert cover.width == 800
    for path in stored_files(app):
        data = path.read_bytes()
        assert SCRIPT not in data and b"<html" not in data and ZIP_SIGNATURE not in data
        assert data.startswith(b"RIFF") and data[8:12] == b"WEBP"


TOO_MANY = "The picture has too many pixels: at most 40 megapixels."


@pytest.mark.parametrize("size", [(30000, 30000), (8000, 6000)])
def test_a_decompression_bomb_is_refused_from_its_header(app, ctx, size):
    bomb = png_bomb(*size)
    assert len(bomb) < 10_000
    assert refusal(bomb) == TOO_MANY
    assert stored_files(app) == []


def test_pillows_own_bomb_limit_is_refused_too(app, ctx, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    assert refusal(photo((800, 400), "PNG")) == TOO_MANY


def test_damaged_empty_and_tiny_files_are_refused_with_a_message(app, ctx):
    assert refusal(truncated_jpeg()) == "The picture could not be read: the file is damaged."
    assert refusal(b"GIF89a not really") == "Send a photo as JPEG, PNG or WebP."
    assert refusal(b"\x89PNG\r\n\x1a\n" + b"\0" * 40) in {
        "Send a photo as JPEG, PNG or WebP.",
        "The picture could not be read: the file is damaged.",
    }
    assert refusal(b"") == "The file is empty."
    assert refusal(photo((100, 100))) == "The picture is too small: at least 320 × 160 pixels."
    assert stored_files(app) == []


def test_local_storage_names_only_pictures(app, ctx):
    backend = LocalStorage(app.config)
    for name in ("../carclub.sqlite", "covers/../../x.webp", "covers/abc.webp", "/etc/passwd"):
        with pytest.raises(ValueError):
            backend.save(name, b"x", "image/webp")
    name = "covers/0123456789abcdef-480.webp"
    backend.save(name, b"first", "image/webp")
    backend.save(name, b"second", "image/webp")  # a name never changes what it holds
    with backend.open(name) as stored:
        assert stored.read() == b"first"
    backend.delete(name)
    backend.delete(name)
    assert stored_files(app) == []


class MemoryStorage:
    """A storage backend outside the app: STORAGE_BACKEND=tests.core.test_images:MemoryStorage."""

    def __init__(self, config) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}

    def save(self, name, data, content_type):
        self.files[name] = (data, content_type)

    def open(self, name):
        return io.BytesIO(self.files[name][0])

    def delete(self, name):
        self.files.pop(name, None)

    def url(self, name):
        return f"https://pictures.example.com/{name}"


def test_another_storage_backend_is_named_by_the_configuration(app, ctx):
    app.config["STORAGE_BACKEND"] = "tests.core.test_images:MemoryStorage"
    app.extensions.pop("picture_storage", None)
    cover = store_cover(io.BytesIO(photo((1000, 500))))
    backend = images.storage()
    assert isinstance(backend, MemoryStorage)
    assert sorted(backend.files) == [cover.name(480), cover.name(960)]
    assert {kind for _data, kind in backend.files.values()} == {"image/webp"}
    assert images.cover_srcset(cover) == (
        f"https://pictures.example.com/{cover.name(480)} 480w, "
        f"https://pictures.example.com/{cover.name(960)} 960w"
    )
    assert stored_files(app) == []


def test_a_stored_image_knows_its_renditions():
    cover = StoredImage("0123456789abcdef", 960, 540)
    assert cover.name(480) == "covers/0123456789abcdef-480.webp"
    assert cover.columns() == {
        "cover_key": "0123456789abcdef",
        "cover_width": 960,
        "cover_height": 540,
    }
