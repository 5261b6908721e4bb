"""Migrations: upgrade from empty on SQLite and PostgreSQL, and models match them."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade
from sqlalchemy import inspect, select

from app.care.models import LostReason
from app.core.models import render_migration_item
from app.extensions import db
from app.loyalty.models import Tier
from app.members.models import Colour
from tests.conftest import MIGRATIONS, make_app, migrate_to_head


def assert_schema_matches_models(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_item": render_migration_item}
        )
        assert compare_metadata(context, db.metadata) == []


def assert_defaults_installed(app):
    with app.app_context():
        tiers = db.session.scalars(select(Tier).order_by(Tier.rank)).all()
        assert [(t.code, t.threshold_points, t.multiplier_pct) for t in tiers] == [
            ("gold", 0, 100),
            ("platinum", 5000, 125),
            ("diamond", 15000, 150),
        ]
        groups = dict(db.session.execute(select(Colour.code, Colour.confusion_group)).all())
        assert groups["silver"] == groups["grey"]
        assert groups["black"] == groups["mocha_brown"]
        assert groups["white"] == groups["pearl_white"]
        # Issue 20: the reasons agents pick from at first, group-wide; "other" is written out.
        reasons = db.session.execute(
            select(LostReason.code, LostReason.needs_text, LostReason.asks_workshop)
            .where(LostReason.dealer_id.is_(None))
            .order_by(LostReason.position)
        ).all()
        assert [code for code, *_ in reasons][:2] == ["moved_away", "other_workshop"]
        assert ("other", True, False) in reasons and ("other_workshop", False, True) in reasons


def assert_upgrade_and_downgrade(app):
    try:
        migrate_to_head(app)
        assert_schema_matches_models(app)
        assert_defaults_installed(app)
        with app.app_context():
            downgrade(directory=MIGRATIONS, revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    finally:
        with app.app_context():
            db.engine.dispose()


def test_migrations_on_sqlite(tmp_path):
    assert_upgrade_and_downgrade(make_app(f"sqlite:///{tmp_path / 'empty.sqlite'}"))


@pytest.mark.postgres
def test_migrations_on_postgresql(pg_url):
    assert_upgrade_and_downgrade(make_app(pg_url))
