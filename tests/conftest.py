"""Fixtures: an app on a copy of a migrated SQLite database, clients, PostgreSQL databases."""

import os
import secrets
import shutil
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from werkzeug.routing.rules import Rule

from app import create_app
from app.core.clock import FrozenClock
from app.extensions import db
from config import TestingConfig

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS = str(ROOT / "migrations")
ON_CI = os.environ.get("CI", "").lower() == "true"
TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
PASSWORD = "secret-pass-1"
# The authenticator secret of the dealer admins and HQ admins the factories make.
TOTP_SECRET = "TESTTOTPSECRETFORCARCLUBSTAFF234"


# Every test makes its own app, and Werkzeug compiles two URL builders per route for each one
# (AST → bytecode): 50 of an app's 70 ms, a third of the suite's time. A builder depends only
# on its rule (path, converters, defaults), so the suite compiles each once and binds it to
# every app's rule as Werkzeug would.
_compile_builder = Rule._compile_builder
_builders: dict = {}


def _cached_builder(rule: Rule, append_unknown: bool = True):
    key = (rule.rule, tuple(rule._trace), repr(sorted((rule.defaults or {}).items())))
    key += (append_unknown,)
    if key not in _builders:
        _builders[key] = _compile_builder(rule, append_unknown)
    return _builders[key]


Rule._compile_builder = _cached_builder


class _SharedTemplates(BytecodeCache):
    """Compiled templates kept for every app of the test process: a template is compiled once,
    not once per test (Jinja checks each template's source against the checksum it was compiled
    from, so an edited template is compiled again)."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _SharedTemplates()


class CSRFClient(FlaskClient):
    """A test client that sends a valid CSRF token with every form, as a browser would."""

    def csrf_token(self) -> str:
        """A token valid for this client's session."""
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", secrets.token_hex(20))
        key = self.application.config.get("WTF_CSRF_SECRET_KEY") or self.application.secret_key
        return URLSafeTimedSerializer(key, salt="wtf-csrf-token").dumps(raw)

    def open(self, *args, **kwargs):
        method = kwargs.get("method", "GET").upper()
        data = kwargs.get("data")
        if kwargs.pop("with_csrf", True) and method not in ("GET", "HEAD", "OPTIONS"):
            if data is None:
                data = {}
            if isinstance(data, dict) and "csrf_token" not in data:
                kwargs["data"] = {**data, "csrf_token": self.csrf_token()}
        return super().open(*args, **kwargs)


# Many tests log in, then move the clock days or months ahead (an event's day, points
# expiring): their sessions outlive such travel. tests/auth/test_sessions.py puts the real
# idle and absolute limits back (the ``real_session_limits`` fixture) to test them.
LONG_SESSIONS = {
    "SESSION_IDLE_MINUTES": 10 * 366 * 24 * 60,
    "SESSION_ABSOLUTE_HOURS": 10 * 366 * 24,
    "REMEMBER_COOKIE_DURATION_DAYS": 10 * 366,
    "REMEMBER_ABSOLUTE_DAYS": 10 * 366,
}


def make_app(database_url: str, **overrides):
    """An app for tests on ``database_url`` with a frozen clock."""
    overrides = {**LONG_SESSIONS, **overrides}
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, **overrides)
    app.test_client_class = CSRFClient
    app.jinja_env.bytecode_cache = _TEMPLATES
    app.extensions["clock"] = FrozenClock(NOW)
    return app


def migrate_to_head(app) -> None:
    """Run every migration on the app's database."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()  # the last connection closing moves SQLite's WAL into the file


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "carclub.sqlite"
    migrate_to_head(make_app(f"sqlite:///{path}"))
    return path


@pytest.fixture
def app(template_db, tmp_path):
    """The app on a fresh copy of the migrated database. No context is pushed."""
    path = tmp_path / "carclub.sqlite"
    shutil.copy(template_db, path)
    app = make_app(f"sqlite:///{path}", UPLOAD_FOLDER=str(tmp_path / "uploads"))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def real_session_limits(app):
    """Put the configured session timeouts back (make_app lengthens them for time travel)."""
    from config import Config

    app.config.update({name: getattr(Config, name) for name in LONG_SESSIONS})
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(days=Config.REMEMBER_COOKIE_DURATION_DAYS)
    return app


@pytest.fixture
def clock(app) -> FrozenClock:
    """The app's frozen clock; move it with ``clock.advance(minutes=5)``."""
    return app.extensions["clock"]


@pytest.fixture
def ctx(app):
    """An app context for service tests; yields the session."""
    with app.app_context(), app.test_request_context():
        yield db.session


@pytest.fixture
def seeded(app):
    """A context manager that runs its block in an app context and commits it."""

    @contextmanager
    def run():
        with app.app_context(), app.test_request_context():
            yield db.session
            db.session.commit()

    return run


@pytest.fixture
def client(app) -> CSRFClient:
    """A browser-like client (sends CSRF tokens)."""
    return app.test_client()


