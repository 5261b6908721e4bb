"""The managed model list with families (issue 16), seeded with the models the callback knew

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-10 10:00:00

"""

import datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# (name, family): the models a callback trap could name before the list was managed, with the
# variants of one car in one family. HQ edits the list at /admin/models.
DEFAULT_MODELS = [
    ("Jetta", "Jetta"),
    ("Jetta VS5", "Jetta"),
    ("Sagitar", "Sagitar"),
    ("Golf", "Golf"),
    ("Golf GTI", "Golf"),
    ("Golf R", "Golf"),
    ("Magotan", "Magotan"),
    ("Lavida", "Lavida"),
    ("Lamando", "Lamando"),
    ("Bora", "Bora"),
    ("Passat", "Passat"),
    ("Tiguan", "Tiguan"),
    ("Tiguan L", "Tiguan"),
    ("Polo", "Polo"),
    ("ID.4 CROZZ", "ID.4"),
]


def upgrade():
    op.create_table(
        "car_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("family", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_car_models")),
        sa.UniqueConstraint("key", name=op.f("uq_car_models_key")),
    )
    now = datetime.datetime(2026, 12, 10, tzinfo=datetime.timezone.utc)
    op.bulk_insert(
        sa.table(
            "car_models",
            sa.column("name", sa.String),
            sa.column("key", sa.String),
            sa.column("family", sa.String),
            sa.column("active", sa.Boolean),
            sa.column("created_at", sa.DateTime(timezone=True)),
            sa.column("updated_at", sa.DateTime(timezone=True)),
        ),
        [
            # The key as app.members.car_models.model_key folds these names (a test checks it).
            {
                "name": name,
                "key": name.casefold(),
                "family": family,
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for name, family in DEFAULT_MODELS
        ],
    )


def downgrade():
    op.drop_table("car_models")
