"""Pictures for the upload tests, drawn with Pillow: photos, hostile files, bombs."""

import io
import struct
import zlib

from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

SCRIPT = b"<script>alert('carclub')</script>"
ZIP_SIGNATURE = b"PK\x03\x04"
GPS_PLACE = "Shenzhen Bay"


def photo(size=(3000, 2000), fmt="JPEG", *, orientation=None, gps=False) -> bytes:
    """A two-colour picture (top half red, bottom half blue), with EXIF if asked."""
    width, height = size
    picture = Image.new("RGB", size, (200, 20, 20))
    picture.paste((20, 20, 200), (0, height // 2, width, height))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x010E] = GPS_PLACE  # ImageDescription, so the bytes are easy to look for
        exif.get_ifd(0x8825).update({1: "N", 2: (22.0, 30.0, 0.0), 3: "E", 4: (113.0, 56.0, 0.0)})
    out = io.BytesIO()
    options = {"exif": exif.tobytes()} if (orientation or gps) else {}
    picture.save(out, fmt, **options)
    return out.getvalue()


def svg_with_script() -> bytes:
    return (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="800" '
        b'height="400"><rect width="800" height="400" fill="red"/>' + SCRIPT + b"</svg>"
    )


def png_polyglot() -> bytes:
    """A valid PNG with an HTML script and a ZIP archive appended after its IEND chunk."""
    return photo((800, 400), "PNG") + b"<html><body>" + SCRIPT + b"</body></html>" + ZIP_SIGNATURE


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width=30000, height=30000) -> bytes:
    """A few hundred bytes of PNG declaring ``width`` x ``height`` pixels: its IHDR says so,
    and its one IDAT chunk would inflate to the whole picture."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    row = b"\x00" + b"\x00" * (width * 3)
    compressor = zlib.compressobj(9)
    idat = compressor.compress(row * 16) + compressor.flush()  # the first rows only
    chunks = _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def truncated_jpeg() -> bytes:
    data = photo((1200, 800))
    return data[: len(data) // 3]


def upload(data: bytes, name="photo.jpg", kind="image/jpeg") -> FileStorage:
    """A file for ``post_form``."""
    return FileStorage(io.BytesIO(data), filename=name, content_type=kind)


def post_form(client, url: str, fields: dict):
    """POST ``fields`` (files as ``upload(...)``) as multipart/form-data encoded in memory: the
    test client would spool a large body to a temporary file that a request refused unread
    leaves open."""
    boundary, body = encode_multipart({"csrf_token": client.csrf_token(), **fields})
    return client.post(
        url, data=body, content_type=f"multipart/form-data; boundary={boundary}", with_csrf=False
    )


def fetch(client, path: str):
    """GET ``path`` and read the whole answer (a file response is closed)."""
    response = client.get(path)
    response.get_data()
    response.close()
    return response
