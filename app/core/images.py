"""Pictures staff upload (the covers of events, rewards and perks): checked, re-encoded, stored.

An upload is read up to ``COVER_MAX_BYTES``. Its type is sniffed from its content by Pillow,
limited to JPEG, PNG and WebP: an SVG (which may carry a script), an HTML page or anything else
is refused whatever its file name or Content-Type. Its size in pixels is read from the header and
checked against ``COVER_MAX_PIXELS`` before a single pixel is decoded, so a decompression bomb
(a few KB declaring 30000 x 30000 pixels) is refused without the memory it asks for. The picture
is turned upright (EXIF orientation) and re-encoded from its pixels alone to WebP at two widths
(480 and 960 pixels, never enlarged). No byte of the upload itself is ever served: metadata
(EXIF with the GPS position, comments, ICC profiles) and whatever was appended to the file (the
script or ZIP of a polyglot) stay behind.

Files are named after the hash of what they hold (``covers/<16 hex>-<width>.webp``) and never
change, so they are served with a one-year immutable cache. A row keeps only the key and the
larger rendition's size (``HasCover``): enough to write ``srcset``, ``width`` and ``height``.

Where they are kept is the ``STORAGE_BACKEND``: ``local`` (the default), a folder
(``UPLOAD_FOLDER``, ``instance/uploads``) served at ``/media/<name>``; or
``package.module:ClassName``, a class taking the app config with the ``Storage`` methods, e.g.
an object store that several hosts share (its ``url`` then points at the store or its CDN).
"""

import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Blueprint, Flask, abort, current_app, request, send_from_directory, url_for
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.utils import import_string

from app.core.errors import ValidationFailed

# What a cover may be, as Pillow names the formats (a phone's multi-picture JPEG opens as MPO).
FORMATS = ("JPEG", "PNG", "WEBP")
# The renditions' widths: a phone's screen (480) and a sharp one or a wide layout (960).
WIDTHS = (480, 960)
MIN_WIDTH, MIN_HEIGHT = 320, 160
WEBP_QUALITY = 80
YEAR = 365 * 24 * 3600
# Pillow's own guard (Image.MAX_IMAGE_PIXELS), behind the COVER_MAX_PIXELS check.
BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)
_NAME = re.compile(r"covers/[0-9a-f]{16}-[0-9]{2,4}\.webp")


@dataclass(frozen=True)
class StoredImage:
    """A stored cover: its key and the size of its larger rendition."""

    key: str
    width: int
    height: int

    @property
    def widths(self) -> list[int]:
        """The renditions' widths, smallest first."""
        return rendition_widths(self.width)

    def name(self, width: int) -> str:
        """The storage name of the rendition ``width`` pixels wide."""
        return f"covers/{self.key}-{width}.webp"

    def columns(self) -> dict:
        """The row's cover columns (``HasCover``) holding this picture."""
        return {"cover_key": self.key, "cover_width": self.width, "cover_height": self.height}


# A service's ``cover`` argument when the picture stays as it is (None removes it).
KEEP_COVER = type("KeepCover", (), {"__repr__": lambda self: "KEEP_COVER"})()


def cover_columns(cover) -> dict:
    """The cover columns to set for a service's ``cover`` argument: a ``StoredImage``, None
    (remove the picture) or ``KEEP_COVER`` (nothing to set)."""
    if cover is KEEP_COVER:
        return {}
    if cover is None:
        return {"cover_key": None, "cover_width": None, "cover_height": None}
    return cover.columns()


def cover_check() -> CheckConstraint:
    """A row's picture has a size (for its table's ``__table_args__``)."""
    return CheckConstraint(
        "cover_key IS NULL OR (cover_width > 0 AND cover_height > 0)", name="cover_size"
    )


class HasCover:
    """Columns of a row with a cover picture; ``cover`` is the picture or None."""

    cover_key: Mapped[str | None] = mapped_column(String(16))
    cover_width: Mapped[int | None]
    cover_height: Mapped[int | None]

    @property
    def cover(self) -> StoredImage | None:
        """The row's picture, or None."""
        if not self.cover_key or not self.cover_width or not self.cover_height:
            return None
        return StoredImage(self.cover_key, self.cover_width, self.cover_height)


