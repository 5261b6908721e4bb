"""A GET or HEAD that only reads runs without a transaction (no BEGIN, no COMMIT, no SQLite
write lock); its first write or locking read begins one, and what it wrote commits at the end
of the request, or rolls back with an error (app/core/database.py)."""

import sqlite3

import pytest
from flask import abort
from sqlalchemy import select, update

from app.auth.models import User
from app.extensions import csrf, db
from tests.factories import make_dealer, make_staff


def in_transaction() -> bool:
    """Whether this request's connection has a transaction open at the database."""
    dbapi = db.session.connection().connection.dbapi_connection
    if isinstance(dbapi, sqlite3.Connection):
        return dbapi.in_transaction
    return dbapi.info.transaction_status != 0  # psycopg: 0 is IDLE


@pytest.fixture
def user_id(db_app):
    with db_app.app_context(), db_app.test_request_context():
        user = make_staff("sales_consultant", make_dealer("SZ01").id)
        db.session.commit()
        return user.id


def name_of(app, user_id) -> str:
    with app.app_context():
        return db.session.get(User, user_id).name


def route(app, path, view, methods=("GET",)):
    app.add_url_rule(path, path, view, methods=list(methods))


def test_a_get_that_reads_begins_no_transaction(db_app, user_id):
    seen = []

    def view():
        db.session.get(User, user_id)
        seen.append(in_transaction())
        return "ok"

    route(db_app, "/t/read", view)
    assert db_app.test_client().get("/t/read").status_code == 200
    assert seen == [False]


def test_what_a_get_writes_commits_in_one_transaction(db_app, user_id):
    seen = []

    def view():
        db.session.get(User, user_id)
        seen.append(in_transaction())
        db.session.execute(update(User).where(User.id == user_id).values(name="Core write"))
        seen.append(in_transaction())
        return "ok"

    route(db_app, "/t/write", view)
    assert db_app.test_client().get("/t/write").status_code == 200
    assert seen == [False, True]
    assert name_of(db_app, user_id) == "Core write"


def test_an_object_a_get_changes_is_saved(db_app, user_id):
    def view():
        db.session.get(User, user_id).name = "Changed, not flushed"
        return "ok"

    route(db_app, "/t/change", view)
    assert db_app.test_client().get("/t/change").status_code == 200
    assert name_of(db_app, user_id) == "Changed, not flushed"


def test_a_get_that_fails_after_writing_saves_nothing(db_app, user_id):
    def view():
        db.session.execute(update(User).where(User.id == user_id).values(name="Half done"))
        abort(404)

    route(db_app, "/t/fail", view)
    assert db_app.test_client().get("/t/fail").status_code == 404
    assert name_of(db_app, user_id) != "Half done"


def test_a_locking_read_begins_the_transaction(db_app, user_id):
    seen = []

    def view():
        db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
        seen.append(in_transaction())
        return "ok"

    route(db_app, "/t/lock", view)
    assert db_app.test_client().get("/t/lock").status_code == 200
    assert seen == [True]


def test_a_post_begins_its_transaction_at_once(db_app, user_id):
    seen = []

    def view():
        db.session.get(User, user_id)
        seen.append(in_transaction())
        return "ok"

    route(db_app, "/t/post", csrf.exempt(view), methods=("POST",))
    assert db_app.test_client().post("/t/post", with_csrf=False).status_code == 200
    assert seen == [True]


def test_on_sqlite_a_reading_get_leaves_the_write_lock_free(app):
    seen = []

    def view():
        db.session.execute(select(User.id).limit(1))
        other = sqlite3.connect(db.engine.url.database, isolation_level=None)
        try:
            other.execute("PRAGMA busy_timeout=0")
            other.execute("BEGIN IMMEDIATE")  # would raise "database is locked"
            other.execute("ROLLBACK")
            seen.append("free")
        finally:
            other.close()
        return "ok"

    route(app, "/t/free", view)
    assert app.test_client().get("/t/free").status_code == 200
    assert seen == ["free"]
