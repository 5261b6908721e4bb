"""Security headers on pages and API answers, HSTS over HTTPS only (also behind a trusted
proxy), and production's cookie flags."""

import re
import shutil
from pathlib import Path

import pytest
from flask import request

from app import create_app
from app.core.tokens import generate_key_spec
from app.extensions import db
from app.members.models import Member
from config import ProductionConfig
from tests.conftest import PASSWORD, CSRFClient, login, make_app
from tests.factories import make_dealer, make_member

HSTS = "max-age=31536000; includeSubDomains"
TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"


def assert_hardened(response) -> None:
    """The headers every answer carries, whatever its type."""
    headers = response.headers
    csp = dict(
        [*part.split(" ", 1), ""][:2]
        for part in (p.strip() for p in headers["Content-Security-Policy"].split(";"))
    )
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in headers["Content-Security-Policy"]
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["base-uri"] == "'self'"
    assert csp["form-action"].startswith("'self'")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = permissions(response)
    # Only the staff scanning pages may use the camera; nothing the microphone or location.
    assert policy["camera"] == "()"
    assert policy["microphone"] == "()"
    assert policy["geolocation"] == "()"


def permissions(response) -> dict:
    header = response.headers["Permissions-Policy"]
    return dict(p.strip().split("=", 1) for p in header.split(","))


# Where staff scan codes with the phone's camera (issue 18).
CAMERA_PAGES = {"events.checkin_page", "admin.scan", "rewards.admin_redeem", "partners.check"}


def test_only_the_scanning_pages_allow_the_camera(app):
    marked = {name for name, view in app.view_functions.items() if getattr(view, "uses_camera", 0)}
    assert marked == CAMERA_PAGES


@pytest.mark.parametrize("role", ["sales_consultant", "partner"])
def test_a_scanning_page_allows_the_camera_for_this_site_only(app, seeded, dealers, role):
    from tests.factories import make_staff
    from tests.partners.helpers import make_partner, make_partner_user

    with seeded():
        if role == "partner":
            mobile, path = make_partner_user(make_partner()).mobile, "/partner"
        else:
            mobile, path = make_staff(role, dealers["SZ01"]).mobile, "/admin/scan"
    client = app.test_client()
    login(client, mobile)
    response = client.get(path)
    assert response.status_code == 200
    policy = permissions(response)
    assert policy["camera"] == "(self)"
    assert policy["microphone"] == "()"
    # The rest of the site, the same person: no camera.
    other = client.get("/partner/settlement" if role == "partner" else "/admin/")
    assert other.status_code == 200
    assert permissions(other)["camera"] == "()"