def rendition_widths(width: int) -> list[int]:
    """The widths rendered for a picture ``width`` pixels wide: never wider than it is."""
    return sorted({min(w, width) for w in WIDTHS})


# ----------------------------------------------------------------------------------- checks


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


def read_upload(file: BinaryIO, max_bytes: int) -> bytes:
    """The upload's bytes, reading no more than one byte past ``max_bytes``."""
    data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationFailed(
            _l("The picture is too large: at most %(mb)s MB.", mb=_mb(max_bytes)), field="cover"
        )
    if not data:
        raise ValidationFailed(_l("The file is empty."), field="cover")
    return data


def _refused(message) -> ValidationFailed:
    return ValidationFailed(message, field="cover")


def _too_many(max_pixels: int) -> ValidationFailed:
    return _refused(
        _l("The picture has too many pixels: at most %(mp)s megapixels.", mp=max_pixels // 10**6)
    )


def open_picture(data: bytes, max_pixels: int) -> Image.Image:
    """The upload as a Pillow image whose pixels are not decoded yet, once its type (JPEG, PNG
    or WebP, from its content) and its size in pixels (from its header) are acceptable."""
    too_many = _too_many(max_pixels)
    Image.init()  # registers every plugin: Image.open only looks the formats up
    try:
        with warnings.catch_warnings():
            # Pillow warns from 89 megapixels; the limit below is checked at once anyway.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        raise _refused(_l("Send a photo as JPEG, PNG or WebP.")) from None
    except BOMB:
        raise too_many from None
    except Exception:  # Pillow raises many kinds on a broken header
        raise _refused(_l("The picture could not be read: the file is damaged.")) from None
    width, height = picture.size
    if width * height > max_pixels:
        raise too_many
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise _refused(
            _l(
                "The picture is too small: at least %(width)s × %(height)s pixels.",
                width=MIN_WIDTH,
                height=MIN_HEIGHT,
            )
        )
    return picture


def _upright_rgb(picture: Image.Image) -> Image.Image:
    """The first frame's pixels, upright, in RGB; transparency laid on white."""
    if picture.format in ("JPEG", "MPO"):
        # Decode at a reduced scale (JPEG's DCT scaling) when that still covers 960 pixels.
        picture.draft("RGB", (WIDTHS[-1], WIDTHS[-1]))
    picture.load()
    picture = ImageOps.exif_transpose(picture)
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        rgba = picture.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return picture.convert("RGB")


def _height_at(picture: Image.Image, width: int) -> int:
    return max(1, round(picture.height * width / picture.width))


def _webp(picture: Image.Image, width: int) -> bytes:
    if picture.width != width:
        picture = picture.resize((width, _height_at(picture, width)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # Only pixels are written: no exif, icc_profile or xmp is passed on.
    picture.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()


@dataclass(frozen=True)
class PreparedImage:
    """A checked upload re-encoded in memory, not stored yet."""

    image: StoredImage
    files: dict[str, bytes]


def prepare_cover(file: BinaryIO, *, max_bytes: int, max_pixels: int) -> PreparedImage:
    """Check an upload and re-encode it (see the module's docstring); ValidationFailed (on the
    ``cover`` field) with a message for staff when it is refused."""
    data = read_upload(file, max_bytes)
    picture = open_picture(data, max_pixels)
    try:
        pixels = _upright_rgb(picture)
        width = min(pixels.width, WIDTHS[-1])
        renditions = {w: _webp(pixels, w) for w in rendition_widths(width)}
    except BOMB:
        raise _too_many(max_pixels) from None
    except Exception:  # truncated data, bad chunks, decoder errors...
        raise _refused(_l("The picture could not be read: the file is damaged.")) from None
    key = hashlib.sha256(renditions[width]).hexdigest()[:16]
    stored = StoredImage(key, width, _height_at(pixels, width))
    return PreparedImage(stored, {stored.name(w): body for w, body in renditions.items()})


def save_prepared(prepared: PreparedImage) -> StoredImage:
    """Write a prepared picture's renditions to the storage."""
    backend = storage()
    for name, body in prepared.files.items():
        backend.save(name, body, "image/webp")
    return prepared.image


def store_cover(file: BinaryIO) -> StoredImage:
    """Check, re-encode and store an uploaded cover; ValidationFailed when it is refused."""
    config = current_app.config
    prepared = prepare_cover(
        file, max_bytes=config["COVER_MAX_BYTES"], max_pixels=config["COVER_MAX_PIXELS"]
    )
    return save_prepared(prepared)


# ---------------------------------------------------------------------------------- storage


class Storage(Protocol):
    """Where pictures are kept. Names are immutable: saving a name again writes the same bytes."""

    def save(self, name: str, data: bytes, content_type: str) -> None:
        """Keep ``data`` under ``name``."""

    def open(self, name: str) -> BinaryIO:
        """The stored bytes (FileNotFoundError when there are none)."""

    def delete(self, name: str) -> None:
        """Forget ``name`` (nothing when it is not there)."""

    def url(self, name: str) -> str:
        """The address browsers load ``name`` from."""


class LocalStorage:
    """STORAGE_BACKEND=local: files in ``UPLOAD_FOLDER``, served by this app at /media/."""

    def __init__(self, config) -> None:
        self.root = Path(config["UPLOAD_FOLDER"])

    def _path(self, name: str) -> Path:
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a picture name: {name!r}")
        return self.root / name

    def save(self, name: str, data: bytes, content_type: str) -> None:
        """Write the file whole (a reader never sees half of it)."""
        path = self._path(name)
        if path.exists():
            return  # named by its content: the same bytes are already there
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, name: str) -> BinaryIO:
        """The file, opened for reading."""
        return self._path(name).open("rb")

    def delete(self, name: str) -> None:
        """Remove the file."""
        self._path(name).unlink(missing_ok=True)

    def url(self, name: str) -> str:
        """/media/<name> on this site."""
        return url_for("media.picture", name=name)


def _load_backend(spec: str, config) -> Storage:
    if spec == "local":
        return LocalStorage(config)
    if ":" not in spec:
        raise RuntimeError(
            f"STORAGE_BACKEND must be 'local' or 'package.module:ClassName': {spec!r}"
        )
    return import_string(spec)(config)


def storage() -> Storage:
    """The current app's picture storage (one per app)."""
    app = current_app
    if "picture_storage" not in app.extensions:
        app.extensions["picture_storage"] = _load_backend(app.config["STORAGE_BACKEND"], app.config)
    return app.extensions["picture_storage"]


def cover_srcset(image: StoredImage) -> str:
    """``srcset`` of a cover: each rendition with its width."""
    backend = storage()
    return ", ".join(f"{backend.url(image.name(w))} {w}w" for w in image.widths)


def cover_src(image: StoredImage) -> str:
    """The smaller rendition: ``src`` for browsers without ``srcset``."""
    return storage().url(image.name(image.widths[0]))


# ------------------------------------------------------------------------------------- web

bp = Blueprint("media", __name__)


@bp.get("/media/<path:name>")
def picture(name: str):
    """A stored rendition (local storage): cached for a year, never sniffed as anything else."""
    if not _NAME.fullmatch(name) or not isinstance(storage(), LocalStorage):
        abort(404)
    response = send_from_directory(
        current_app.config["UPLOAD_FOLDER"], name, mimetype="image/webp", max_age=YEAR
    )
    response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def accepts_upload(view):
    """Mark a view whose form carries a picture: its request may be up to
    ``UPLOAD_REQUEST_MAX_BYTES`` (the app's MAX_CONTENT_LENGTH elsewhere), so a picture over
    ``COVER_MAX_BYTES`` is refused beside its field, with the rest of the form kept."""
    view.accepts_upload = True
    return view


def upload_view() -> bool:
    """True when the request is for a view that takes pictures."""
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "accepts_upload", False))


def init_app(app: Flask) -> None:
    """The /media/ route and the larger request limit of the upload views."""
    app.register_blueprint(bp)
    app.add_template_global(cover_srcset)
    app.add_template_global(cover_src)

    # A URL value preprocessor runs before every before_request hook, CSRF's among them, which
    # reads the form (and would refuse the body at the app's smaller limit).
    @app.url_value_preprocessor
    def allow_upload_size(endpoint, values):
        if upload_view():
            request.max_content_length = app.config["UPLOAD_REQUEST_MAX_BYTES"]
