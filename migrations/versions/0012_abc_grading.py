"""ABC grading (seed 003): care standards per grade, owner gradings, care contacts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 07:19:25.229619

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "abc_care_standards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column(
            "grade", sa.Enum("A", "B", "C", name="ownergrade", native_enum=False), nullable=False
        ),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "interval_days BETWEEN 1 AND 365", name=op.f("ck_abc_care_standards_interval_range")
        ),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_abc_care_standards_dealer_id_dealers")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_abc_care_standards_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abc_care_standards")),
        sa.UniqueConstraint("dealer_id", "grade", name="uq_abc_care_standards_grade"),
    )
    op.create_table(
        "abc_care_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("contacted_on", sa.Date(), nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_abc_care_contacts_dealer_id_dealers")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_abc_care_contacts_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["users.id"], name=op.f("fk_abc_care_contacts_staff_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abc_care_contacts")),
    )
    with op.batch_alter_table("abc_care_contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_abc_care_contacts_member", ["member_id", "contacted_on"], unique=False
        )

    op.create_table(
        "abc_gradings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dealer_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column(
            "grade", sa.Enum("A", "B", "C", name="ownergrade", native_enum=False), nullable=False
        ),
        sa.Column("consultant_id", sa.Integer(), nullable=False),
        sa.Column("graded_by_id", sa.Integer(), nullable=False),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultant_id"], ["users.id"], name=op.f("fk_abc_gradings_consultant_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["dealer_id"], ["dealers.id"], name=op.f("fk_abc_gradings_dealer_id_dealers")
        ),
        sa.ForeignKeyConstraint(
            ["graded_by_id"], ["users.id"], name=op.f("fk_abc_gradings_graded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_abc_gradings_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abc_gradings")),
    )
    with op.batch_alter_table("abc_gradings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_abc_gradings_consultant_id"), ["consultant_id"], unique=False
        )
        batch_op.create_index(
            "ix_abc_gradings_dealer_member", ["dealer_id", "member_id", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_abc_gradings_member_id"), ["member_id"], unique=False)


def downgrade():
    with op.batch_alter_table("abc_gradings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_abc_gradings_member_id"))
        batch_op.drop_index("ix_abc_gradings_dealer_member")
        batch_op.drop_index(batch_op.f("ix_abc_gradings_consultant_id"))

    op.drop_table("abc_gradings")
    with op.batch_alter_table("abc_care_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_abc_care_contacts_member")

    op.drop_table("abc_care_contacts")
    op.drop_table("abc_care_standards")
