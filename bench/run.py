"""``make bench``: what the portal's hot paths cost, in CPU per request, under gunicorn + wrk.

For each scale (1,000 and 100,000 owners by default) it makes a fresh database (PostgreSQL
when DATABASE_URL is set, SQLite otherwise), migrates it, fills it with ``flask bench seed`` and
serves, side by side, the portal (production settings, gunicorn.conf.py) and the ceiling: a bare
"hello" Flask app (bench/hello.py) under the same gunicorn settings. Each path is loaded with
wrk for BENCH_SECONDS, and hello for BENCH_HELLO_SECONDS just before and just after it (the
hello run after one path is the one before the next).

The measure is CPU per request, robust on a shared machine: the user + system time (/proc,
bench/cpu.py) of the server's gunicorn master and workers and, on PostgreSQL, of the database
server's processes that work for the bench database, over the run, divided by the requests
completed (``cpu_ms``). A path's ``cpu_ratio`` is hello's cpu_ms (the mean of its runs just
before and after) ÷ the path's: the share of the ceiling's efficiency it keeps. ``rate_ratio``
is the path's req/s ÷ hello's mean req/s (the old "× ceiling", now from the same minute). The
1-minute load average (start, end, mean, max) and the share of the machine's CPU that was busy
are recorded for each run, so a figure taken while other work ran can be told apart.

Requests are a phone's: the iPhone User-Agent of bench.serve (BENCH_USER_AGENT) on each one.
The card and points pages rotate over BENCH_OWNERS owners signed in by ``flask bench
sessions`` (real device sessions, made with that User-Agent from 127.0.0.1): no per-owner cache
hits because one owner is asked for again and again, and no answer signs the session again
(checked before the run; counted during it). The card page draws a fresh QR for each request, as
an owner's phone gets one once a minute: with N owners at R req/s an owner would come back
every N/R seconds, far more often than a phone, so the portal runs with
CARD_TOKEN_REUSE_SECONDS=0 (BENCH_CARD_TOKEN_REUSE_SECONDS). The POST paths (check-in, voucher
redemption, DMS service visit) send each body of the seed's supply once: at least 30,000
tickets and vouchers at every scale and 200,000 visits; a path that runs out anyway has its
rate computed over the time it ran and is reported as a failure. An answer other than the
path's own status (200; 201 for a check-in and a DMS visit) counts as an error, as do wrk's
socket errors.

It then times the admin reports (issue 20's satisfaction, recall and return rates, complaint
cases and numbers to correct on the care loop's history the seed writes, bench/care_seed.py),
the staff pages of campaigns, ABC grading, HQ operations and a care agent's call list (with a
campaign at scale made by ``flask bench campaign``) and the daily care job, prints the
tables and writes bench/results/latest.json and latest.md (with a description of the machine).
It exits with 1 when a run failed (errors, re-signed sessions, out of work).

Environment: BENCH_SCALES ("1000,100000"), BENCH_SECONDS (10), BENCH_HELLO_SECONDS (5),
BENCH_CONNECTIONS (32), BENCH_THREADS (2), BENCH_OWNERS (1000: the sessions the card and points
pages rotate over), BENCH_USER_AGENT (an iPhone's Safari), BENCH_CARD_TOKEN_REUSE_SECONDS (0),
BENCH_SKIP_REPORTS (1: no reports, staff pages, campaign or care job), BENCH_CARE_LIMIT (600
seconds the care job may take), DATABASE_URL (a PostgreSQL server to make the bench databases
on), BENCH_RESULTS (the folder of latest.json and latest.md, bench/results by default: a
partial run can go elsewhere). A quick run while working on a path:
``BENCH_SCALES=1000 BENCH_SECONDS=5 BENCH_SKIP_REPORTS=1 BENCH_RESULTS=/tmp/bench
.venv/bin/python -m bench.run``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.cpu import Meter, PostgresScope, machine_busy, tree
from bench.serve import BIN, PHONE_USER_AGENT, ROOT, Session, flask, production_env, serve

SCRIPTS = ROOT / "bench" / "scripts"
RESULTS = Path(os.environ.get("BENCH_RESULTS") or ROOT / "bench" / "results")
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
HELLO_SECONDS = int(os.environ.get("BENCH_HELLO_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
SCALES = [int(n) for n in os.environ.get("BENCH_SCALES", "1000,100000").split(",")]
OWNERS = int(os.environ.get("BENCH_OWNERS", "1000"))
USER_AGENT = os.environ.get("BENCH_USER_AGENT") or PHONE_USER_AGENT
CARD_REUSE = os.environ.get("BENCH_CARD_TOKEN_REUSE_SECONDS", "0")
SKIP_REPORTS = os.environ.get("BENCH_SKIP_REPORTS", "") not in ("", "0")
CARE_LIMIT = int(os.environ.get("BENCH_CARE_LIMIT", "600"))  # seconds the care job may take
REPORTS = (
    "/admin/insight",
    "/admin/insight/members",
    "/admin/insight/segments",
    "/admin/insight/lost",
    "/admin/insight/liability",
    "/admin/insight/referrals",
    "/admin/insight/events",
    "/admin/insight/campaigns",
    "/admin/campaigns/segments",
    # Issue 20's, on the care loop's history (bench/care_seed.py), this month's: satisfaction
    # per dealer and advisor, recall, return rates (pages and a CSV table of each, the longest),
    # the complaint cases to handle and the closed ones, the numbers to correct.
    "/admin/insight/satisfaction",
    "/admin/insight/satisfaction.csv?table=advisors",
    "/admin/insight/recall",
    "/admin/insight/recall.csv?table=workshops",
    "/admin/insight/returns",
    "/admin/insight/returns.csv?table=workshops",
    "/admin/care/complaints",
    "/admin/care/complaints?view=closed",
    "/admin/care/corrections",
)
# Targets of issue 19: hello's CPU per request ÷ the path's, at least; every path's CPU per
# request at the smallest scale ÷ at the largest, at least; reports and the care job, at most.
TARGETS = {"card": 0.25, "points": 0.2, "checkin": 0.15}
SCALE_TARGET = 0.9
REPORT_LIMIT, CARE_TARGET = 1.0, 60.0
# Requests sent before a path's run, a few at a time: they warm its workers (imports, templates)
# and prove it answers as it should. A POST path's are the first bodies of its supply.
WARM_UP, WARM_UP_CONCURRENCY = 32, 4


@dataclass(frozen=True)
class Route:
    """A path under load: its status when all is well and, for a POST, its bodies' supply."""

    name: str
    label: str
    path: str
    expect: int
    supply: str | None = None


