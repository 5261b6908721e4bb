"""`make bench`'s own parts: the /proc CPU reader, the ratios, the report, and the Lua scripts
against a small local server (no figure of speed is asserted)."""

import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import cpu, run


def test_cpu_seconds_of_this_process_grow_with_its_work():
    before = cpu.cpu_seconds(os.getpid())
    sum(i * i for i in range(1_000_000))
    after = cpu.cpu_seconds(os.getpid())
    assert before is not None and after >= before >= 0


def test_tree_holds_a_process_and_its_children_and_a_gone_process_reads_none():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=-1)
    try:
        assert {os.getpid(), child.pid} <= cpu.tree(os.getpid())
        assert child.pid not in cpu.tree(child.pid) - {child.pid}
        assert cpu.cpu_seconds(child.pid) is not None
    finally:
        child.communicate()
    assert cpu.cpu_seconds(child.pid) is None


def test_meter_counts_new_processes_in_full_and_loses_ended_ones():
    before = {"app": {1: 1.0, 2: 5.0}, "postgres": {7: 2.0}}
    after = {"app": {1: 1.5, 3: 0.25}, "postgres": {7: 2.75}}
    assert cpu.Meter.used(before, after) == {"app": 0.75, "postgres": 0.75}
    meter = cpu.Meter(me=lambda: {os.getpid()})
    assert set(meter.read()["me"]) == {os.getpid()}


def wrk_line(**changes) -> dict:
    data = {
        "requests": 1000,
        "answered": 1000,
        "seconds": 10.0,
        "rps": 100.0,
        "p50_ms": 10.0,
        "p99_ms": 30.0,
        "ran_out": False,
        "sent_after_out": 0,
        "resigned": 0,
        "unexpected": {},
        "errors": {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0},
    }
    return {**data, **changes}


LOAD = {"start": 1.0, "end": 1.2, "mean": 1.1, "max": 1.3, "busy": 0.5}


def test_cpu_per_request_and_the_two_ratios():
    out = "Running 10s test\nBENCH " + json.dumps(wrk_line()) + "\n"
    path = run.figures(run.parse_wrk(out), {"app": 1.5, "postgres": 0.5}, LOAD)
    assert path["cpu_ms"] == 2.0 and path["failed"] == 0
    hello = [
        run.figures(wrk_line(requests=n, rps=n / 5), {"app": cpu_s}, LOAD)
        for n, cpu_s in ((10_000, 4.0), (10_000, 6.0))
    ]
    assert [h["cpu_ms"] for h in hello] == [0.4, 0.6]
    compared = run.compare(path, *hello)
    # hello's mean CPU per request ÷ the path's; the path's req/s ÷ hello's mean.
    assert compared["cpu_ratio"] == 0.25
    assert compared["rate_ratio"] == 0.05
    assert compared["hello"]["cpu_ms"] == 0.5
    assert compared["hello"]["before"]["cpu_ms"] == 0.4


def test_unexpected_statuses_count_as_failures_once():
    data = wrk_line(
        unexpected={"302": 7, "409": 2},
        errors={"connect": 0, "read": 1, "write": 0, "status": 2, "timeout": 0},
    )
    figures = run.figures(data, {"app": 1.0}, LOAD)
    assert figures["failed"] == 10
    assert figures["errors"] == {
        "connect": 0,
        "read": 1,
        "write": 0,
        "timeout": 0,
        "statuses": {"302": 7, "409": 2},
    }


def result(card_cpu: tuple[float, float], *, ran_out: bool = False) -> dict:
    def scale(members: int, card_ms: float) -> dict:
        hello = run.figures(wrk_line(rps=5_000.0), {"app": 0.5}, LOAD)
        found = {}
        for route in run.ROUTES:
            ms = card_ms if route.name == "card" else 4.0
            f = run.figures(
                wrk_line(ran_out=ran_out and route.name == "checkin"), {"app": ms}, LOAD
            )
            found[route.name] = run.compare(f, hello, hello)
        return {
            "members": members,
            "seed_seconds": 1.0,
            "supply": {"checkin": 30_000, "vouchers": 30_000},
            "figures": found,
        }

    scales = [scale(1_000, card_cpu[0]), scale(100_000, card_cpu[1])]
    scales[-1]["reports_seconds"] = {
        "/admin/insight": 0.5,
        "/admin/insight/returns": 0.8,
        "`launch_campaign`: 29,860 invitations queued": 2.7,
    }
    scales[-1]["care_daily_seconds"] = 30.0
    found = {
        "machine": {
            "date": "2026-12-07",
            "commit": "abc1234",
            "cpu": "CPU",
            "cores": 2,
            "memory_gib": 4,
            "os": "Linux",
            "python": "3.11",
            "database": "PostgreSQL",
            "wrk": "wrk 4.1.0",
            "load": "wrk -t2 -c32",
        },
        "method": {"owners": 1000, "card_token_reuse_seconds": 0},
        "scales": scales,
    }
    found["scaling"] = run.scaling(scales)
    found["failures"] = run.failures(found)
    return found


