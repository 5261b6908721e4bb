"""Configuration classes. Every value comes from the environment; nothing secret is committed."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("CARCLUB_INSTANCE_PATH", BASE_DIR / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # Heroku-style URLs name the old driver; psycopg 3 is the one installed.
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    """Development defaults: SQLite under instance/, generated demo signing keys."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    # Keys the digests of staff members' ID numbers in the staff register (R6.6) and of the
    # ID number shown at a referral's licence check; unset, SECRET_KEY does. Never rotated: a
    # digest cannot be recomputed without the number, so a new key would match nobody.
    IDENTITY_DIGEST_KEY = os.environ.get("IDENTITY_DIGEST_KEY")
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE_DIR / 'carclub.sqlite'}")
    # hide_parameters: a database error's message (logged with the traceback) would quote the
    # statement's values, mobile numbers and token hashes among them. No pre-ping (a round trip
    # before every request's first statement): a connection is replaced once half an hour old
    # (proxies and firewalls may cut long-lived ones), and one the database dropped anyway (a
    # restart) fails its request once, after which SQLAlchemy replaces every pooled
    # connection (SQLAlchemy's "Dealing with Disconnects", the optimistic way).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 1800, "hide_parameters": True}
    # The largest request body (bytes), 413 beyond: a full offline check-in upload (500 scans)
    # is about 350 KB.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(1024 * 1024)))
    MAX_FORM_MEMORY_SIZE = MAX_CONTENT_LENGTH
    # Ed25519 keys for QR tokens: "kid:base64url(32-byte private key)"; older public keys
    # that still verify: "kid:base64url(public key),kid:...".
    TOKEN_SIGNING_KEY = os.environ.get("TOKEN_SIGNING_KEY")
    TOKEN_VERIFY_KEYS = os.environ.get("TOKEN_VERIFY_KEYS", "")
    TOKEN_KEYS_FILE = INSTANCE_DIR / "token_keys.json"
    GENERATE_TOKEN_KEYS = True
    CARD_TOKEN_TTL_SECONDS = int(os.environ.get("CARD_TOKEN_TTL_SECONDS", "300"))
    CARD_TOKEN_REFRESH_SECONDS = int(os.environ.get("CARD_TOKEN_REFRESH_SECONDS", "60"))
    # The card page shows the same token (and its QR drawing) for this long, per process.
    CARD_TOKEN_REUSE_SECONDS = int(os.environ.get("CARD_TOKEN_REUSE_SECONDS", "30"))
    # The card without signal (app/cards/devices.py): how long a phone's key is certified after
    # its last visit with signal, how many phones a card may have, how often the page draws a
    # new code, and how far a code's time may be from the checking phone's clock.
    CARD_DEVICE_DAYS = int(os.environ.get("CARD_DEVICE_DAYS", "7"))
    CARD_DEVICES_PER_CARD = int(os.environ.get("CARD_DEVICES_PER_CARD", "3"))
    CARD_CODE_SECONDS = int(os.environ.get("CARD_CODE_SECONDS", "20"))
    CARD_CODE_WINDOW_SECONDS = int(os.environ.get("CARD_CODE_WINDOW_SECONDS", "45"))

    # Pictures staff upload (event, reward and perk covers; app/core/images.py): the largest
    # file and the most pixels accepted, and the request size of the forms that carry one.
    COVER_MAX_BYTES = int(os.environ.get("COVER_MAX_BYTES", str(8 * 1024 * 1024)))
    COVER_MAX_PIXELS = int(os.environ.get("COVER_MAX_PIXELS", "40000000"))
    UPLOAD_REQUEST_MAX_BYTES = int(
        os.environ.get("UPLOAD_REQUEST_MAX_BYTES", str(4 * COVER_MAX_BYTES))
    )
    # Where pictures are kept: "local" (UPLOAD_FOLDER, served at /media/) or
    # "package.module:ClassName" (e.g. an object store several hosts share).
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))
    # Earning-rule changes are announced this many days before they take effect.
    RULES_NOTICE_DAYS = int(os.environ.get("RULES_NOTICE_DAYS", "30"))
    # The anniversary gift's SMS code works this many days after the anniversary (seed 002).
    BENEFIT_CLAIM_DAYS = int(os.environ.get("BENEFIT_CLAIM_DAYS", "60"))
    # Goodwill points: per staff member per day, and the size that needs a second approval.
    GOODWILL_DAILY_CAP = int(os.environ.get("GOODWILL_DAILY_CAP", "2000"))
    GOODWILL_APPROVAL_THRESHOLD = int(os.environ.get("GOODWILL_APPROVAL_THRESHOLD", "500"))
    # How far back a service visit may be dated (a late DMS push, a forgotten RO).
    VISIT_BACKDATE_DAYS = int(os.environ.get("VISIT_BACKDATE_DAYS", "60"))
    PRIVACY_NOTICE_VERSION = os.environ.get("PRIVACY_NOTICE_VERSION", "2026-11")
    TIMEZONE = os.environ.get("TIMEZONE", "Asia/Shanghai")
    # The map link of an event's place on its ticket ({query}: the place, URL-encoded).
    MAP_SEARCH_URL = os.environ.get("MAP_SEARCH_URL", "https://uri.amap.com/search?keyword={query}")
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    LANGUAGES = ("en", "zh")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
    REMEMBER_COOKIE_DURATION_DAYS = int(os.environ.get("REMEMBER_COOKIE_DURATION_DAYS", "30"))
    # Server-side sessions (R12): a device session ends after this long unused (idle) and this
    # long after sign-in (absolute); with "keep me logged in" the remember-me values apply.
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", "120"))
    SESSION_ABSOLUTE_HOURS = int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12"))
    REMEMBER_ABSOLUTE_DAYS = int(os.environ.get("REMEMBER_ABSOLUTE_DAYS", "90"))
    # `flask housekeeping` (daily): how long an ended device session stays listed, and how long
    # a finished owner action's idempotency key replays its outcome (a form posted later acts
    # afresh).
    ENDED_SESSIONS_KEPT_DAYS = int(os.environ.get("ENDED_SESSIONS_KEPT_DAYS", "30"))
    IDEMPOTENCY_KEY_DAYS = int(os.environ.get("IDEMPOTENCY_KEY_DAYS", "7"))
    # SMS one-time codes (R12): per number per hour (the service), per address (the views).
    SMS_CODES_PER_HOUR = int(os.environ.get("SMS_CODES_PER_HOUR", "5"))
    SMS_SEND_RATE_LIMIT = os.environ.get("SMS_SEND_RATE_LIMIT", "5 per minute;30 per hour")
    CODE_VERIFY_RATE_LIMIT = os.environ.get("CODE_VERIFY_RATE_LIMIT", "10 per minute;50 per hour")
    # Second factor of dealer admins and HQ: the name authenticator apps show.
    TOTP_ISSUER = os.environ.get("TOTP_ISSUER", "Car Club")
    # Development only: /dev/messages shows the last texts and e-mails the log channels took.
    DEV_MESSAGES_PAGE = _bool("DEV_MESSAGES_PAGE", True)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # How many reverse proxies (that end TLS) stand in front of the app: their
    # X-Forwarded-For and X-Forwarded-Proto are trusted. 0 trusts none (no proxy).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    WTF_CSRF_TIME_LIMIT = None
    # argon2id parameters (argon2-cffi defaults are the RFC 9106 low-memory profile).
    ARGON2_TIME_COST = int(os.environ.get("ARGON2_TIME_COST", "3"))
    ARGON2_MEMORY_COST = int(os.environ.get("ARGON2_MEMORY_COST", "65536"))
    MEMBERS_PER_PAGE = 20
    # Paid events (Stripe Checkout, CNY). Without a secret key paid events say that online
    # payment is not configured; DEMO_CHECKOUT (development only) offers a labelled demo page.
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET")
    # Another API address (tests: a fake Stripe server on 127.0.0.1).
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE")
    # Offered where the dealer's Stripe account supports them for CNY.
    STRIPE_PAYMENT_METHODS = os.environ.get("STRIPE_PAYMENT_METHODS", "card,wechat_pay,alipay")
    STRIPE_MAX_NETWORK_RETRIES = int(os.environ.get("STRIPE_MAX_NETWORK_RETRIES", "2"))
    DEMO_CHECKOUT = _bool("DEMO_CHECKOUT", True)
    # How long an unpaid place is held before it goes to the next in line.
    PAYMENT_HOLD_MINUTES = int(os.environ.get("PAYMENT_HOLD_MINUTES", "30"))
    # Care messages (R8). E-mail by SMTP when SMTP_HOST is set (without it, development only,
    # e-mails are kept for /dev/messages and not sent); SMS through the provider SMS_BACKEND
    # names (app/core/channels.py). Production refuses to start without both.
    SMTP_HOST = os.environ.get("SMTP_HOST")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "587"))
    SMTP_USER = os.environ.get("SMTP_USER")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD")
    SMTP_STARTTLS = _bool("SMTP_STARTTLS", True)
    MAIL_FROM = os.environ.get("MAIL_FROM", "Car Club <club@example.com>")
    # "log" (development: nothing is sent, texts are kept for /dev/messages), "aliyun", or
    # "package.module:ClassName".
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "log")
    # SMS_BACKEND=aliyun: Alibaba Cloud SMS (dysmsapi). The sign name and both templates are
    # approved in Aliyun's console: the code template's variable is ${code}, the notice
    # template's one variable ${content} carries the whole text.
    ALIYUN_SMS_ACCESS_KEY_ID = os.environ.get("ALIYUN_SMS_ACCESS_KEY_ID")
    ALIYUN_SMS_ACCESS_KEY_SECRET = os.environ.get("ALIYUN_SMS_ACCESS_KEY_SECRET")
    ALIYUN_SMS_SIGN_NAME = os.environ.get("ALIYUN_SMS_SIGN_NAME")
    ALIYUN_SMS_TEMPLATE_CODE = os.environ.get("ALIYUN_SMS_TEMPLATE_CODE")
    ALIYUN_SMS_TEMPLATE_NOTICE = os.environ.get("ALIYUN_SMS_TEMPLATE_NOTICE")
    # Another address (tests: a fake Aliyun server on 127.0.0.1, with protocol http).
    ALIYUN_SMS_ENDPOINT = os.environ.get("ALIYUN_SMS_ENDPOINT", "dysmsapi.aliyuncs.com")
    ALIYUN_SMS_PROTOCOL = os.environ.get("ALIYUN_SMS_PROTOCOL", "https")
    # Service reminders are not sent between these local hours (start-end, e.g. 21-8).
    QUIET_HOURS = os.environ.get("QUIET_HOURS", "21-8")
    # Insight segments (R10): days since the last visit for loyal (<=) and lost (>).
    SEGMENT_LOYAL_DAYS = int(os.environ.get("SEGMENT_LOYAL_DAYS", "180"))
    SEGMENT_LOST_DAYS = int(os.environ.get("SEGMENT_LOST_DAYS", "360"))
    # Owners book maintenance at least this many hours ahead.
    APPOINTMENT_MIN_HOURS_AHEAD = int(os.environ.get("APPOINTMENT_MIN_HOURS_AHEAD", "3"))
    # An event's tickets check in from this many hours before its start until its end.
    CHECKIN_OPENS_HOURS_BEFORE = float(os.environ.get("CHECKIN_OPENS_HOURS_BEFORE", "2"))
    # The referral's front door (issue 21): how long an owner's invite link works after the
    # page showed it, how often one address may pre-register through invite links, and how long
    # after a fraud outcome the owner may dispute it.
    INVITE_LINK_DAYS = int(os.environ.get("INVITE_LINK_DAYS", "90"))
    INVITE_RATE_LIMIT = os.environ.get("INVITE_RATE_LIMIT", "5 per minute;20 per hour")
    REFERRAL_DISPUTE_DAYS = int(os.environ.get("REFERRAL_DISPUTE_DAYS", "30"))


