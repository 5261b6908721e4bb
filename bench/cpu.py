"""CPU time of the processes that serve a load run, read from /proc (Linux).

What a request costs is the user + system time its server spent, not how many requests a
shared, busy machine happened to complete: ``make bench`` reads the CPU time of the gunicorn
master and its workers and of the PostgreSQL server's processes before and after each wrk run
and divides the difference by the requests completed.

PostgreSQL's processes are the bench database's backends and the server's own processes
(postmaster, checkpointer, WAL writer...: they count whoever made them work), not the backends
of other databases: other test runs may share the server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> tuple[str, list[str]] | None:
    """The command name and the fields after it of /proc/<pid>/stat; None when it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The name is in parentheses and may itself hold spaces and parentheses.
    open_, close = text.index("("), text.rindex(")")
    return text[open_ + 1 : close], text[close + 2 :].split()


def cpu_seconds(pid: int) -> float | None:
    """User + system seconds process ``pid`` has used so far (None when it is gone)."""
    found = _stat_fields(pid)
    if found is None:
        return None
    fields = found[1]
    # Fields 14 and 15 of stat(5) (utime, stime); ``fields`` starts at field 3.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def processes() -> dict[int, tuple[int, str]]:
    """Every process: its parent's id and its command name, by id."""
    found = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat_fields(int(entry.name))
        if stat is not None:
            name, fields = stat
            found[int(entry.name)] = (int(fields[1]), name)
    return found


def tree(root: int, table: dict[int, tuple[int, str]] | None = None) -> set[int]:
    """``root`` and all its descendants (gunicorn's master and its workers)."""
    table = processes() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, (parent, _name) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        todo.extend(children.get(pid, ()))
    return found


def named(name: str, table: dict[int, tuple[int, str]] | None = None) -> set[int]:
    """The processes whose command name is ``name``."""
    table = processes() if table is None else table
    return {pid for pid, (_parent, comm) in table.items() if comm == name}


class PostgresScope:
    """The PostgreSQL server processes that work for ``database``, in two groups: its backends
    (``backends``) and the server's own processes (``server``: postmaster, checkpointer, WAL
    writer..., shared with other databases). The backends of other databases are left out.
    Keeps one connection (to the admin database, so itself left out) for the queries; close it
    with ``close()``."""

    def __init__(self, admin_url: str, database: str):
        import psycopg

        self.database = database
        self.conn = psycopg.connect(
            admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
        )

    def _databases(self) -> dict[int, str]:
        rows = self.conn.execute(
            "SELECT pid, datname FROM pg_stat_activity WHERE datname IS NOT NULL"
        )
        return dict(rows.fetchall())

    def backends(self) -> set[int]:
        """The backends (and autovacuum workers) of the database."""
        return {pid for pid, name in self._databases().items() if name == self.database}

    def server(self) -> set[int]:
        """The processes of no database: the postmaster and its helpers."""
        return named("postgres") - set(self._databases())

    def close(self) -> None:
        self.conn.close()


class Meter:
    """CPU seconds of named groups of processes, each group given by a function returning
    its process ids at the time of reading."""

    def __init__(self, **groups: Callable[[], Iterable[int]]):
        self.groups = groups

    def read(self) -> dict[str, dict[int, float]]:
        """Each group's processes' CPU seconds so far."""
        found = {}
        for name, pids in self.groups.items():
            seconds = {pid: cpu_seconds(pid) for pid in pids()}
            found[name] = {pid: s for pid, s in seconds.items() if s is not None}
        return found

    @staticmethod
    def used(
        before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]
    ) -> dict[str, float]:
        """CPU seconds each group used between two readings: a process that started between
        them counts in full; one that ended is lost (its time is not readable any more)."""
        return {
            name: round(
                sum(max(0.0, s - before.get(name, {}).get(pid, 0.0)) for pid, s in now.items()),
                3,
            )
            for name, now in after.items()
        }


def machine_busy() -> tuple[float, float]:
    """(busy, total) clock ticks of all CPUs so far, from /proc/stat (busy: not idle or
    waiting for I/O)."""
    fields = [int(x) for x in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8])  # guest time is already in user
    idle = fields[3] + fields[4]
    return total - idle, total