def test_report_shows_both_ratios_the_load_and_which_targets_are_met():
    # Card: 2 ms at 1,000 owners (0.5 ÷ 2 = 0.25), 2.5 ms at 100,000 (0.2; 2 ÷ 2.5 = 0.8).
    found = result((2.0, 2.5))
    assert found["scaling"]["card"] == {"cpu": 0.8, "rate": 1.0}
    assert found["failures"] == []
    verdicts = dict(run.verdicts(found))
    assert verdicts["owner's card page @1,000: CPU ratio 0.250 ≥ 0.25"] is True
    assert verdicts["owner's card page @100,000: CPU ratio 0.200 ≥ 0.25"] is False
    assert verdicts["owner's card page: CPU @1,000 ÷ @100,000 0.80 ≥ 0.9"] is False
    assert verdicts["points history page: CPU @1,000 ÷ @100,000 1.00 ≥ 0.9"] is True
    assert verdicts["daily care job @100,000: 30.0 s < 60 s"] is True
    # The slowest page is judged; a timed service call (a launch's 29,860 rows) is not a page.
    assert verdicts["report pages @100,000: slowest 0.800 s (/admin/insight/returns) < 1 s"] is True
    text = run.markdown(found)
    assert (
        "| owner's card page | 100 | 10.00 | 30.00 | 2.000 | 0.500 | 0.250 | ≥ 0.25 met |" in text
    )
    assert "| 5,000 | 0.020 | 1.0 → 1.2 (max 1.3) | 50% |" in text
    assert "| owner's card page | 2.000 | 2.500 | 0.80 | 1.00 |" in text
    assert "Failed runs" not in text


def test_a_post_path_out_of_work_is_a_failure_in_the_report():
    found = result((2.0, 2.0), ran_out=True)
    assert len(found["failures"]) == 2
    assert "checkin @1,000: ran out of bodies" in found["failures"][0]
    text = run.markdown(found)
    assert "| check-in API | 100 (ran out) |" in text
    assert "## Failed runs" in text


class Handler(BaseHTTPRequestHandler):
    """GET: 200, a 302 to /login for the cookie "session=gone", the session set again for
    "session=resign", 400 without the phone's User-Agent; POST: 201."""

    protocol_version = "HTTP/1.1"

    def _answer(self, status: int, cookie: str | None = None) -> None:
        self.send_response(status)
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_GET(self):
        cookie = self.headers.get("Cookie", "")
        if self.headers.get("User-Agent") != run.USER_AGENT:
            self._answer(400)
        elif cookie == "session=gone":
            self._answer(302)
        else:
            self._answer(200, "session=again; Path=/" if cookie == "session=resign" else None)

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(201)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    request_queue_size = 64  # wrk opens its connections at once


@pytest.fixture
def server(monkeypatch):
    if not shutil.which("wrk"):
        pytest.skip("wrk is not installed (apt-get install wrk)")
    monkeypatch.setattr(run, "CONNECTIONS", 4)
    httpd = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_the_lua_scripts_count_unexpected_answers_and_running_out(server, tmp_path):
    meter = cpu.Meter()
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("session=ok\nsession=gone\nsession=resign\nsession=ok2\n")
    env = {"BENCH_COOKIES": str(cookies), "BENCH_SESSION_COOKIE": "session"}
    got = run.run_wrk(server + "/card", meter, seconds=1, env=env)
    assert got["requests"] > 0
    assert got["errors"]["statuses"].keys() == {"302"}
    assert got["failed"] == got["errors"]["statuses"]["302"]
    assert 0 < got["resigned"] < got["requests"]
    assert got["ran_out"] is False

    bodies = tmp_path / "bodies.jsonl"
    bodies.write_text("".join(f'{{"n": {n}}}\n' for n in range(6)))
    env = {"BENCH_BODIES": str(bodies), "BENCH_API_KEY": "key"}
    got = run.run_wrk(
        server + "/api", meter, seconds=1, script="post_lines.lua", expect=201, env=env
    )
    assert got["ran_out"] is True
    assert got["sent_after_out"] >= 1
    assert got["failed"] == 0
