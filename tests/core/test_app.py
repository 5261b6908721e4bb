"""The app as a whole: error pages, CSRF, one commit per request, headers, languages."""

import pytest
from sqlalchemy import func, select

from app import create_app
from app.core.audit import AuditEntry, record_audit
from app.core.tokens import generate_key_spec
from app.extensions import db
from config import ProductionConfig


def test_unknown_address_gets_the_styled_404_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page not found" in page
    assert 'class="topbar"' in page  # the site's own layout, not a bare error


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(client, app, dealers):
    response = client.post(
        "/register",
        data={
            "name": "No Token",
            "mobile": "13712345678",
            "password": "long-enough-1",
            "confirm": "long-enough-1",
            "dealer_id": dealers["SZ01"],
            "privacy": "y",
        },
        with_csrf=False,
    )
    assert response.status_code == 400
    assert "The form expired" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 0
        from app.auth.services import get_user_by_mobile

        assert get_user_by_mobile("13712345678") is None


def test_a_failing_request_saves_nothing(app, client):
    @app.post("/test-fail")
    def fail():
        record_audit(None, "should.not.persist")
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.post("/test-fail")
    assert response.status_code == 500
    assert "Nothing was saved" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


def test_a_successful_request_commits_once(app, client):
    @app.post("/test-ok")
    def ok():
        record_audit(None, "persisted")
        return "ok"

    assert client.post("/test-ok").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(AuditEntry.action)) == "persisted"


def test_pages_carry_security_headers(client):
    response = client.get("/")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_favicon_and_manifest_are_served(client):
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200
        assert icon.mimetype in {"image/vnd.microsoft.icon", "image/x-icon"}
    with client.get("/static/manifest.webmanifest") as manifest:
        assert manifest.status_code == 200
        assert b'"start_url": "/"' in manifest.data


def test_accept_language_picks_chinese(client):
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "加入车友会" in page.get_data(as_text=True)


def test_language_switch_overrides_the_browser_and_returns_to_the_page(client):
    response = client.get("/lang/zh?next=/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    page = client.get("/login", headers={"Accept-Language": "en"})
    assert "登录" in page.get_data(as_text=True)
    client.get("/lang/en")
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_language_switch_never_redirects_off_site(client):
    response = client.get("/lang/zh?next=https://evil.example/")
    assert response.headers["Location"] == "/"


def test_production_refuses_to_start_without_its_secrets(monkeypatch):
    for name in ("SECRET_KEY", "TOKEN_SIGNING_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


PRODUCTION_ENV = {
    "SECRET_KEY": "production-test-secret",
    "TOKEN_SIGNING_KEY": "1:not-read-by-the-check",
    "DATABASE_URL": "sqlite://",
    "SMTP_HOST": "smtp.example.com",
    "SMS_BACKEND": "aliyun",
    "ALIYUN_SMS_ACCESS_KEY_ID": "LTAI-x",
    "ALIYUN_SMS_ACCESS_KEY_SECRET": "secret",
    "ALIYUN_SMS_SIGN_NAME": "车友会",
    "ALIYUN_SMS_TEMPLATE_CODE": "SMS_1",
    "ALIYUN_SMS_TEMPLATE_NOTICE": "SMS_2",
}


@pytest.fixture
def production_env(monkeypatch):
    """Everything production needs in the environment; tests take pieces away."""
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def production_app(production_env, **overrides):
    """The app as production builds it (a real signing key), on an in-memory database."""
    production_env.setenv("TOKEN_SIGNING_KEY", generate_key_spec(1))
    return create_app(
        ProductionConfig,
        TOKEN_SIGNING_KEY=generate_key_spec(1),
        SQLALCHEMY_DATABASE_URI="sqlite://",
        **overrides,
    )


def test_production_starts_with_smtp_and_a_real_sms_provider(production_env):
    from app.core.channels import SmtpMailer, mailer, sms_backend
    from app.core.sms_aliyun import AliyunSmsBackend

    app = production_app(
        production_env,
        SMS_BACKEND="aliyun",
        SMTP_HOST="smtp.example.com",
        **{k: v for k, v in PRODUCTION_ENV.items() if k.startswith("ALIYUN_")},
    )
    with app.app_context():
        assert isinstance(sms_backend(), AliyunSmsBackend)
        assert isinstance(mailer(), SmtpMailer)


@pytest.mark.parametrize("backend", [None, "", "log", " log "])
def test_production_refuses_the_log_sms_backend(production_env, backend):
    if backend is None:
        production_env.delenv("SMS_BACKEND")
    else:
        production_env.setenv("SMS_BACKEND", backend)
    with pytest.raises(RuntimeError, match="Missing required environment variables: SMS_BACKEND"):
        ProductionConfig.check()


def test_production_refuses_the_log_mailer(production_env):
    production_env.delenv("SMTP_HOST")
    with pytest.raises(RuntimeError, match="Missing required environment variables: SMTP_HOST"):
        create_app(ProductionConfig)


def test_production_names_the_missing_aliyun_settings(production_env):
    production_env.delenv("ALIYUN_SMS_ACCESS_KEY_SECRET")
    production_env.setenv("ALIYUN_SMS_TEMPLATE_NOTICE", "")
    with pytest.raises(RuntimeError) as caught:
        ProductionConfig.check()
    assert str(caught.value) == (
        "Missing required environment variables: "
        "ALIYUN_SMS_ACCESS_KEY_SECRET, ALIYUN_SMS_TEMPLATE_NOTICE"
    )


def test_production_accepts_another_provider_class(production_env):
    from app.core.channels import sms_backend
    from tests.care.conftest import RecordingSms

    production_env.setenv("SMS_BACKEND", "tests.care.conftest:RecordingSms")
    app = production_app(production_env, SMS_BACKEND="tests.care.conftest:RecordingSms")
    with app.app_context():
        assert isinstance(sms_backend(), RecordingSms)


def test_a_durable_audit_entry_survives_the_failed_requests_rollback(app, client):
    from flask import abort

    @app.post("/test-refuse")
    def refuse():
        record_audit(None, "not.kept")
        record_audit(None, "card.refused", details={"reason": "forged"}, durable=True)
        abort(409)

    assert client.post("/test-refuse").status_code == 409
    with app.app_context():
        assert db.session.scalars(select(AuditEntry.action)).all() == ["card.refused"]