# Care intervals (app/care/schedule.py DEFAULTS) from the environment: CARE_MAINTENANCE_KM=7500.
for _name, _value in os.environ.items():
    if _name.startswith("CARE_") and _value.strip().isdigit():
        setattr(Config, _name, int(_value))


class TestingConfig(Config):
    """Tests: a database from TEST_DATABASE_URL or a temporary SQLite file, cheap hashing."""

    TESTING = True
    SECRET_KEY = "testing-secret"  # noqa: S105 - test-only value  # nosec B105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    GENERATE_TOKEN_KEYS = False
    RATELIMIT_STORAGE_URI = "memory://"
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    SERVER_NAME = None
    STRIPE_SECRET_KEY = None
    STRIPE_WEBHOOK_SECRET = None
    STRIPE_API_BASE = None
    DEMO_CHECKOUT = False
    SMTP_HOST = None
    SMS_BACKEND = "log"
    DEV_MESSAGES_PAGE = False
    SMS_CODES_PER_HOUR = 5


ALIYUN_SMS_REQUIRED = (
    "ALIYUN_SMS_ACCESS_KEY_ID",
    "ALIYUN_SMS_ACCESS_KEY_SECRET",
    "ALIYUN_SMS_SIGN_NAME",
    "ALIYUN_SMS_TEMPLATE_CODE",
    "ALIYUN_SMS_TEMPLATE_NOTICE",
)