def login(client, mobile: str, password: str = PASSWORD, **extra):
    """Log ``client`` in through the login form, and the code form when the account has one."""
    response = client.post("/login", data={"mobile": mobile, "password": password, **extra})
    assert response.status_code == 302, response.get_data(as_text=True)
    if response.headers["Location"] == "/login/second-factor":
        response = enter_second_factor(client, mobile)
    return response


def enter_second_factor(client, mobile: str):
    """Enter the authenticator code of a dealer admin or HQ admin waiting at the second step of
    their login, as their app would show it at the app clock's time."""
    from sqlalchemy import select, update

    from app.auth.models import User
    from app.auth.second_factor import code_at
    from app.core.clock import utcnow
    from app.core.identifiers import normalize_mobile

    with client.application.app_context():
        user = db.session.scalar(select(User).where(User.mobile == normalize_mobile(mobile)))
        secret = user.totp_secret or TOTP_SECRET
        # The clock is frozen, so every login of one admin falls in one time step, which the
        # replay guard refuses (tests/auth/test_second_factor.py); forget the last step used.
        db.session.execute(
            update(User).where(User.id == user.id).values(totp_secret=secret, totp_last_step=0)
        )
        db.session.commit()
        code = code_at(secret, utcnow())
    response = client.post("/login/second-factor", data={"code": code})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


@pytest.fixture
def dealers(seeded):
    """Dealers SZ01 and GZ01 (ids)."""
    from tests.factories import make_dealer

    with seeded():
        sz, gz = make_dealer("SZ01"), make_dealer("GZ01")
        ids = {"SZ01": sz.id, "GZ01": gz.id}
    return ids


@pytest.fixture
def member(seeded, dealers):
    """An owner of SZ01 with one car: a dict of ids and the mobile."""
    from tests.factories import make_member, make_vehicle

    with seeded():
        m = make_member(dealers["SZ01"], name="Zhang Wei")
        vehicle = make_vehicle(m)
        info = {"id": m.id, "mobile": m.user.mobile, "vehicle_id": vehicle.id, "user_id": m.user_id}
    return info


@pytest.fixture
def member_client(app, member) -> CSRFClient:
    """A client logged in as ``member``."""
    client = app.test_client()
    login(client, member["mobile"])
    return client


@pytest.fixture
def staff_factory(app, seeded, dealers):
    """Make a staff user and return a client logged in as them."""
    from tests.factories import make_staff

    def make(role: str = "sales_consultant", dealer: str | None = "SZ01") -> CSRFClient:
        with seeded():
            user = make_staff(role, dealers[dealer] if dealer else None)
            mobile = user.mobile
        client = app.test_client()
        login(client, mobile)
        return client

    return make


@pytest.fixture
def staff_client(staff_factory) -> CSRFClient:
    """A sales consultant of SZ01, logged in."""
    return staff_factory("sales_consultant", "SZ01")


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_or_skip() -> str:
    url = make_url(TEST_DATABASE_URL).set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        if ON_CI:
            pytest.fail(f"PostgreSQL at {TEST_DATABASE_URL} is required on CI: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {TEST_DATABASE_URL}: {exc}")
    return url.render_as_string(hide_password=False)


@contextmanager
def _pg_database(template: str | None = None):
    """A new PostgreSQL database (a copy of ``template`` when given), dropped afterwards."""
    base = make_url(_postgres_or_skip())
    name = f"carclub_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url():
    """A new, empty PostgreSQL database for this test, dropped afterwards."""
    with _pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def pg_template():
    """A PostgreSQL database migrated to head once per test process: each ``pg_app`` is a copy
    (CREATE DATABASE … TEMPLATE, a file copy, instead of 26 migrations per test)."""
    with _pg_database() as url:
        migrate_to_head(make_app(url))
        yield make_url(url).database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_app(request):
    """The app on a migrated, empty database: SQLite, then PostgreSQL from TEST_DATABASE_URL."""
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


@pytest.fixture
def pg_app(pg_template):
    """The app on a migrated, empty PostgreSQL database."""
    with _pg_database(template=pg_template) as url:
        app = make_app(url)
        yield app
        with app.app_context():
            db.engine.dispose()


def pytest_terminal_summary(terminalreporter):
    """Say how many PostgreSQL and browser tests ran, so a log shows they were not skipped."""
    counts = {"postgres": [0, 0], "browser": [0, 0]}
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        if report.when != "call":
            continue
        for marker in counts:
            if marker in report.keywords:
                counts[marker][report.passed is False] += 1
    skipped = [
        r
        for r in terminalreporter.stats.get("skipped", [])
        if {"postgres", "browser"} & set(r.keywords)
    ]
    terminalreporter.write_line(
        "PostgreSQL tests run: {} passed, {} failed; browser tests run: {} passed, {} failed; "
        "{} of them skipped".format(*counts["postgres"], *counts["browser"], len(skipped))
    )


@contextmanager
def count_queries(app):
    """The SQL statements the app's engine runs inside the block (a list, filled as they run)."""
    with app.app_context():
        engine = db.engine
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)