def test_an_html_page_has_the_security_headers_and_no_hsts_over_http(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert_hardened(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/v1/openapi.json", 200), ("/api/v1/referrals", 401), ("/api/v1/nothing", 404)],
)
def test_api_answers_have_the_security_headers(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert response.is_json
    assert_hardened(response)


def test_stripe_checkout_is_the_only_other_place_a_form_may_post_to(client):
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert "form-action 'self' https://checkout.stripe.com;" in csp


@pytest.mark.parametrize("path", ["/login", "/api/v1/openapi.json", "/static/css/app.css"])
def test_hsts_is_sent_over_https(client, path):
    response = client.get(path, base_url="https://club.example.com")
    response.close()
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == HSTS


def _ip_echo(app) -> None:
    """A test-only page that tells what the app sees of the request."""

    @app.get("/_seen")
    def seen():
        return {"scheme": request.scheme, "remote_addr": request.remote_addr}


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(app):
    _ip_echo(app)
    response = app.test_client().get("/_seen", headers=FORWARDED)
    assert response.get_json() == {"scheme": "http", "remote_addr": "127.0.0.1"}
    assert "Strict-Transport-Security" not in response.headers


def test_behind_a_trusted_proxy_https_and_the_client_address_are_seen(template_db, tmp_path):
    path = tmp_path / "carclub.sqlite"
    shutil.copy(template_db, path)
    app = make_app(f"sqlite:///{path}", TRUSTED_PROXIES=1)
    _ip_echo(app)
    client = app.test_client()

    response = client.get("/_seen", headers=FORWARDED)
    assert response.get_json() == {"scheme": "https", "remote_addr": "203.0.113.7"}
    assert response.headers["Strict-Transport-Security"] == HSTS
    assert "Strict-Transport-Security" in client.get("/login", headers=FORWARDED).headers
    # The proxy said the request came over plain HTTP: no HSTS.
    plain = client.get("/login", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers
    # A client's own X-Forwarded-For before the proxy's is not believed.
    spoofed = client.get("/_seen", headers={"X-Forwarded-For": "10.0.0.1, 203.0.113.7"})
    assert spoofed.get_json()["remote_addr"] == "203.0.113.7"
    with app.app_context():
        db.engine.dispose()


# ------------------------------------------------------------------------------ production


@pytest.fixture
def production_app(template_db, tmp_path, monkeypatch):
    """The app under ProductionConfig with the environment it requires, on a migrated copy."""
    path = tmp_path / "carclub.sqlite"
    shutil.copy(template_db, path)
    url = f"sqlite:///{path}"
    signing_key = generate_key_spec()
    for name, value in {
        "SECRET_KEY": "production-test-secret",
        "TOKEN_SIGNING_KEY": signing_key,
        "DATABASE_URL": url,
        "SMTP_HOST": "127.0.0.1",
        "SMS_BACKEND": "tests.care.conftest:RecordingSms",
    }.items():
        monkeypatch.setenv(name, value)
    # The class read the environment when config.py was imported: give it the same values.
    app = create_app(
        ProductionConfig,
        SECRET_KEY="production-test-secret",
        TOKEN_SIGNING_KEY=signing_key,
        SQLALCHEMY_DATABASE_URI=url,
        RATELIMIT_STORAGE_URI="memory://",
        SMTP_HOST="127.0.0.1",
        SMS_BACKEND="tests.care.conftest:RecordingSms",
    )
    app.test_client_class = CSRFClient
    yield app
    with app.app_context():
        db.engine.dispose()


def _cookie_flags(response, name: str) -> set[str]:
    """The attributes of the ``name`` cookie set by ``response``: {"secure", "samesite=Lax"...}."""
    (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    flags = set()
    for part in header.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        flags.add(f"samesite={value}" if key.lower() == "samesite" else key.lower())
    return flags


def test_production_cookies_are_secure_http_only_and_same_site_lax(production_app):
    with production_app.app_context(), production_app.test_request_context():
        mobile = make_member(make_dealer("SZ01").id).user.mobile
        db.session.commit()
    client = production_app.test_client()
    https = "https://club.example.com"
    # The session cookie only travels over HTTPS: take the form's token from an HTTPS page.
    page = client.get("/login", base_url=https).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login",
        data={"mobile": mobile, "password": PASSWORD, "remember": "y", "csrf_token": token},
        base_url=https,
        # Flask-WTF checks the Referer over HTTPS; Referrer-Policy same-origin lets it through.
        headers={"Referer": f"{https}/login"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Strict-Transport-Security"] == HSTS
    for name in ("session", "remember_token"):
        flags = _cookie_flags(response, name)
        assert {"secure", "httponly", "samesite=Lax"} <= flags, (name, flags)
    assert production_app.config["PREFERRED_URL_SCHEME"] == "https"


def test_development_cookies_work_over_plain_http(client):
    # The demo runs on http://127.0.0.1: its cookies cannot require HTTPS.
    flags = _cookie_flags(client.get("/login"), "session")
    assert "secure" not in flags
    assert {"httponly", "samesite=Lax"} <= flags


# ------------------------------------------------------------------------------- templates

INLINE = {
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "inline script": re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


@pytest.mark.parametrize("kind", INLINE)
def test_no_template_needs_unsafe_inline(kind):
    # The policy has no 'unsafe-inline': a browser would ignore any of these.
    found = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if INLINE[kind].search(line)
    ]
    assert found == [], f"{kind} in {found}"


# ------------------------------------------------------------------- input that names nothing


def test_odd_input_is_refused_before_the_database(db_app):
    """Ids past any row and NUL characters answer 404/400, not a database error's 500."""
    app = db_app
    from tests.conftest import login
    from tests.factories import make_staff

    with app.app_context(), app.test_request_context():
        sz = make_dealer("SZ01")
        owner = make_member(sz.id, name="Zhang Wei")
        owner_id, owner_mobile = owner.id, owner.user.mobile
        staff_mobile = make_staff("dealer_admin", sz.id).mobile
        db.session.commit()
    member, staff = app.test_client(), app.test_client()
    login(member, owner_mobile)
    login(staff, staff_mobile)

    for huge in (2**31, 2**63):
        assert member.get(f"/me/vehicles/{huge}/edit").status_code == 404
        assert staff.get(f"/admin/members/{huge}").status_code == 404
    assert staff.get("/admin/members", query_string={"q": "Zhang\x00"}).status_code == 400
    refused = member.post("/me/profile", data={"name": "Zhang\x00Wei"})
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.get(Member, owner_id).name == "Zhang Wei"


def test_the_language_cookie_is_secure_in_production_too(production_app):
    client = production_app.test_client()
    response = client.get("/lang/zh", base_url="https://club.example.com")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=zh;")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
