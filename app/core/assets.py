"""Static files: versioned URLs cached for a year, text compressed, SQLite tuned for a server.

``url_for('static', filename=...)`` adds ``?v=<hash of the file>``; such a request is answered
with ``Cache-Control: public, max-age=31536000, immutable``, so phones fetch a stylesheet or
script once per release. CSS, JS, SVG and JSON are sent gzip-compressed to browsers that accept
it (compressed once per file and version, then kept in memory). Behind a proxy that compresses
itself, set STATIC_GZIP=0.
"""

import gzip
import hashlib
import json
from functools import cache, lru_cache
from pathlib import Path

from flask import Flask, current_app, request, url_for
from sqlalchemy import event
from sqlalchemy.engine import Engine

YEAR = 365 * 24 * 3600
COMPRESSIBLE = {
    "text/css",
    "text/javascript",
    "application/javascript",
    "image/svg+xml",
    "application/json",
    "application/manifest+json",
}
MIN_COMPRESS_BYTES = 512
# What both service workers load first (importScripts): keeping, pages, files.
WORKER_COMMON = "js/sw-common.js"


@cache
def _files_version(static_folder: str, names: tuple[str, ...], mtimes: tuple[float, ...]) -> str:
    digest = hashlib.sha256()
    for name in names:
        digest.update((Path(static_folder) / name).read_bytes())
    return digest.hexdigest()[:16]


def service_worker(script: str, assets: tuple[str, ...], **settings):
    """The service worker ``script`` (under static/) preceded by ``const WORKER = {version,
    assets, common, ...settings}``: the files it keeps (under static/), their version (a hash
    of them and of the worker), and the shared code it loads. A new version of any of them
    changes the script, so phones fetch them again."""
    folder = current_app.static_folder
    names = (*assets, WORKER_COMMON, script)
    mtimes = tuple((Path(folder) / name).stat().st_mtime for name in names)
    worker = {
        "version": _files_version(folder, names, mtimes),
        "assets": [url_for("static", filename=name) for name in assets],
        "common": url_for("static", filename=WORKER_COMMON),
        **settings,
    }
    source = (Path(folder) / script).read_text(encoding="utf-8")
    response = current_app.response_class(
        f"const WORKER = {json.dumps(worker)};\n{source}", mimetype="text/javascript"
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


def init_app(app: Flask) -> None:
    @lru_cache(maxsize=512)
    def version(path: Path, mtime_ns: int) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]

    def current_version(filename: str) -> str | None:
        path = Path(app.static_folder) / filename
        try:
            return version(path, path.stat().st_mtime_ns)
        except OSError:
            return None  # a missing file: Flask answers 404 as usual

    # A release restarts the processes: the files' versions are read once per process (a page
    # links about ten), unless templates are reloaded when they change (debug), where a
    # changed file gets its new version at once.
    fixed_version = lru_cache(maxsize=512)(current_version)

    @app.url_defaults
    def add_version(endpoint: str, values: dict) -> None:
        if endpoint != "static" or "v" in values or "filename" not in values:
            return
        reading = current_version if app.jinja_env.auto_reload else fixed_version
        if (found := reading(values["filename"])) is not None:
            values["v"] = found

    default_max_age = app.get_send_file_max_age

    def max_age(filename: str | None) -> int | None:
        if request.endpoint == "static" and request.args.get("v"):
            return YEAR
        return default_max_age(filename)

    app.get_send_file_max_age = max_age

    @app.after_request
    def static_headers(response):
        if request.endpoint != "static" or response.status_code != 200:
            return response
        if request.args.get("v"):
            response.cache_control.immutable = True
        if app.config.get("STATIC_GZIP", True):
            _compress(response)
        return response

    @lru_cache(maxsize=256)
    def compressed(path: Path, etag: str) -> bytes:
        return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)

    def _compress(response) -> None:
        response.vary.add("Accept-Encoding")
        if (
            response.mimetype not in COMPRESSIBLE
            or "gzip" not in request.headers.get("Accept-Encoding", "")
            or request.headers.get("Range")
            or (response.content_length or 0) < MIN_COMPRESS_BYTES
        ):
            return
        etag, _weak = response.get_etag()
        body = compressed(Path(app.static_folder) / request.view_args["filename"], etag or "")
        response.close()  # the file Flask opened is not sent
        response.direct_passthrough = False
        response.set_data(body)
        response.headers["Content-Encoding"] = "gzip"
        # The ETag stays that of the file, so revalidation (If-None-Match) answers 304 whichever
        # encoding the browser kept.


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite as a server database: WAL lets readers work while one process writes, and a
    writer waits up to 5 s for the lock instead of failing at once."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
