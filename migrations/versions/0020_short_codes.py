"""Short ticket codes: a code of 8 characters per registration, typed at the gate (issue 18)

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-12 10:00:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# As app/core/identifiers.py: CODE_ALPHABET (copied: a migration does not import the app).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def upgrade():
    with op.batch_alter_table("event_registrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ticket_code", sa.String(length=8), nullable=True))
    registrations = sa.table(
        "event_registrations",
        sa.column("id", sa.Integer),
        sa.column("event_id", sa.Integer),
        sa.column("ticket_code", sa.String),
    )
    connection = op.get_bind()
    taken: dict[int, set[str]] = {}
    rows = connection.execute(sa.select(registrations.c.id, registrations.c.event_id)).all()
    for registration_id, event_id in rows:
        used = taken.setdefault(event_id, set())
        code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        while code in used:
            code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        used.add(code)
        connection.execute(
            registrations.update()
            .where(registrations.c.id == registration_id)
            .values(ticket_code=code)
        )
    with op.batch_alter_table("event_registrations", schema=None) as batch_op:
        batch_op.alter_column("ticket_code", existing_type=sa.String(length=8), nullable=False)
        batch_op.create_unique_constraint(
            "uq_event_registrations_event_code", ["event_id", "ticket_code"]
        )


def downgrade():
    with op.batch_alter_table("event_registrations", schema=None) as batch_op:
        batch_op.drop_constraint("uq_event_registrations_event_code", type_="unique")
        batch_op.drop_column("ticket_code")
