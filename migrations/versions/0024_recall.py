"""Recall of lost owners, call outcomes with reasons, the contact correction list (issue 20)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-20 10:00:00

"""

import datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

OPEN_RECALL = "kind = 'recall' AND status = 'open'"
OPEN_CORRECTION = "status = 'open'"

# (code, English, Chinese, needs_text, asks_workshop): the reasons agents pick from at first
# (seed 002: 记录、分析流失原因; 其他店 ... 店面名称、位置、相关费用). Dealers and HQ edit the list.
DEFAULT_REASONS = [
    ("moved_away", "Moved away", "搬离本地", False, False),
    ("other_workshop", "Went to another workshop", "去了其他维修店", False, True),
    ("price", "Price", "价格原因", False, False),
    ("dissatisfied", "Dissatisfied with our service", "对服务不满意", False, False),
    ("sold_car", "Sold the car", "车辆已出售", False, False),
    ("scrapped", "Car scrapped or in an accident", "车辆报废或事故", False, False),
    ("too_busy", "Too busy", "工作太忙", False, False),
    ("other", "Other", "其他", True, False),
]


def upgrade():
    op.create_table(
        "care_lost_reasons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=True),
        sa.Column("label_en", sa.String(length=80), nullable=False),
        sa.Column("label_zh", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("needs_text", sa.Boolean(), nullable=False),
        sa.Column("asks_workshop", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_care_lost_reasons_dealer_id_dealers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_lost_reasons")),
        sa.UniqueConstraint("code", name=op.f("uq_care_lost_reasons_code")),
    )
    with op.batch_alter_table("care_lost_reasons", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_lost_reasons_dealer_id"), ["dealer_id"], unique=False
        )
    now = datetime.datetime(2026, 12, 20, tzinfo=datetime.timezone.utc)
    op.bulk_insert(
        sa.table(
            "care_lost_reasons",
            sa.column("code", sa.String),
            sa.column("dealer_id", sa.Integer),
            sa.column("label_en", sa.String),
            sa.column("label_zh", sa.String),
            sa.column("position", sa.Integer),
            sa.column("active", sa.Boolean),
            sa.column("needs_text", sa.Boolean),
            sa.column("asks_workshop", sa.Boolean),
            sa.column("created_at", sa.DateTime(timezone=True)),
        ),
        [
            {
                "code": code,
                "dealer_id": None,
                "label_en": en,
                "label_zh": zh,
                "position": (n + 1) * 10,
                "active": True,
                "needs_text": needs_text,
                "asks_workshop": asks_workshop,
                "created_at": now,
            }
            for n, (code, en, zh, needs_text, asks_workshop) in enumerate(DEFAULT_REASONS)
        ],
    )

    op.create_table(
        "care_call_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason_id", sa.Integer(), nullable=True),
        sa.Column("reason_text", sa.String(length=200), nullable=False),
        sa.Column("workshop_name", sa.String(length=120), nullable=False),
        sa.Column("workshop_location", sa.String(length=120), nullable=False),
        sa.Column("workshop_price_fen", sa.Integer(), nullable=True),
        sa.Column("called_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('booked', 'will_come', 'not_coming', 'not_reached', 'wrong_number')",
            name=op.f("ck_care_call_outcomes_outcome_values"),
        ),
        sa.CheckConstraint(
            "workshop_price_fen >= 0", name=op.f("ck_care_call_outcomes_price_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["care_calls.id"], name=op.f("fk_care_call_outcomes_call_id_care_calls")
        ),
        sa.ForeignKeyConstraint(
            ["reason_id"],
            ["care_lost_reasons.id"],
            name=op.f("fk_care_call_outcomes_reason_id_care_lost_reasons"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["care_tasks.id"], name=op.f("fk_care_call_outcomes_task_id_care_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_call_outcomes")),
        sa.UniqueConstraint("call_id", name=op.f("uq_care_call_outcomes_call_id")),
    )
    with op.batch_alter_table("care_call_outcomes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_call_outcomes_reason_id"), ["reason_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_care_call_outcomes_task_id"), ["task_id"], unique=False)

    op.create_table(
        "care_contact_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("old_mobile", sa.String(length=11), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_care_contact_corrections_member_id_members"),
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"],
            ["users.id"],
            name=op.f("fk_care_contact_corrections_reported_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["users.id"],
            name=op.f("fk_care_contact_corrections_resolved_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["care_tasks.id"],
            name=op.f("fk_care_contact_corrections_task_id_care_tasks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_contact_corrections")),
    )
    with op.batch_alter_table("care_contact_corrections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_contact_corrections_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            "uq_care_contact_corrections_open",
            ["member_id"],
            unique=True,
            sqlite_where=sa.text(OPEN_CORRECTION),
            postgresql_where=sa.text(OPEN_CORRECTION),
        )

    op.create_table(
        "care_local_plates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_care_local_plates_dealer_id_dealers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_local_plates")),
        sa.UniqueConstraint("dealer_id", "prefix", name="uq_care_local_plates_prefix"),
    )

    with op.batch_alter_table("care_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recall_class", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("lost_since", sa.Date(), nullable=True))
        batch_op.create_index(
            "uq_care_tasks_open_recall",
            ["member_id"],
            unique=True,
            sqlite_where=sa.text(OPEN_RECALL),
            postgresql_where=sa.text(OPEN_RECALL),
        )
        batch_op.create_index("ix_care_tasks_kind_due", ["kind", "due_on"], unique=False)
        batch_op.create_index(
            "ix_care_tasks_vehicle_kind", ["vehicle_id", "kind"], unique=False
        )


def downgrade():
    with op.batch_alter_table("care_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_care_tasks_vehicle_kind")
        batch_op.drop_index("ix_care_tasks_kind_due")
        batch_op.drop_index(
            "uq_care_tasks_open_recall",
            sqlite_where=sa.text(OPEN_RECALL),
            postgresql_where=sa.text(OPEN_RECALL),
        )
        batch_op.drop_column("lost_since")
        batch_op.drop_column("recall_class")
    op.drop_table("care_local_plates")
    with op.batch_alter_table("care_contact_corrections", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_care_contact_corrections_open",
            sqlite_where=sa.text(OPEN_CORRECTION),
            postgresql_where=sa.text(OPEN_CORRECTION),
        )
        batch_op.drop_index(batch_op.f("ix_care_contact_corrections_member_id"))
    op.drop_table("care_contact_corrections")
    with op.batch_alter_table("care_call_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_call_outcomes_task_id"))
        batch_op.drop_index(batch_op.f("ix_care_call_outcomes_reason_id"))
    op.drop_table("care_call_outcomes")
    with op.batch_alter_table("care_lost_reasons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_lost_reasons_dealer_id"))
    op.drop_table("care_lost_reasons")
