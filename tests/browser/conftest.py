"""Browser fixtures: the app served on a real port, and Debian's Chromium driven by Playwright."""

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.core.clock import SystemClock
from app.extensions import db
from tests.browser.texts import SERVED
from tests.conftest import ON_CI, make_app

HERE = Path(__file__).resolve().parent
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 3,
    "locale": "en-US",
}


def pytest_collection_modifyitems(config, items):
    """Every test in this folder drives a browser."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@dataclass(frozen=True)
class LiveServer:
    """The running app: its base URL and the staff account seeded for the tests."""

    url: str
    staff_mobile: str
    staff_name: str
    app: object = None  # the served Flask app, for a test module to seed its own data


def _buffered(app):
    """The app with each response read whole and its iterable closed before it is sent.

    Werkzeug's development server closes the response's iterable only after it has drained the
    socket, and a browser that drops the connection (a page left while its cover loads) makes
    that read raise ``ConnectionResetError`` first: the open picture file is then collected
    later, in whichever test runs, as an unraisable ``ResourceWarning``. Our responses are
    small, so the test server sends them from memory."""

    def serve(environ, start_response):
        result = app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            if hasattr(result, "close"):
                result.close()

    return serve


@pytest.fixture(scope="module")
def live_server(template_db, tmp_path_factory):
    """The app on a copy of the migrated database, with the real clock, served on 127.0.0.1."""
    from tests.factories import make_dealer, make_staff

    path = tmp_path_factory.mktemp("live") / "carclub.sqlite"
    shutil.copy(template_db, path)
    app = make_app(f"sqlite:///{path}", UPLOAD_FOLDER=str(path.parent / "uploads"))
    # The card page must sign tokens that are valid now, for the scan a moment later.
    app.extensions["clock"] = SystemClock()
    with app.app_context(), app.test_request_context():
        sz01 = make_dealer("SZ01")
        make_dealer("GZ01")
        staff = make_staff("sales_consultant", sz01.id)
        staff_mobile, staff_name = staff.mobile, staff.name
        db.session.commit()

    SERVED["app"] = app
    server = make_server("127.0.0.1", 0, _buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(
            f"http://127.0.0.1:{server.server_port}", staff_mobile, staff_name, app=app
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless; skipped (failed on CI) when it is not installed."""
    if not CHROMIUM.exists():
        if ON_CI:
            pytest.fail(f"Chromium is required on CI but {CHROMIUM} is missing")
        pytest.skip("Chromium not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_phone(browser, live_server):
    """Open a fresh phone-sized browser context (own cookies); closed after the test."""
    contexts = []

    def open_phone():
        context = browser.new_context(base_url=live_server.url, **PHONE)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_phone
    for context in contexts:
        context.close()


def launch_with_camera(browser, video: Path):
    """A second Chromium whose fake camera films ``video`` (a Y4M file), camera allowed."""
    return browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``test-artifacts/`` at the repository root, for screenshots."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