class ProductionConfig(Config):
    """Production: refuses to start without a secret key, a database URL, signing keys, an
    SMTP server and a real SMS provider."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    GENERATE_TOKEN_KEYS = False
    # Cookies go over HTTPS only (behind a TLS proxy, set TRUSTED_PROXIES), never to scripts,
    # and not with requests other sites start (SameSite=Lax still allows following a link).
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SESSION_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PREFERRED_URL_SCHEME = "https"
    DEMO_CHECKOUT = False
    DEV_MESSAGES_PAGE = False

    @classmethod
    def check(cls) -> None:
        """Raise if a setting production cannot run without is missing."""
        missing = [
            name
            for name in ("SECRET_KEY", "TOKEN_SIGNING_KEY", "DATABASE_URL")
            if not os.environ.get(name)
        ]
        # The log channels send nothing: codes and invitations would never reach owners.
        if not os.environ.get("SMTP_HOST"):
            missing.append("SMTP_HOST (the log mailer is for development only)")
        sms = (os.environ.get("SMS_BACKEND") or "log").strip()
        if sms == "log":
            missing.append("SMS_BACKEND (a provider such as aliyun; 'log' is for development only)")
        elif sms == "aliyun":
            missing += [name for name in ALIYUN_SMS_REQUIRED if not os.environ.get(name)]
        if missing:
            raise RuntimeError("Missing required environment variables: " + ", ".join(missing))


CONFIGS = {"development": Config, "testing": TestingConfig, "production": ProductionConfig}


def config_from_env() -> type[Config]:
    """Pick the configuration class named by CARCLUB_ENV (development by default)."""
    return CONFIGS[os.environ.get("CARCLUB_ENV", "development")]
