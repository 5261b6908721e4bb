"""Small per-process caches of rows that rarely change (an API key, an event's gate facts, the
tiers), so a hot path need not read them on every request (issue 19).

A cache keeps plain values (never ORM objects: those belong to one session) for at most its
time-to-live, and forgets them as soon as a watched table changes:

* in this process, when a transaction that wrote a watched model ends (session hooks see the
  rows flushed and the ORM's UPDATE and DELETE statements);
* in every other process on PostgreSQL (gunicorn's workers, other hosts), through a
  ``NOTIFY`` sent in that same transaction, so only a committed change is announced. Every
  pooled connection ``LISTEN``\\ s; reading a cache first reads what its request's connection
  has received, without a round trip. So a revoked API key is refused by the next request
  everywhere, not once its time-to-live has run out.

A new pooled connection may have missed announcements: it clears every cache. The
time-to-live bounds what no hook sees (an UPDATE typed in psql, several processes on SQLite).
A change made with a Core statement must call :meth:`ProcessCache.forget` itself.
"""

import threading
import weakref
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.core.clock import utcnow
from app.extensions import db

CHANNEL = "carclub_caches"
_NOTIFY = text("SELECT pg_notify(:channel, :name)")
# Every cache by name, and the caches a model's rows feed.
_CACHES: dict[str, "ProcessCache"] = {}
_WATCHED: dict[type, set[str]] = {}
# One store of values per app (tests make many apps, each with its own database).
_STORES: "weakref.WeakSet[_Store]" = weakref.WeakSet()
_LOCK = threading.Lock()


class _Store:
    """One app's cached values: ``{cache: {key: (expires, value)}}`` and a generation per
    cache, moved on by every clearing so a value read before a change is not kept after it."""

    __slots__ = ("__weakref__", "generations", "listens", "values")

    def __init__(self, listens: bool) -> None:
        self.values: dict[str, dict[Hashable, tuple[datetime, Any]]] = {}
        self.generations: dict[str, int] = {}
        self.listens = listens

    def forget(self, name: str) -> None:
        self.generations[name] = self.generations.get(name, 0) + 1
        self.values.pop(name, None)


def _store() -> _Store:
    store = current_app.extensions.get("process_caches")
    if store is None:
        with _LOCK:
            store = current_app.extensions.get("process_caches")
            if store is None:
                store = _Store(listens=db.engine.dialect.name == "postgresql")
                current_app.extensions["process_caches"] = store
                _STORES.add(store)
    return store


def forget_everywhere(names) -> None:
    """Clear the named caches of every app in this process."""
    for store in list(_STORES):
        for name in names:
            store.forget(name)


class ProcessCache:
    """Values keyed by something small, kept ``ttl`` seconds, forgotten when a row of
    ``watches`` changes."""

    def __init__(self, name: str, *, ttl: float, watches: tuple[type, ...]) -> None:
        if name in _CACHES:
            raise ValueError(f"two process caches are named {name}")
        self.name = name
        self.ttl = timedelta(seconds=ttl)
        _CACHES[name] = self
        for model in watches:
            _WATCHED.setdefault(model, set()).add(name)

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value of ``key``, or ``load()``'s. A value is kept unless it is None (a
        miss: unknown keys must not fill the memory), the cache was cleared while it loaded,
        or this transaction changed the cache's rows."""
        store = _store()
        if store.listens:
            _read_announcements(db.session.connection())
        entry = store.values.get(self.name, {}).get(key)
        now = utcnow()  # the app's clock: tests travel past the time-to-live
        if entry is not None and entry[0] > now:
            return entry[1]
        generation = store.generations.get(self.name, 0)
        # What the caller has pending is not this cache's business: no flush for a read.
        with db.session.no_autoflush:
            value = load()
        touched = db.session.info.get("touched_caches", ())
        if (
            value is not None
            and store.generations.get(self.name, 0) == generation
            and self.name not in touched
        ):
            store.values.setdefault(self.name, {})[key] = (now + self.ttl, value)
        return value

    def update_on_commit(self, key: Hashable, value: Any) -> None:
        """Replace a cached value with what this transaction has written, once it commits
        (keeping its expiry); a rollback leaves the cache as it was."""
        db.session.info.setdefault("cache_updates", []).append((_store(), self.name, key, value))

    def forget(self) -> None:
        """Clear this cache here, and everywhere once the transaction commits."""
        _touch(db.session, {self.name})


# ------------------------------------------------------------------- local invalidation


def _touch(session: Session, names: set[str]) -> None:
    """Note that this transaction changed the rows behind ``names``; announce it on
    PostgreSQL (the announcement goes out with the commit, or never)."""
    touched = session.info.setdefault("touched_caches", set())
    new = names - touched
    if not new:
        return
    touched |= new
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        for name in sorted(new):
            connection.execute(_NOTIFY, {"channel": CHANNEL, "name": name})


def _caches_of(objects) -> set[str]:
    names: set[str] = set()
    for obj in objects:
        for model, caches in _WATCHED.items():
            if isinstance(obj, model):
                names |= caches
    return names


@event.listens_for(Session, "after_flush")
def _after_flush(session, _context) -> None:
    if _WATCHED and (names := _caches_of([*session.new, *session.dirty, *session.deleted])):
        _touch(session, names)


@event.listens_for(Session, "do_orm_execute")
def _orm_statement(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        mapper = state.bind_mapper
        names = _WATCHED.get(mapper.class_, set()) if mapper is not None else set()
        if names:
            _touch(state.session, set(names))


@event.listens_for(Session, "after_commit")
def _committed(session) -> None:
    for store, name, key, value in session.info.pop("cache_updates", ()):
        values = store.values.get(name, {})
        if key in values:
            values[key] = (values[key][0], value)


@event.listens_for(Session, "after_transaction_end")
def _transaction_end(session, transaction) -> None:
    if transaction.parent is not None:
        return
    session.info.pop("cache_updates", None)
    if names := session.info.pop("touched_caches", None):
        # Committed or not, forgetting is always safe.
        forget_everywhere(names)


# --------------------------------------------------------- announcements (PostgreSQL)


def _on_announcement(notify) -> None:
    if notify.channel == CHANNEL:
        forget_everywhere([notify.payload] if notify.payload in _CACHES else list(_CACHES))


def _read_announcements(connection) -> None:
    """Read, without waiting, what the connection's socket holds (psycopg passes each
    notification to ``_on_announcement``)."""
    pgconn = connection.connection.dbapi_connection.pgconn
    pgconn.consume_input()
    while (notify := pgconn.notifies()) is not None:
        if pgconn.notify_handler is not None:
            pgconn.notify_handler(notify)


@event.listens_for(Engine, "connect")
def _listen(dbapi_connection, _record) -> None:
    if not hasattr(dbapi_connection, "add_notify_handler"):
        return  # not psycopg (SQLite)
    dbapi_connection.add_notify_handler(_on_announcement)
    dbapi_connection.execute(f"LISTEN {CHANNEL}")
    dbapi_connection.commit()
    # What was announced before this connection listened is lost to it.
    forget_everywhere(list(_CACHES))
