"""The README's `make run` serves the home page with demo data on a fresh instance folder."""

import os
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run exited with {process.returncode}: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.5)  # the server is still starting: poll, bounded by the deadline
    pytest.fail("make run did not serve the home page in time")


def test_make_run_serves_the_portal_with_demo_data(tmp_path):
    port = free_port()
    env = {**os.environ, "CARCLUB_INSTANCE_PATH": str(tmp_path / "instance"), "PORT": str(port)}
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        home = wait_for(f"http://127.0.0.1:{port}/", process)
        assert "Join the club" in home
        assert (tmp_path / "instance" / "carclub.sqlite").exists()
        # The demo owner from the README can open the login page and log in.
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login_page = opener.open(f"http://127.0.0.1:{port}/login").read().decode()
        token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        data = urllib.parse.urlencode(
            {"csrf_token": token, "mobile": "13900000001", "password": "carclub-demo"}
        ).encode()
        card = opener.open(f"http://127.0.0.1:{port}/login", data=data).read().decode()
        assert "Show my member card" in card
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        process.stdout.close()