ROUTES = (
    Route("card", "owner's card page", "/card", 200),
    Route("points", "points history page", "/me/points", 200),
    Route("checkin", "check-in API", "/api/v1/checkin", 201, "checkin"),
    Route("voucher", "voucher redemption API", "/api/v1/vouchers/redeem", 200, "vouchers"),
    Route("visit", "DMS service-visit API", "/api/v1/dms/service-visits", 201, "visits"),
)


# ------------------------------------------------------------------------------- databases


def _pg_admin(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


@contextlib.contextmanager
def database(members: int, workdir: Path):
    """A fresh, empty database for one scale; dropped afterwards (PostgreSQL) or deleted."""
    base = os.environ.get("DATABASE_URL")
    if not base:
        yield f"sqlite:///{workdir / f'bench-{members}.sqlite'}"
        return
    name = f"carclub_bench_{members}"
    with _pg_admin(base) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(base)
    url = urllib.parse.urlunsplit(parts._replace(path="/" + name))
    try:
        yield url
    finally:
        with _pg_admin(base) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------------------------- load


def parse_wrk(out: str) -> dict:
    """The figures the Lua scripts' done() prints on their ``BENCH {json}`` line."""
    line = next((x for x in out.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{out}")
    return json.loads(line[len("BENCH ") :])


def load_average(samples: list[float], busy: float) -> dict:
    """The 1-minute load averages seen during a run, and the share of the machine's CPU
    that was busy (0-1)."""
    return {
        "start": round(samples[0], 2),
        "end": round(samples[-1], 2),
        "mean": round(statistics.fmean(samples), 2),
        "max": round(max(samples), 2),
        "busy": round(busy, 3),
    }


def figures(data: dict, cpu: dict[str, float], load: dict) -> dict:
    """One run's figures from wrk's JSON and the CPU seconds its server used."""
    requests = data["requests"]
    errors = {k: v for k, v in data["errors"].items() if k != "status"}
    failed = sum(errors.values()) + sum(data["unexpected"].values())
    return {
        "rps": data["rps"],
        "p50_ms": round(data["p50_ms"], 2),
        "p99_ms": round(data["p99_ms"], 2),
        "cpu_ms": round(1000 * sum(cpu.values()) / requests, 4) if requests else None,
        "requests": requests,
        "seconds": data["seconds"],
        "cpu_seconds": cpu,
        # Socket errors and the answers by status other than the path's (wrk's own "status"
        # count, of 4xx and 5xx, is among the latter).
        "errors": {**errors, "statuses": data["unexpected"]},
        "failed": failed,
        "resigned": data["resigned"],
        "ran_out": data["ran_out"],
        "sent_after_out": data["sent_after_out"],
        "load": load,
    }


def run_wrk(
    url: str, meter: Meter, *, seconds: int, script: str = "get.lua", expect: int = 200, env=None
) -> dict:
    """Load ``url`` for ``seconds`` with wrk; the figures with the CPU its server used."""
    args = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s"]
    env = {
        **os.environ,
        "BENCH_LUA_DIR": str(SCRIPTS),
        "BENCH_THREADS": str(THREADS),
        "BENCH_USER_AGENT": USER_AGENT,
        "BENCH_EXPECT": str(expect),
        **(env or {}),
    }
    samples = [os.getloadavg()[0]]
    busy_before = machine_busy()
    before = meter.read()
    proc = subprocess.Popen(
        [*args, "-s", str(SCRIPTS / script), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    while True:
        try:
            out, err = proc.communicate(timeout=1)
            break
        except subprocess.TimeoutExpired:
            samples.append(os.getloadavg()[0])
    after = meter.read()
    busy_after = machine_busy()
    samples.append(os.getloadavg()[0])
    if proc.returncode:
        raise RuntimeError(f"wrk {url} exited with {proc.returncode}: {err.strip()}")
    busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    return figures(parse_wrk(out), Meter.used(before, after), load_average(samples, busy))


def hello_summary(run: dict) -> dict:
    return {k: run[k] for k in ("rps", "p50_ms", "p99_ms", "cpu_ms", "requests", "failed", "load")}


def compare(path: dict, before: dict, after: dict) -> dict:
    """The path's figures with hello's runs just before and after it and the two ratios:
    hello's CPU per request ÷ the path's, the path's req/s ÷ hello's."""
    hello_cpu = statistics.fmean([before["cpu_ms"], after["cpu_ms"]])
    hello_rps = statistics.fmean([before["rps"], after["rps"]])
    return {
        **path,
        "cpu_ratio": round(hello_cpu / path["cpu_ms"], 3) if path["cpu_ms"] else None,
        "rate_ratio": round(path["rps"] / hello_rps, 3) if hello_rps else None,
        "hello": {
            "rps": round(hello_rps, 1),
            "cpu_ms": round(hello_cpu, 4),
            "before": hello_summary(before),
            "after": hello_summary(after),
        },
    }


# ------------------------------------------------------------------------ phones and bodies


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect (to /login) is an answer to look at, not to follow


_OPENER = urllib.request.build_opener(_NoRedirect)


def answer(url: str, headers: dict, data: bytes | None = None) -> tuple[int, list[str]]:
    """The status and Set-Cookie headers of one request, redirects not followed."""
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with _OPENER.open(request, timeout=60) as response:
            response.read()
            return response.status, response.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get_all("Set-Cookie") or []


def warm_up(url: str, route: Route, requests: list[tuple[dict, bytes | None]]) -> None:
    """Send ``requests`` (headers, body), several at a time so that every worker gets some
    (its first requests import and compile what the path needs); fail unless each answer is
    the path's status (a 302 to /login: the session does not work) and none signs the
    session cookie again (each request of the run would pay for it)."""

    def send(request: tuple[dict, bytes | None]) -> tuple[int, list[str]]:
        return answer(url, *request)

    with ThreadPoolExecutor(WARM_UP_CONCURRENCY) as pool:
        answers = list(pool.map(send, requests))
    for (status, cookies_set), (headers, body) in zip(answers, requests, strict=True):
        if status != route.expect:
            sent = body.decode() if body else headers.get("Cookie", "")[:40] + "…"
            raise RuntimeError(f"{route.path} answered {status} to {sent}, not {route.expect}")
        session = headers.get("Cookie", "").split("=", 1)[0]
        if session and any(c.startswith(session + "=") for c in cookies_set):
            raise RuntimeError(
                f"{route.path} signs the session of a bench phone again "
                "(its User-Agent or address differ from the login's?)"
            )


def phone(cookie: str) -> dict:
    return {"User-Agent": USER_AGENT, "Cookie": cookie}


def api_client(api_key: str) -> dict:
    return {
        "Authorization": f"Bearer {api_key}",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def supplies(manifest: dict, members: int) -> dict[str, list[str]]:
    """The POST bodies, one JSON a line: the seed's tickets and vouchers, 200,000 visits."""
    vins = manifest["vins"]
    today = dt.date.today().isoformat()
    visits = (
        {
            "ro_number": f"BENCH-{members}-{i}",
            "vin": vins[i % len(vins)],
            "visited_on": today,
            "mileage_km": 10000 + i,
            "amount_yuan": "480.00",
            "category": "maintenance",
        }
        for i in range(200_000)
    )
    vouchers = ({"code": code} for code in manifest["vouchers"])

    def lines(items) -> list[str]:
        return [json.dumps(item, separators=(",", ":")) for item in items]

    return {
        "checkin": lines(manifest["checkin"]["tickets"]),
        "vouchers": lines(vouchers),
        "visits": lines(visits),
    }


# ----------------------------------------------------------------------------- the portal


def timed_get(url: str, cookie: str, runs: int = 3) -> float:
    """The median seconds of ``runs`` sequential GETs (after one warm-up)."""
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    urllib.request.urlopen(request, timeout=120).read()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{url} answered {response.status}")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def staff_pages(base: str, staff: str, campaign: dict) -> dict[str, float]:
    """Seconds of the ABC care page (SZ01's admin), HQ's recruitment and last month's
    settlement, issue 20's reports of last month for HQ (every dealer), a care agent's call
    list, and the campaign at scale (``flask bench campaign``): the live count of a draft
    overlapping it, its target group and launch (timed in the command), its results and
    incentives, and a care agent's call list of it."""
    hq = Session(base, **campaign["hq"]).cookie
    agent = Session(base, **campaign["agent"]).cookie
    cid, month = campaign["campaign_id"], campaign["last_month"]
    count = f"/admin/campaigns/{campaign['draft_id']}/groups/count.json?{campaign['count_query']}"
    pages = (
        ("", "/admin/campaigns/grading", staff),
        (" (HQ)", "/admin/hq/recruitment", hq),
        (" (HQ)", f"/admin/hq/settlement?month={month}", hq),
        (" (HQ)", f"/admin/insight/satisfaction?month={month}", hq),
        (" (HQ)", f"/admin/insight/recall?month={month}", hq),
        (" (HQ)", f"/admin/insight/returns?month={month}", hq),
        (" (care agent)", "/admin/care/tasks", agent),
        ("", count, staff),
    )
    seconds = {path + who: timed_get(base + path, cookie) for who, path, cookie in pages}
    targets, invitations = campaign["targets"], campaign["invitations"]
    seconds[f"`add_group`: a target group of {targets:,} cars"] = campaign["seconds"]["add_group"]
    seconds[f"`launch_campaign`: {invitations:,} invitations queued"] = campaign["seconds"][
        "launch"
    ]
    pages = (
        ("", f"/admin/campaigns/{cid}/results", staff),
        ("", f"/admin/campaigns/{cid}/incentives", staff),
        (" (care agent)", f"/admin/campaigns/calls?campaign={cid}", agent),
    )
    seconds.update({path + who: timed_get(base + path, cookie) for who, path, cookie in pages})
    return seconds


def load_paths(members: int, workdir: Path, env: dict, url: str, manifest: dict) -> dict:
    """Serve hello and the portal side by side and load every path, hello just before and
    after each; returns the paths' figures."""
    sessions = workdir / f"sessions-{members}.txt"
    flask(
        env,
        "bench",
        "sessions",
        "--owners",
        str(OWNERS),
        "--user-agent",
        USER_AGENT,
        "--output",
        str(sessions),
    )
    bodies = supplies(manifest, members)
    postgres = None
    if url.startswith("postgresql"):
        postgres = PostgresScope(os.environ["DATABASE_URL"], urllib.parse.urlsplit(url).path[1:])
    portal_env = {**env, "CARD_TOKEN_REUSE_SECONDS": CARD_REUSE}
    try:
        with (
            serve("bench.hello:app", env, "/hello") as hello,
            serve("wsgi:app", portal_env, "/login") as portal,
        ):
            groups = {"app": lambda: tree(portal.pid)}
            if postgres is not None:
                groups["postgres"] = postgres.backends
                groups["postgres_server"] = postgres.server
            meter, hello_meter = Meter(**groups), Meter(app=lambda: tree(hello.pid))

            def hello_run() -> dict:
                return run_wrk(hello.base + "/hello", hello_meter, seconds=HELLO_SECONDS)

            found, before = {}, hello_run()
            for route in ROUTES:
                target = portal.base + route.path
                script, wrk_env, extra = prepare(route, target, workdir, sessions, bodies, manifest)
                run = run_wrk(
                    target, meter, seconds=SECONDS, script=script, expect=route.expect, env=wrk_env
                )
                after = hello_run()
                found[route.name] = {**compare(run, before, after), **extra}
                print(f"  {route.name}: {summary_line(found[route.name])}", flush=True)
                before = after
            return found
    finally:
        if postgres is not None:
            postgres.close()


def prepare(
    route: Route, target: str, workdir: Path, sessions: Path, bodies: dict, manifest: dict
) -> tuple[str, dict, dict]:
    """Warm the path up (failing unless it answers as it should); wrk's script for it, the
    script's environment and what the run has to work on."""
    if route.supply:
        lines = bodies[route.supply]
        headers = api_client(manifest["api_key"])
        warm_up(target, route, [(headers, line.encode()) for line in lines[:WARM_UP]])
        file = workdir / f"{route.supply}.jsonl"
        file.write_text("".join(line + "\n" for line in lines[WARM_UP:]))
        env = {"BENCH_BODIES": str(file), "BENCH_API_KEY": manifest["api_key"]}
        return "post_lines.lua", env, {"supply": len(lines) - WARM_UP}
    cookies = sessions.read_text().splitlines()
    spread = cookies[:: max(1, len(cookies) // WARM_UP)][:WARM_UP]
    warm_up(target, route, [(phone(cookie), None) for cookie in spread])
    env = {"BENCH_COOKIES": str(sessions), "BENCH_SESSION_COOKIE": cookies[0].split("=", 1)[0]}
    extra = {"owners": len(cookies)}
    if route.name == "card":
        extra["card_token_reuse_seconds"] = int(CARD_REUSE)
    return "get.lua", env, extra


def summary_line(f: dict) -> str:
    return (
        f"{f['rps']:,.0f} req/s, {_num(f['cpu_ms'], '.3f')} ms CPU a request "
        f"(hello {f['hello']['cpu_ms']:.3f}): CPU ratio {_num(f['cpu_ratio'], '.3f')}, "
        f"rate ratio {_num(f['rate_ratio'], '.3f')}"
        + (f", {f['failed']} failed" if f["failed"] else "")
    )


def bench_scale(members: int, workdir: Path, env: dict) -> dict:
    """Seed ``members`` owners, load every path and time the reports; this scale's figures."""
    with database(members, workdir) as url:
        env = {**env, "DATABASE_URL": url}
        flask(env, "db", "upgrade")
        manifest_path = workdir / f"manifest-{members}.json"
        start = time.perf_counter()
        flask(env, "bench", "seed", "--members", str(members), "--manifest", str(manifest_path))
        seeded = time.perf_counter() - start
        manifest = json.loads(manifest_path.read_text())
        result = {
            "members": members,
            "seed_seconds": round(seeded, 1),
            "supply": {
                "checkin": len(manifest["checkin"]["tickets"]),
                "vouchers": len(manifest["vouchers"]),
            },
        }
        if not SKIP_REPORTS:
            campaign_path = workdir / f"campaign-{members}.json"
            flask(env, "bench", "campaign", "--output", str(campaign_path))
            campaign = json.loads(campaign_path.read_text())
        result["figures"] = load_paths(members, workdir, env, url, manifest)
        if SKIP_REPORTS:
            return result
        with serve("wsgi:app", env, "/login") as portal:
            staff = Session(portal.base, **manifest["staff"]).cookie
            reports = {path: timed_get(portal.base + path, staff) for path in REPORTS}
            reports.update(staff_pages(portal.base, staff, campaign))
        start = time.perf_counter()
        try:
            subprocess.run(
                [str(BIN / "flask"), "care", "run-daily"],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=CARE_LIMIT,
            )
            care = time.perf_counter() - start
        except subprocess.TimeoutExpired:
            care = float("inf")  # reported as "more than CARE_LIMIT s"
        result["reports_seconds"] = {k: round(v, 3) for k, v in reports.items()}
        result["care_daily_seconds"] = round(care, 1) if care != float("inf") else None
        return result


# -------------------------------------------------------------------------------- report


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        int(line.split()[1]) // 1024 // 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[
        0
    ]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "database": "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite",
        "wrk": wrk_version.split(" Copyright")[0].strip(),
        "load": (
            f"wrk -t{THREADS} -c{CONNECTIONS}: -d{SECONDS}s a path, "
            f"-d{HELLO_SECONDS}s hello before and after"
        ),
        "commit": commit,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _num(value, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def scaling(scales: list[dict]) -> dict:
    """Each path's CPU per request at the smallest scale ÷ at the largest (1 is no dearer,
    target ≥ SCALE_TARGET) and req/s at the largest ÷ at the smallest."""
    if len(scales) < 2:
        return {}
    first, last = scales[0]["figures"], scales[-1]["figures"]
    found = {}
    for name in first:
        a, b = first[name], last.get(name)
        if b is None:
            continue
        found[name] = {
            "cpu": round(a["cpu_ms"] / b["cpu_ms"], 3) if a["cpu_ms"] and b["cpu_ms"] else None,
            "rate": round(b["rps"] / a["rps"], 3) if a["rps"] else None,
        }
    return found


def verdicts(result: dict) -> list[tuple[str, bool]]:
    """Each target of issue 19 this run can judge, and whether it is met."""
    found = []
    for scale in result["scales"]:
        for name, target in TARGETS.items():
            ratio = scale["figures"].get(name, {}).get("cpu_ratio")
            label = next(r.label for r in ROUTES if r.name == name)
            found.append(
                (
                    f"{label} @{scale['members']:,}: CPU ratio {_num(ratio, '.3f')} ≥ {target}",
                    ratio is not None and ratio >= target,
                )
            )
    scales = result["scales"]
    for name, ratio in result.get("scaling", {}).items():
        label = next(r.label for r in ROUTES if r.name == name)
        found.append(
            (
                f"{label}: CPU @{scales[0]['members']:,} ÷ @{scales[-1]['members']:,} "
                f"{_num(ratio['cpu'], '.2f')} ≥ {SCALE_TARGET}",
                ratio["cpu"] is not None and ratio["cpu"] >= SCALE_TARGET,
            )
        )
    last = scales[-1] if scales else {}
    if "reports_seconds" in last:
        # Pages only: the timed service calls (a target group made, a campaign launched) are
        # writes of tens of thousands of rows, listed beside the pages but not reports.
        pages = {k: v for k, v in last["reports_seconds"].items() if k.startswith("/")}
        slowest = max(pages, key=pages.get)
        found.append(
            (
                f"report pages @{last['members']:,}: slowest {pages[slowest]:.3f} s ({slowest}) "
                f"< {REPORT_LIMIT:.0f} s",
                pages[slowest] < REPORT_LIMIT,
            )
        )
        care = last["care_daily_seconds"]
        found.append(
            (
                f"daily care job @{last['members']:,}: {_num(care, '.1f')} s < {CARE_TARGET:.0f} s",
                care is not None and care < CARE_TARGET,
            )
        )
    return found


def failures(result: dict) -> list[str]:
    """The runs whose figures are not to be trusted: errors or unexpected statuses, sessions
    signed again, a POST path out of work."""
    found = []
    for scale in result["scales"]:
        for name, f in scale["figures"].items():
            where = f"{name} @{scale['members']:,}"
            if f["failed"]:
                found.append(f"{where}: {f['failed']} failed ({json.dumps(f['errors'])})")
            if f["resigned"]:
                found.append(f"{where}: {f['resigned']} answers signed the session again")
            if f["ran_out"]:
                found.append(
                    f"{where}: ran out of bodies ({f.get('supply', '?')}) and sent "
                    f"{f['sent_after_out']} again; req/s is over the time it ran"
                )
            for when in ("before", "after"):
                if f["hello"][when]["failed"]:
                    found.append(f"hello {when} {where}: {f['hello'][when]['failed']} failed")
    return found


def _load(load: dict) -> str:
    return f"{load['start']:.1f} → {load['end']:.1f} (max {load['max']:.1f})"


def markdown(result: dict) -> str:
    m, method = result["machine"], result["method"]
    scales = result["scales"]
    lines = [
        "# Bench results",
        "",
        f"{m['date']}, commit {m['commit']}: {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_gib']} GiB, {m['os']}, Python {m['python']}, {m['database']}, "
        f"{m['wrk']} ({m['load']}), gunicorn.conf.py.",
        "",
        "CPU per request: user + system time of the gunicorn master and workers"
        + (
            " and of PostgreSQL's processes for the bench database"
            if m["database"] == "PostgreSQL"
            else ""
        )
        + " over the run ÷ requests completed. CPU ratio: hello's CPU per request (its runs "
        "just before and after) ÷ the path's; rate ratio: the path's req/s ÷ hello's. "
        f"Phone User-Agent on every request; the card and points pages rotate over "
        f"{method['owners']:,} owners' sessions; the card page signs a fresh token each request, "
        "which the phone draws as its QR "
        f"(CARD_TOKEN_REUSE_SECONDS={method['card_token_reuse_seconds']}). Load: the 1-minute "
        "load average at the start and end of the run (its highest), busy: the machine's CPU "
        "in use during it.",
    ]
    for scale in scales:
        lines += [
            "",
            f"## {scale['members']:,} owners",
            "",
            "| path | req/s | p50 ms | p99 ms | CPU ms | hello CPU ms | CPU ratio | target | "
            "hello req/s | rate ratio | load | busy |",
            "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---:|",
        ]
        for route in ROUTES:
            f = scale["figures"].get(route.name)
            if f is None:
                continue
            bad = f" ({f['failed']:,} failed)" if f["failed"] else ""
            bad += " (ran out)" if f["ran_out"] else ""
            bad += f" ({f['resigned']:,} re-signed)" if f["resigned"] else ""
            target = TARGETS.get(route.name)
            mark = ""
            if target is not None and f["cpu_ratio"] is not None:
                mark = f"≥ {target} " + ("met" if f["cpu_ratio"] >= target else "**missed**")
            lines.append(
                f"| {route.label} | {f['rps']:,.0f}{bad} | {f['p50_ms']:.2f} | "
                f"{f['p99_ms']:.2f} | {_num(f['cpu_ms'], '.3f')} | "
                f"{f['hello']['cpu_ms']:.3f} | {_num(f['cpu_ratio'], '.3f')} | {mark} | "
                f"{f['hello']['rps']:,.0f} | {_num(f['rate_ratio'], '.3f')} | "
                f"{_load(f['load'])} | {f['load']['busy']:.0%} |"
            )
        supply = scale["supply"]
        lines += [
            "",
            f"Seeded in {scale['seed_seconds']} s; supply: {supply['checkin']:,} tickets, "
            f"{supply['vouchers']:,} vouchers.",
        ]
    if result.get("scaling"):
        first, last = scales[0]["members"], scales[-1]["members"]
        lines += [
            "",
            f"## {first:,} → {last:,} owners",
            "",
            f"| path | CPU ms @{first:,} | CPU ms @{last:,} | CPU @{first:,} ÷ @{last:,} "
            f"(target ≥ {SCALE_TARGET}) | req/s @{last:,} ÷ @{first:,} |",
            "|---|---:|---:|---:|---:|",
        ]
        for route in ROUTES:
            ratio = result["scaling"].get(route.name)
            if ratio is None:
                continue
            a = scales[0]["figures"][route.name]["cpu_ms"]
            b = scales[-1]["figures"][route.name]["cpu_ms"]
            lines.append(
                f"| {route.label} | {_num(a, '.3f')} | {_num(b, '.3f')} | "
                f"{_num(ratio['cpu'], '.2f')} | {_num(ratio['rate'], '.2f')} |"
            )
    last = scales[-1] if scales else {}
    if "reports_seconds" in last:
        lines += ["", f"## Reports at {last['members']:,} owners", ""]
        lines += ["| admin report | seconds |", "|---|---:|"]
        lines += [f"| {k} | {v:.3f} |" for k, v in last["reports_seconds"].items()]
        care = last["care_daily_seconds"]
        lines.append(
            "| `flask care run-daily` | "
            + (f"{care:.1f}" if care is not None else f"> {CARE_LIMIT} (stopped)")
            + " |"
        )
    lines += ["", "## Targets", ""]
    lines += [f"- {text}: {'met' if met else '**missed**'}" for text, met in verdicts(result)]
    if result["failures"]:
        lines += ["", "## Failed runs (their figures are not to be trusted)", ""]
        lines += [f"- {text}" for text in result["failures"]]
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="carclub-bench-"))
    env = production_env(workdir)
    try:
        scales = []
        for members in SCALES:
            print(f"seeding and loading {members:,} owners…", flush=True)
            scales.append(bench_scale(members, workdir, env))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = {
        "machine": machine(),
        "method": {
            "seconds": SECONDS,
            "hello_seconds": HELLO_SECONDS,
            "connections": CONNECTIONS,
            "threads": THREADS,
            "owners": OWNERS,
            "user_agent": USER_AGENT,
            "card_token_reuse_seconds": int(CARD_REUSE),
        },
        "scales": scales,
    }
    result["scaling"] = scaling(scales)
    result["failures"] = failures(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    text = markdown(result)
    (RESULTS / "latest.md").write_text(text)
    print(text)
    if result["failures"]:
        print("Failed runs:\n" + "\n".join(result["failures"]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
