"""Prize draws at an event (issue 21): the prizes, each draw of one, and its winners.

A prize carries a random seed from the moment it is defined; its SHA-256 (the commitment) is
shown on the staff and live pages before anything is drawn, and the seed itself once the event
is over, so anyone can re-run each recorded draw (app/events/draws.py: ``pick``).
"""

from datetime import datetime
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import string_enum
from app.core.states import StateMachine
from app.events.models import EventRegistration
from app.extensions import db


class DrawPrize(db.Model):
    """A prize of the event's draw: how many of it there are, and who may win it."""

    __tablename__ = "draw_prizes"
    __table_args__ = (
        UniqueConstraint("event_id", "name", name="uq_draw_prizes_event_name"),
        CheckConstraint("quantity BETWEEN 1 AND 1000", name="quantity_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    quantity: Mapped[int]
    # One prize per person unless this prize is open to attendees who already won another.
    repeat_winners: Mapped[bool] = mapped_column(default=False)
    seed: Mapped[str] = mapped_column(String(64))  # 32 random bytes, hex
    commitment: Mapped[str] = mapped_column(String(64))  # sha256 of the seed's bytes, hex
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PrizeDraw(db.Model):
    """One draw of a prize (``round`` 1, 2... of that prize): whom it drew from, with what."""

    __tablename__ = "prize_draws"
    __table_args__ = (
        # A double tap (or two phones) asking for the same round draws once.
        UniqueConstraint("prize_id", "round", name="uq_prize_draws_prize_round"),
        Index("ix_prize_draws_event_drawn", "event_id", "drawn_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    prize_id: Mapped[int] = mapped_column(ForeignKey("draw_prizes.id"))
    round: Mapped[int]
    # "draw", or "redraw" when a winner was absent (the winner's row names this draw).
    kind: Mapped[str] = mapped_column(String(8), default="draw")
    asked: Mapped[int]  # how many winners were asked for
    eligible_count: Mapped[int]
    eligible_ids: Mapped[list] = mapped_column(JSON)  # registration ids, ascending
    algorithm: Mapped[str] = mapped_column(String(32))
    drawn_at: Mapped[datetime]
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    prize: Mapped[DrawPrize] = relationship()


class WinnerStatus(StrEnum):
    """A winner collects the prize, or was not there when called and it was drawn again."""

    WON = "won"
    ABSENT = "absent"


WINNER = StateMachine(
    WinnerStatus,
    {WinnerStatus.WON: {WinnerStatus.ABSENT}, WinnerStatus.ABSENT: set()},
    name="prize winner",
    labels={WinnerStatus.WON: _l("Won"), WinnerStatus.ABSENT: _l("Absent")},
)


class DrawWinner(db.Model):
    """An attendee drawn for a prize, in the order the draw picked them."""

    __tablename__ = "draw_winners"
    __table_args__ = (
        # Nobody is drawn twice for one prize (an absent winner is not drawn again for it).
        UniqueConstraint("prize_id", "registration_id", name="uq_draw_winners_prize_registration"),
        Index("ix_draw_winners_event_registration", "event_id", "registration_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("prize_draws.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    prize_id: Mapped[int] = mapped_column(ForeignKey("draw_prizes.id"))
    registration_id: Mapped[int] = mapped_column(ForeignKey("event_registrations.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    rank: Mapped[int]  # 1 for the first picked in its draw
    status: Mapped[WinnerStatus] = mapped_column(string_enum(WinnerStatus))
    absent_at: Mapped[datetime | None]
    absent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    replaced_by_draw_id: Mapped[int | None] = mapped_column(ForeignKey("prize_draws.id"))

    draw: Mapped[PrizeDraw] = relationship(foreign_keys=[draw_id])
    prize: Mapped[DrawPrize] = relationship()
    registration: Mapped[EventRegistration] = relationship()
