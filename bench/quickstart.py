"""``make quickstart``: seconds from ``git clone`` to the first page of ``make run``.

Clones this checkout (its committed HEAD) into a temporary folder, runs the README's
``make run`` there on a free 127.0.0.1 port with a fresh instance folder, and times how long
until the home page answers with demo data. ``make run`` installs only the runtime
dependencies; the test extras are the test target's. The figure is a benchmark, not a test:
it depends on the machine and on pip's cache (``QUICKSTART_PIP_CACHE=0`` downloads every
package, as a fresh machine does).

Writes bench/results/quickstart.json and prints the figure; exits 1 when the first page takes
longer than QUICKSTART_TARGET seconds (60).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGET = float(os.environ.get("QUICKSTART_TARGET", "60"))
TIMEOUT = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_page(url: str, process: subprocess.Popen, started: float) -> float:
    """Seconds from ``started`` until ``url`` answers 200 with the home page."""
    while time.monotonic() - started < TIMEOUT:
        if process.poll() is not None:
            raise RuntimeError(f"make run exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if "Join the club" in response.read().decode():
                    return time.monotonic() - started
        except OSError:
            time.sleep(0.25)  # still installing or starting: poll, bounded by TIMEOUT
    raise RuntimeError(f"no first page within {TIMEOUT} s")


def main() -> int:
    port = free_port()
    cache = os.environ.get("QUICKSTART_PIP_CACHE", "1") != "0"
    with tempfile.TemporaryDirectory(prefix="carclub-quickstart-") as tmp:
        clone = Path(tmp) / "carclub"
        env = {**os.environ, "CARCLUB_INSTANCE_PATH": str(Path(tmp) / "instance")}
        for name in ("DATABASE_URL", "VIRTUAL_ENV"):
            env.pop(name, None)
        if not cache:
            env["PIP_NO_CACHE_DIR"] = "1"
        started = time.monotonic()
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=clone,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            seconds = first_page(f"http://127.0.0.1:{port}/", process, started)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds_to_first_page": round(seconds, 1),
        "pip_cache": cache,
        "target_seconds": TARGET,
        "load_average": os.getloadavg(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "quickstart.json").write_text(json.dumps(result, indent=2) + "\n")
    cached = "on" if cache else "off"
    print(f"git clone → first page of make run: {seconds:.1f} s (pip cache {cached})")
    return 0 if seconds <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
