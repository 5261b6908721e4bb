"""What the README promises, CI checks: the configuration table lists every variable the code
reads, every `flask` command it shows exists and is run by a test, and the production command
serves the portal."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from app.core.tokens import generate_key_spec
from tests.conftest import make_app
from tests.test_make_run import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# Where the code reads the environment: os.environ.get("X"), os.getenv("X"), os.environ["X"],
# and config.py's helpers (_bool("X"), _database_url reads DATABASE_URL).
_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|os\.environ\[|_bool)\(?\s*["']([A-Z][A-Z0-9_]+)["']"""
)


def variables_read() -> set[str]:
    files = [ROOT / "config.py", ROOT / "gunicorn.conf.py", ROOT / "wsgi.py"]
    files += sorted((ROOT / "app").rglob("*.py"))
    return {name for path in files for name in _READ.findall(path.read_text())}


def configuration_table() -> set[str]:
    rows = [line for line in README.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_the_configuration_table_lists_every_variable_the_code_reads():
    read = variables_read()
    assert {"SECRET_KEY", "DATABASE_URL", "GUNICORN_ACCESS_LOG"} <= read  # the scan finds them
    assert sorted(read - configuration_table()) == []


def readme_flask_commands() -> set[tuple[str, ...]]:
    """Each `flask …` command the README shows, as its command words (options dropped)."""
    found = set()
    for line in re.findall(r"(?:^|`)flask ([a-z][a-z0-9 |-]*)", README, re.M):
        words = []
        for word in line.split():
            if not re.fullmatch(r"[a-z][a-z0-9-]*(\|[a-z-]+)*", word):
                break
            words.append(word)
        for variant in _alternatives(words):
            found.add(tuple(variant))
    return found


def _alternatives(words: list[str]) -> list[list[str]]:
    """`api-keys create|revoke|list` is three commands."""
    if words and "|" in words[-1]:
        return [[*words[:-1], choice] for choice in words[-1].split("|")]
    return [words]


def command_path(app, words: tuple[str, ...]) -> tuple[str, ...]:
    """The words that name a command (a group's command, or a command alone)."""
    import click

    context = app.cli.make_context("flask", [], resilient_parsing=True)
    command = app.cli.get_command(context, words[0])
    assert command is not None, f"flask {words[0]} does not exist"
    if isinstance(command, click.Group) and len(words) > 1:
        assert command.get_command(context, words[1]) is not None, f"flask {' '.join(words)}"
        return words[:2]
    return words[:1]


def run_by_tests() -> str:
    """Every test's source, the Makefile and CI's script: where a command can be run."""
    sources = [p.read_text() for p in (ROOT / "tests").rglob("*.py")]
    return "\n".join([*sources, (ROOT / "Makefile").read_text(), (ROOT / ".ci/run").read_text()])


def test_every_flask_command_the_readme_shows_exists_and_a_test_runs_it():
    app = make_app("sqlite://")
    tests = run_by_tests()
    compact = re.sub(r"\s+", "", tests)  # an args list may be spread over lines
    commands = {command_path(app, words) for words in readme_flask_commands()}
    assert ("loyalty", "reconcile") in commands and ("api-keys", "revoke") in commands
    never_run = []
    for words in sorted(commands):
        as_args = ",".join(f'"{w}"' for w in words)
        if f"flask {' '.join(words)}" not in tests and f"[{as_args}" not in compact:
            never_run.append("flask " + " ".join(words))
    assert never_run == []


def test_the_production_command_serves_the_portal(tmp_path):
    """`CARCLUB_ENV=production gunicorn -c gunicorn.conf.py wsgi:app`, as the README says, with
    what production requires in the environment, after `flask db upgrade`."""
    port = free_port()
    env = {
        **os.environ,
        "CARCLUB_ENV": "production",
        "SECRET_KEY": "readme-production-test",
        "TOKEN_SIGNING_KEY": generate_key_spec(1),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'carclub.sqlite'}",
        "CARCLUB_INSTANCE_PATH": str(tmp_path),
        "SMTP_HOST": "127.0.0.1",
        "SMS_BACKEND": "aliyun",
        "ALIYUN_SMS_ACCESS_KEY_ID": "LTAI-x",
        "ALIYUN_SMS_ACCESS_KEY_SECRET": "secret",
        "ALIYUN_SMS_SIGN_NAME": "车友会",
        "ALIYUN_SMS_TEMPLATE_CODE": "SMS_1",
        "ALIYUN_SMS_TEMPLATE_NOTICE": "SMS_2",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "FLASK_APP": "wsgi",
    }
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [bin_dir / "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    assert "CARCLUB_ENV=production gunicorn -c gunicorn.conf.py wsgi:app" in README
    process = subprocess.Popen(
        [bin_dir / "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        home = wait_for(f"http://127.0.0.1:{port}/", process, timeout=60)
        assert "Join the club" in home
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        process.stdout.close()
