"""``make bench``: requests/s and latency of the portal's hot paths under gunicorn + wrk.

For each scale (1,000 and 100,000 owners by default) it makes a fresh database (PostgreSQL
when DATABASE_URL is set, SQLite otherwise), migrates it, fills it with ``flask bench seed``,
serves the portal with the production settings and gunicorn.conf.py, and loads it with wrk;
the ceiling is a bare "hello" app served by the same gunicorn configuration. It then times the
admin reports, the staff pages of campaigns, ABC grading and HQ operations (with a campaign at
scale made by ``flask bench campaign``) and the daily care job at the largest scale, prints a
table and writes bench/results/latest.json and latest.md (with a description of the machine).

Environment: BENCH_SCALES ("1000,100000"), BENCH_SECONDS (10), BENCH_CONNECTIONS (32),
BENCH_THREADS (2), DATABASE_URL (a PostgreSQL server to make the bench databases on),
BENCH_RESULTS (the folder of latest.json and latest.md, bench/results by default: a partial run
can go elsewhere).
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
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.serve import BIN, ROOT, Session, flask, gunicorn, production_env

SCRIPTS = ROOT / "bench" / "scripts"
RESULTS = Path(os.environ.get("BENCH_RESULTS") or ROOT / "bench" / "results")
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
SCALES = [int(n) for n in os.environ.get("BENCH_SCALES", "1000,100000").split(",")]
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
)
TARGETS = {"card": 0.5, "checkin": 0.5}
CARE_LIMIT = int(os.environ.get("BENCH_CARE_LIMIT", "600"))  # seconds the care job may take


@dataclass
class Figure:
    """One wrk run."""

    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: dict = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


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


# ---------------------------------------------------------------------------------- servers


def wrk(name: str, url: str, *, script: str = "get.lua", headers=(), env=None) -> Figure:
    """Load ``url`` for BENCH_SECONDS; the Lua script prints the figures as JSON."""
    args = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{SECONDS}s",
        "--timeout",
        "5s",
        "-s",
        str(SCRIPTS / script),
    ]
    for header in headers:
        args += ["-H", header]
    out = subprocess.run(
        [*args, url],
        check=True,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "BENCH_LUA_DIR": str(SCRIPTS),
            "BENCH_THREADS": str(THREADS),
            **(env or {}),
        },
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    data = json.loads(line[len("BENCH ") :])
    return Figure(
        name, data["rps"], data["p50_ms"], data["p99_ms"], data["requests"], data["errors"]
    )


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
    settlement, and the campaign at scale (``flask bench campaign``): the live count of a draft
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


def bodies(path: Path, items) -> Path:
    path.write_text("".join(json.dumps(item, separators=(",", ":")) + "\n" for item in items))
    return path


def bench_scale(members: int, workdir: Path, env: dict) -> dict:
    """Seed ``members`` owners and load every path; returns the figures of this scale."""
    with database(members, workdir) as url:
        env = {**env, "DATABASE_URL": url}
        flask(env, "db", "upgrade")
        manifest_path = workdir / f"manifest-{members}.json"
        start = time.perf_counter()
        flask(env, "bench", "seed", "--members", str(members), "--manifest", str(manifest_path))
        seeded = time.perf_counter() - start
        manifest = json.loads(manifest_path.read_text())
        campaign_path = workdir / f"campaign-{members}.json"
        flask(env, "bench", "campaign", "--output", str(campaign_path))
        campaign = json.loads(campaign_path.read_text())
        today = dt.date.today().isoformat()
        checkins = bodies(
            workdir / "checkin.jsonl",
            (
                {"event_id": manifest["checkin"]["event_id"], "ticket": ticket}
                for ticket in manifest["checkin"]["tickets"]
            ),
        )
        vouchers = bodies(workdir / "vouchers.jsonl", ({"code": c} for c in manifest["vouchers"]))
        vins = manifest["vins"]
        visits = bodies(
            workdir / "visits.jsonl",
            (
                {
                    "ro_number": f"BENCH-{members}-{i}",
                    "vin": vins[i % len(vins)],
                    "visited_on": today,
                    "mileage_km": 10000 + i,
                    "amount_yuan": "480.00",
                    "category": "maintenance",
                }
                for i in range(200_000)
            ),
        )
        figures = {}
        with gunicorn("wsgi:app", env, "/login") as base:
            owner = Session(base, **manifest["owner"]).cookie
            staff = Session(base, **manifest["staff"]).cookie
            api = {"BENCH_API_KEY": manifest["api_key"]}
            for name, path in (("card", "/card"), ("points", "/me/points")):
                figures[name] = wrk(name, base + path, headers=[f"Cookie: {owner}"])
            for name, path, file in (
                ("checkin", "/api/v1/checkin", checkins),
                ("voucher", "/api/v1/vouchers/redeem", vouchers),
                ("visit", "/api/v1/dms/service-visits", visits),
            ):
                figures[name] = wrk(
                    name,
                    base + path,
                    script="post_lines.lua",
                    env={**api, "BENCH_BODIES": str(file)},
                )
            reports = {path: timed_get(base + path, staff) for path in REPORTS}
            reports.update(staff_pages(base, staff, campaign))
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
        return {
            "members": members,
            "seed_seconds": round(seeded, 1),
            "figures": {k: asdict(v) for k, v in figures.items()},
            "reports_seconds": {k: round(v, 3) for k, v in reports.items()},
            "care_daily_seconds": round(care, 1) if care != float("inf") else None,
            "supply": {
                "checkin": len(manifest["checkin"]["tickets"]),
                "vouchers": len(manifest["vouchers"]),
            },
        }


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
        "load": f"wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS}s",
        "commit": commit,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


LABELS = {
    "ceiling": "hello (ceiling)",
    "card": "owner's card page",
    "points": "points history page",
    "checkin": "check-in API",
    "voucher": "voucher redemption API",
    "visit": "DMS service-visit API",
}


def markdown(result: dict) -> str:
    ceiling = result["ceiling"]["rps"]
    scales = result["scales"]
    first, last = scales[0], scales[-1]
    m = result["machine"]
    lines = [
        "# Bench results",
        "",
        f"{m['date']}, commit {m['commit']}: {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_gib']} GiB, {m['os']}, Python {m['python']}, {m['database']}, "
        f"{m['wrk']} ({m['load']}), gunicorn.conf.py.",
        "",
        "| path | "
        + " | ".join(f"req/s @{s['members']:,} | p50 ms | p99 ms | × ceiling" for s in scales)
        + (f" | {last['members']:,} ÷ {first['members']:,}" if len(scales) > 1 else "")
        + " |",
        "|---|" + "---:|" * (4 * len(scales) + (len(scales) > 1)),
    ]
    c = result["ceiling"]
    lines.append(
        f"| {LABELS['ceiling']} | "
        + " | ".join(
            f"{c['rps']:,.0f} | {c['p50_ms']:.2f} | {c['p99_ms']:.2f} | 1.00" for _ in scales
        )
        + (" | 1.00" if len(scales) > 1 else "")
        + " |"
    )
    for name in ("card", "points", "checkin", "voucher", "visit"):
        cells = []
        for s in scales:
            f = s["figures"][name]
            bad = f" ({sum(f['errors'].values())} failed)" if sum(f["errors"].values()) else ""
            cells.append(
                f"{f['rps']:,.0f}{bad} | {f['p50_ms']:.2f} | {f['p99_ms']:.2f} | "
                f"{f['rps'] / ceiling:.2f}"
            )
        ratio = ""
        if len(scales) > 1:
            ratio = f" | {last['figures'][name]['rps'] / first['figures'][name]['rps']:.2f}"
        lines.append(f"| {LABELS[name]} | " + " | ".join(cells) + ratio + " |")
    lines += ["", f"At {last['members']:,} owners:", ""]
    lines += ["| admin report | seconds |", "|---|---:|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in last["reports_seconds"].items()]
    lines += [
        "| `flask care run-daily` | "
        + (
            f"{last['care_daily_seconds']:.1f}"
            if last["care_daily_seconds"] is not None
            else f"> {CARE_LIMIT} (stopped)"
        )
        + " |",
        "",
        "Seeding: "
        + ", ".join(f"{s['members']:,} owners in {s['seed_seconds']} s" for s in scales)
        + ".",
        "",
        "Targets: card page and check-in API ≥ 0.5 × ceiling; every path at the largest scale "
        "≥ 0.9 × itself at the smallest; reports < 1 s; daily care job < 60 s.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="carclub-bench-"))
    env = production_env(workdir)
    try:
        with gunicorn("bench.hello:app", env, "/hello") as base:
            ceiling = wrk("ceiling", base + "/hello")
        print(f"ceiling: {ceiling.rps:,.0f} req/s", flush=True)
        scales = []
        for members in SCALES:
            print(f"seeding and loading {members:,} owners…", flush=True)
            scales.append(bench_scale(members, workdir, env))
        result = {"machine": machine(), "ceiling": asdict(ceiling), "scales": scales}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    text = markdown(result)
    (RESULTS / "latest.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
