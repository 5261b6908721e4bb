"""Per-process caches (issue 19): kept for a time-to-live, forgotten when their rows change in
this process (at the transaction's end) or in another (PostgreSQL's NOTIFY)."""

import select as io_select

import psycopg
import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from app.core.caches import CHANNEL
from app.extensions import db
from app.loyalty.models import Tier
from app.loyalty.tiers import TIERS, tier_table


def threshold(code: str = "platinum") -> int:
    return next(t.threshold_points for t in tier_table() if t.code == code)


def test_a_committed_change_is_seen_by_the_next_read(db_app):
    with db_app.app_context():
        assert threshold() == 5000
        db.session.rollback()
    with db_app.app_context():
        db.session.scalar(select(Tier).where(Tier.code == "platinum")).threshold_points = 6000
        db.session.commit()
    with db_app.app_context():
        assert threshold() == 6000


def test_a_change_rolled_back_leaves_the_cache_right(db_app):
    with db_app.app_context():
        tier = db.session.scalar(select(Tier).where(Tier.code == "platinum"))
        tier.threshold_points = 6000
        db.session.flush()
        # Read in the changing transaction: used, not kept for the others.
        assert threshold() == 6000
        db.session.rollback()
    with db_app.app_context():
        assert threshold() == 5000


def test_an_orm_update_statement_is_seen_too(app):
    with app.app_context():
        assert threshold() == 5000
        changed = update(Tier).where(Tier.code == "platinum").values(threshold_points=7000)
        db.session.execute(changed)
        db.session.commit()
        assert threshold() == 7000


def test_a_change_no_hook_sees_applies_after_the_time_to_live(app, clock):
    with app.app_context():
        assert threshold() == 5000
        # An UPDATE past the session (as typed in psql) is not seen: the time-to-live bounds it.
        db.session.connection().execute(
            update(Tier.__table__).where(Tier.code == "platinum").values(threshold_points=8000)
        )
        db.session.commit()
        assert threshold() == 5000
        clock.advance(seconds=TIERS.ttl.total_seconds() - 1)
        assert threshold() == 5000
        clock.advance(seconds=2)
        assert threshold() == 8000


@pytest.mark.postgres
def test_another_process_announcement_clears_the_cache_at_once(pg_app):
    with pg_app.app_context():
        assert threshold() == 5000
        db.session.rollback()
    # Another process changes a tier and announces it in its transaction, as the hooks do.
    url = make_url(pg_app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as other:
        other.execute("UPDATE tiers SET threshold_points = 9000 WHERE code = 'platinum'")
        other.execute("SELECT pg_notify(%s, 'tiers')", (CHANNEL,))
    with pg_app.app_context():
        # The announcement reaches this process's connection a moment after the commit (the
        # server signals the listening backend, which writes to the socket): wait until the
        # socket has something to read, as a request a moment later would find it.
        socket = db.session.connection().connection.dbapi_connection.pgconn.socket
        assert io_select.select([socket], [], [], 5)[0], "the announcement never arrived"
        assert threshold() == 9000


@pytest.mark.postgres
def test_a_change_here_is_announced_on_postgresql(pg_app):
    url = make_url(pg_app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as other:
        other.execute(f"LISTEN {CHANNEL}")
        with pg_app.app_context():
            db.session.scalar(select(Tier).where(Tier.code == "diamond")).threshold_points = 20000
            db.session.flush()
            db.session.rollback()  # a change rolled back is not announced
            tier = db.session.scalar(select(Tier).where(Tier.code == "diamond"))
            tier.threshold_points = 21000
            db.session.commit()
        heard = [n.payload for n in other.notifies(timeout=5)]
    assert heard == ["tiers"]
