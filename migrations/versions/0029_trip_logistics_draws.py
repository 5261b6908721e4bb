"""A trip's logistics (car numbers, lead and tail cars, route) and prize draws at events
(issue 21)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-28 08:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str):
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _trip_tables():
    op.create_table(
        "trip_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("lead_staff_id", sa.Integer(), nullable=True),
        sa.Column("lead_registration_id", sa.Integer(), nullable=True),
        sa.Column("lead_note", sa.String(length=120), nullable=False),
        sa.Column("tail_staff_id", sa.Integer(), nullable=True),
        sa.Column("tail_registration_id", sa.Integer(), nullable=True),
        sa.Column("tail_note", sa.String(length=120), nullable=False),
        sa.Column("numbers_fixed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("numbers_fixed_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "NOT (lead_staff_id IS NOT NULL AND lead_registration_id IS NOT NULL)",
            name=op.f("ck_trip_plans_one_lead"),
        ),
        sa.CheckConstraint(
            "NOT (tail_staff_id IS NOT NULL AND tail_registration_id IS NOT NULL)",
            name=op.f("ck_trip_plans_one_tail"),
        ),
        _fk("trip_plans", "event_id", "events"),
        _fk("trip_plans", "lead_staff_id", "users"),
        _fk("trip_plans", "lead_registration_id", "event_registrations"),
        _fk("trip_plans", "tail_staff_id", "users"),
        _fk("trip_plans", "tail_registration_id", "event_registrations"),
        _fk("trip_plans", "numbers_fixed_by_id", "users"),
        _fk("trip_plans", "updated_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trip_plans")),
        sa.UniqueConstraint("event_id", name=op.f("uq_trip_plans_event_id")),
    )
    op.create_table(
        "trip_stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.CheckConstraint("position > 0", name=op.f("ck_trip_stops_position_positive")),
        _fk("trip_stops", "event_id", "events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trip_stops")),
    )
    with op.batch_alter_table("trip_stops", schema=None) as batch_op:
        batch_op.create_index("ix_trip_stops_event_position", ["event_id", "position"])
    op.create_table(
        "trip_car_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("fixed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("number > 0", name=op.f("ck_trip_car_numbers_number_positive")),
        _fk("trip_car_numbers", "event_id", "events"),
        _fk("trip_car_numbers", "registration_id", "event_registrations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trip_car_numbers")),
        sa.UniqueConstraint("event_id", "number", name="uq_trip_car_numbers_event_number"),
        sa.UniqueConstraint("registration_id", name=op.f("uq_trip_car_numbers_registration_id")),
    )


def _draw_tables():
    op.create_table(
        "draw_prizes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("repeat_winners", sa.Boolean(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "quantity BETWEEN 1 AND 1000", name=op.f("ck_draw_prizes_quantity_range")
        ),
        _fk("draw_prizes", "event_id", "events"),
        _fk("draw_prizes", "created_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw_prizes")),
        sa.UniqueConstraint("event_id", "name", name="uq_draw_prizes_event_name"),
    )
    with op.batch_alter_table("draw_prizes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_draw_prizes_event_id"), ["event_id"])
    op.create_table(
        "prize_draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("prize_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("asked", sa.Integer(), nullable=False),
        sa.Column("eligible_count", sa.Integer(), nullable=False),
        sa.Column("eligible_ids", sa.JSON(), nullable=False),
        sa.Column("algorithm", sa.String(length=32), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drawn_by_id", sa.Integer(), nullable=True),
        _fk("prize_draws", "event_id", "events"),
        _fk("prize_draws", "prize_id", "draw_prizes"),
        _fk("prize_draws", "drawn_by_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prize_draws")),
        sa.UniqueConstraint("prize_id", "round", name="uq_prize_draws_prize_round"),
    )
    with op.batch_alter_table("prize_draws", schema=None) as batch_op:
        batch_op.create_index("ix_prize_draws_event_drawn", ["event_id", "drawn_at"])
    op.create_table(
        "draw_winners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("prize_id", sa.Integer(), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("absent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("absent_by_id", sa.Integer(), nullable=True),
        sa.Column("replaced_by_draw_id", sa.Integer(), nullable=True),
        _fk("draw_winners", "draw_id", "prize_draws"),
        _fk("draw_winners", "event_id", "events"),
        _fk("draw_winners", "prize_id", "draw_prizes"),
        _fk("draw_winners", "registration_id", "event_registrations"),
        _fk("draw_winners", "member_id", "members"),
        _fk("draw_winners", "absent_by_id", "users"),
        _fk("draw_winners", "replaced_by_draw_id", "prize_draws"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw_winners")),
        sa.UniqueConstraint(
            "prize_id", "registration_id", name="uq_draw_winners_prize_registration"
        ),
    )
    with op.batch_alter_table("draw_winners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_draw_winners_draw_id"), ["draw_id"])
        batch_op.create_index(batch_op.f("ix_draw_winners_member_id"), ["member_id"])
        batch_op.create_index(
            "ix_draw_winners_event_registration", ["event_id", "registration_id"]
        )


def upgrade():
    _trip_tables()
    _draw_tables()


def downgrade():
    op.drop_table("draw_winners")
    op.drop_table("prize_draws")
    op.drop_table("draw_prizes")
    op.drop_table("trip_car_numbers")
    op.drop_table("trip_stops")
    op.drop_table("trip_plans")
