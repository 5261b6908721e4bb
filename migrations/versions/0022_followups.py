"""After every visit (issue 20): the questionnaire, complaint cases and their notes; the
after-visit callback on care tasks (its visit and deadline) and whether the owner was satisfied

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-14 09:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "complaint_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column(
            "source",
            sa.Enum("survey", "callback", "owner", name="casesource", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("key", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "in_progress",
                "resolved",
                "confirmed",
                "reopened",
                "withdrawn",
                name="casestatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopened_count", sa.Integer(), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_to_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "reopened_count >= 0", name=op.f("ck_complaint_cases_reopened_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_complaint_cases_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_complaint_cases_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_complaint_cases_dealer_id_dealers")
        ),
        sa.ForeignKeyConstraint(
            ["escalated_to_id"], ["users.id"], name=op.f("fk_complaint_cases_escalated_to_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_complaint_cases_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["users.id"], name=op.f("fk_complaint_cases_resolved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["service_visits.id"],
            name=op.f("fk_complaint_cases_visit_id_service_visits"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_cases")),
        sa.UniqueConstraint("key", name=op.f("uq_complaint_cases_key")),
    )
    with op.batch_alter_table("complaint_cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_complaint_cases_dealer_status_deadline",
            ["dealer_id", "status", "deadline_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_complaint_cases_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_complaint_cases_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "visit_surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("advisor_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "answered",
                "cancelled",
                name="surveystatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("advisor_rating", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "advisor_rating IS NULL OR (advisor_rating >= 1 AND advisor_rating <= 5)",
            name=op.f("ck_visit_surveys_advisor_rating_range"),
        ),
        sa.CheckConstraint(
            "score IS NULL OR (score >= 0 AND score <= 10)",
            name=op.f("ck_visit_surveys_score_range"),
        ),
        sa.ForeignKeyConstraint(
            ["advisor_id"], ["users.id"], name=op.f("fk_visit_surveys_advisor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_visit_surveys_dealer_id_dealers")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_visit_surveys_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["service_visits.id"],
            name=op.f("fk_visit_surveys_visit_id_service_visits"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_surveys")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_visit_surveys_visit_id")),
    )
    with op.batch_alter_table("visit_surveys", schema=None) as batch_op:
        batch_op.create_index(
            "ix_visit_surveys_dealer_created", ["dealer_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_visit_surveys_member_id"), ["member_id"], unique=False)

    op.create_table(
        "complaint_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("from_owner", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_complaint_notes_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["complaint_cases.id"],
            name=op.f("fk_complaint_notes_case_id_complaint_cases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_notes")),
    )
    with op.batch_alter_table("complaint_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_notes_case_id"), ["case_id"], unique=False)

    with op.batch_alter_table("care_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("satisfied", sa.Boolean(), nullable=True))

    with op.batch_alter_table("care_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_care_tasks_visit_id"), ["visit_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_care_tasks_visit_id_service_visits"),
            "service_visits",
            ["visit_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("care_tasks", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_care_tasks_visit_id_service_visits"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_care_tasks_visit_id"), type_="unique")
        batch_op.drop_column("deadline_at")
        batch_op.drop_column("visit_id")

    with op.batch_alter_table("care_calls", schema=None) as batch_op:
        batch_op.drop_column("satisfied")

    with op.batch_alter_table("complaint_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_notes_case_id"))

    op.drop_table("complaint_notes")
    with op.batch_alter_table("visit_surveys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_surveys_member_id"))
        batch_op.drop_index("ix_visit_surveys_dealer_created")

    op.drop_table("visit_surveys")
    with op.batch_alter_table("complaint_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_cases_visit_id"))
        batch_op.drop_index(batch_op.f("ix_complaint_cases_member_id"))
        batch_op.drop_index("ix_complaint_cases_dealer_status_deadline")

    op.drop_table("complaint_cases")
