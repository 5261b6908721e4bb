"""Member cards."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import string_enum
from app.core.states import StateMachine
from app.extensions import db
from app.members.models import Member


class CardStatus(StrEnum):
    """A card is active until it is replaced by a reissue, or revoked when its owner deletes
    their account."""

    ACTIVE = "active"
    REPLACED = "replaced"
    REVOKED = "revoked"


CARD = StateMachine(
    CardStatus,
    {
        CardStatus.ACTIVE: {CardStatus.REPLACED, CardStatus.REVOKED},
        CardStatus.REPLACED: set(),
        CardStatus.REVOKED: set(),
    },
    name="card",
)


class MemberCard(db.Model):
    """A member card number. A reissue replaces the row with a new number."""

    __tablename__ = "member_cards"
    __table_args__ = (
        # At most one active card per member, enforced by the database.
        Index(
            "uq_member_cards_one_active",
            "member_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[CardStatus] = mapped_column(
        string_enum(CardStatus),
        default=CardStatus.ACTIVE,
    )
    issued_at: Mapped[datetime]
    replaced_at: Mapped[datetime | None]
    replace_reason: Mapped[str | None] = mapped_column(String(32))

    member: Mapped[Member] = relationship()


class CardDevice(db.Model):
    """A browser's own key (made on the phone, never leaving it) that signs the card's offline
    codes, certified by the club until ``expires_at``. See ``cards/devices.py``."""

    __tablename__ = "card_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("member_cards.id"), index=True)
    # base64url of the raw P-256 point (65 bytes: 0x04, x, y).
    public_key: Mapped[str] = mapped_column(String(88))
    certified_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # The newest code time a staff member accepted, and who: older codes are replays.
    last_code_at: Mapped[datetime | None]
    last_code_staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    card: Mapped[MemberCard] = relationship()
