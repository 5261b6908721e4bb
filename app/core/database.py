"""SQLite as safe as PostgreSQL under parallel requests: every transaction takes the write
lock when it begins (``BEGIN IMMEDIATE``), so two requests never both read a balance and then
both spend it. PostgreSQL settles such races with row locks (``SELECT ... FOR UPDATE``), which
SQLite ignores; a second writer waits for the first (the busy timeout, in app.core.assets)
instead of acting on what it read before the first committed.

pysqlite would otherwise begin a transaction lazily, at the first INSERT or UPDATE (after the
reads), and commit on its own before DDL; SQLAlchemy's documented recipe ("Serializable
isolation / Savepoints / Transactional DDL") turns that off and emits BEGIN itself.
"""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _sqlite_manual_transactions(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None


@event.listens_for(Engine, "begin")
def _sqlite_begin_immediate(connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
