"""Serving the portal for measurements (``make bench``, ``make audit``): the production settings
on a fresh instance folder, gunicorn with gunicorn.conf.py on a free 127.0.0.1 port, and a
logged-in session through the real login form."""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# What the owners' phones send (the load test's requests and its signed-in sessions).
PHONE_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flask(env: dict, *args: str) -> str:
    """Run ``flask <args>`` in the checkout with ``env``; returns what it printed."""
    return subprocess.run(
        [str(BIN / "flask"), *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def production_env(instance: Path, database_url: str | None = None) -> dict:
    """ProductionConfig with fresh secrets on ``instance`` (a SQLite file there unless
    ``database_url``); plain http on 127.0.0.1, so no secure cookies."""
    from app.core.tokens import generate_key_spec

    return {
        **os.environ,
        "FLASK_APP": "wsgi",
        "CARCLUB_ENV": "production",
        "CARCLUB_INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url or f"sqlite:///{instance / 'carclub.sqlite'}",
        "SECRET_KEY": secrets.token_hex(32),
        "TOKEN_SIGNING_KEY": os.environ.get("BENCH_TOKEN_SIGNING_KEY") or generate_key_spec(),
        "SESSION_COOKIE_SECURE": "0",
        # Production refuses the log channels. Nothing the benchmark does sends a message; if
        # something did, it would find these closed local ports.
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "9",
        "SMS_BACKEND": "aliyun",
        "ALIYUN_SMS_ACCESS_KEY_ID": "bench",
        "ALIYUN_SMS_ACCESS_KEY_SECRET": "bench",
        "ALIYUN_SMS_SIGN_NAME": "bench",
        "ALIYUN_SMS_TEMPLATE_CODE": "bench",
        "ALIYUN_SMS_TEMPLATE_NOTICE": "bench",
        "ALIYUN_SMS_ENDPOINT": "127.0.0.1:9",
        "ALIYUN_SMS_PROTOCOL": "http",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@dataclass(frozen=True)
class Server:
    """A running gunicorn: its base URL and the master's process id (its workers are its
    children)."""

    base: str
    pid: int


@contextlib.contextmanager
def gunicorn(module: str, env: dict, probe: str = "/login"):
    """Serve ``module`` with gunicorn.conf.py on a free port; yields the base URL."""
    with serve(module, env, probe) as server:
        yield server.base


@contextlib.contextmanager
def serve(module: str, env: dict, probe: str = "/login"):
    """Serve ``module`` with gunicorn.conf.py on a free port; yields the Server."""
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), module],
        cwd=ROOT,
        env={**env, "BIND": f"127.0.0.1:{port}"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(base + probe, timeout=2).read()
                break
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn {module} exited with {proc.returncode}")
            time.sleep(0.1)
        else:
            raise RuntimeError(f"gunicorn {module} did not answer on {base}{probe}")
        yield Server(base, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class Session:
    """A logged-in browser-like session (cookies kept), through the real login form."""

    def __init__(self, base: str, mobile: str, password: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        form = self.get("/login")
        token = re.search(r'<input[^>]*name="csrf_token"[^>]*>', form)
        value = token and re.search(r'value="([^"]+)"', token.group(0))
        if not value:
            raise RuntimeError("no CSRF token on the login form")
        body = urllib.parse.urlencode(
            {"csrf_token": value.group(1), "mobile": mobile, "password": password}
        ).encode()
        with self.opener.open(base + "/login", data=body) as response:
            path = urllib.parse.urlsplit(response.url).path
            page = response.read().decode()
        if path == "/login/second-factor":
            path = self._second_factor(page, value.group(1))
        if path.startswith("/login"):
            raise RuntimeError(f"could not log in as {mobile}")

    def _second_factor(self, page: str, csrf: str) -> str:
        """Dealer admins and HQ: enter the code of the demo authenticator secret (or of the key
        the enrolment page shows), this step's or, if just used, the next one's."""
        import time

        import pyotp

        from demo.seed import DEMO_TOTP_SECRET

        shown = re.search(r'<code class="totp-secret">([A-Z2-7 ]+)</code>', page)
        totp = pyotp.TOTP(shown.group(1).replace(" ", "") if shown else DEMO_TOTP_SECRET)
        step = int(time.time()) // 30
        for code in (totp.generate_otp(step), totp.generate_otp(step + 1)):
            body = urllib.parse.urlencode({"csrf_token": csrf, "code": code}).encode()
            with self.opener.open(self.base + "/login/second-factor", data=body) as response:
                path = urllib.parse.urlsplit(response.url).path
            if path != "/login/second-factor":
                return path
        return path

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path) as response:
            return response.read().decode()

    @property
    def cookie(self) -> str:
        """The Cookie header of this session."""
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)
