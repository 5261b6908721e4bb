"""Transactions: SQLite as safe as PostgreSQL under parallel requests, and none at all for a
request that only reads.

SQLite: a transaction takes the write lock when it begins (``BEGIN IMMEDIATE``), so two
requests never both read a balance and then both spend it. PostgreSQL settles such races with
row locks (``SELECT ... FOR UPDATE``), which SQLite ignores; a second writer waits for the first
(the busy timeout, in app.core.assets) instead of acting on what it read before the first
committed. pysqlite would otherwise begin a transaction lazily, at the first INSERT or UPDATE
(after the reads), and commit on its own before DDL; SQLAlchemy's documented recipe
("Serializable isolation / Savepoints / Transactional DDL") turns that off and emits BEGIN
itself.

Reads first: a GET or HEAD request (most of them only read) runs its statements in the
driver's autocommit mode: no BEGIN, no COMMIT, and on SQLite no write lock. Its first write or
locking read (anything but a plain SELECT: INSERT, UPDATE, DELETE, SELECT ... FOR UPDATE)
begins the transaction there, with the write lock on SQLite, so what the request writes still
commits or rolls back as one at its end. A read-then-write stays safe where the code takes a
row lock before the reads its write depends on (``ledger.lock_account`` and the like), which is
what PostgreSQL needs anyway; a form's POST keeps the stricter lock from its first statement.
On PostgreSQL each statement of a READ COMMITTED transaction sees its own snapshot, so the
reads see what they would inside one. And psycopg keeps its prepared statements (a ROLLBACK
would discard them).
"""

import sqlite3

from flask import Flask, g, has_app_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

# connection.info key: this transaction has not begun at the database yet (reads first).
_READING = "carclub_reading"
_READ_METHODS = ("GET", "HEAD")


def init_app(app: Flask) -> None:
    """Mark GET and HEAD requests to run their reads outside a transaction. Register first:
    before any other hook reads the database (the session check does)."""

    @app.before_request
    def reads_first():
        if request.method in _READ_METHODS:
            g.reads_first = True

    @app.teardown_request
    def forget_reads_first(_exc):
        # A test's app context can outlive its requests.
        g.pop("reads_first", None)
        g.pop("wrote", None)


# A write a hook makes when the transaction commits (e.g. an API key's last use, written by
# a before_commit listener): a read-only GET that notes one in ``session.info`` still commits.
WRITE_AT_COMMIT = "write_at_commit"


def changed(session) -> bool:
    """Whether the request has anything to commit: a form's always; a GET or HEAD when it
    changed objects not flushed yet, ran a statement that wrote, or noted a write for the
    commit (``WRITE_AT_COMMIT``)."""
    if not g.get("reads_first"):
        return True
    return bool(
        g.get("wrote")
        or session.info.get(WRITE_AT_COMMIT)
        or session.new
        or session.dirty
        or session.deleted
    )


@event.listens_for(Engine, "connect")
def _sqlite_manual_transactions(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None


@event.listens_for(Engine, "begin")
def _begin(connection) -> None:
    reading = connection.info[_READING] = has_app_context() and bool(g.get("reads_first"))
    if reading and connection.dialect.name == "postgresql":
        connection.connection.dbapi_connection.autocommit = True
    elif not reading and connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _writes(statement: str, context) -> bool:
    if statement.lstrip()[:6].upper() != "SELECT":
        return True
    # SQLite renders no FOR UPDATE: ask the statement (Select keeps it privately).
    compiled = getattr(context, "compiled", None)
    locks = getattr(getattr(compiled, "statement", None), "_for_update_arg", None)
    return locks is not None or " FOR UPDATE" in statement or " FOR SHARE" in statement


@event.listens_for(Engine, "before_cursor_execute")
def _begin_before_first_write(connection, cursor, statement, parameters, context, many) -> None:
    if not connection.info.get(_READING) or not _writes(statement, context):
        return
    connection.info[_READING] = False
    if has_app_context():
        g.wrote = True
    if connection.dialect.name == "postgresql":
        connection.connection.dbapi_connection.autocommit = False  # psycopg sends BEGIN
    elif connection.dialect.name == "sqlite":
        cursor.execute("BEGIN IMMEDIATE")


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _end_reading(connection) -> None:
    # Nothing was written: the connection goes back to the pool as it came.
    if connection.invalidated or not connection.info.get(_READING):
        return
    connection.info[_READING] = False
    if connection.dialect.name == "postgresql":
        connection.connection.dbapi_connection.autocommit = False
