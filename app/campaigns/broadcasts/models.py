"""Broadcasts (seed 002: 节日祝福、特殊天气提醒等每月不得低于3次): a holiday greeting or a
special-weather warning a manager sends to the owners the campaign filters choose, at a set
time."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import string_enum
from app.core.states import StateMachine
from app.extensions import db


class BroadcastStatus(StrEnum):
    """draft → scheduled → sending → sent; a draft or a scheduled one may be cancelled, and a
    scheduled one taken back to a draft to change it."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


_B = BroadcastStatus
STATUS_LABELS = {
    _B.DRAFT: _l("Draft"),
    _B.SCHEDULED: _l("Scheduled"),
    _B.SENDING: _l("Sending"),
    _B.SENT: _l("Sent"),
    _B.CANCELLED: _l("Cancelled"),
}
# The sender moves scheduled → sending with a set-based UPDATE whose WHERE is
# ``sources(SENDING)``: one host takes each broadcast.
BROADCAST = StateMachine(
    BroadcastStatus,
    {
        _B.DRAFT: {_B.SCHEDULED, _B.CANCELLED},
        _B.SCHEDULED: {_B.DRAFT, _B.SENDING, _B.CANCELLED},
        _B.SENDING: {_B.SENT},
        _B.SENT: set(),
        _B.CANCELLED: set(),
    },
    name="broadcast",
    labels=STATUS_LABELS,
)


class Broadcast(db.Model):
    """A greeting or warning to the owners of one dealer that the filters choose: its words in
    Chinese and English (placeholders {name} and {dealer}), when it goes, and what it did."""

    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint("kind IN ('holiday_greeting', 'weather_warning')", name="kind_values"),
        CheckConstraint(
            "audience >= 0 AND queued >= 0 AND skipped_consent >= 0", name="counts_positive"
        ),
        Index("ix_broadcasts_status_send_at", "status", "send_at"),
        Index("ix_broadcasts_dealer_created", "dealer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    kind: Mapped[str] = mapped_column(String(24))
    title_zh: Mapped[str] = mapped_column(String(200))
    body_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(String(200))
    body_en: Mapped[str] = mapped_column(Text)
    # The campaign target filters (app/campaigns/calls/targeting.py TargetFilters.to_json).
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    send_at: Mapped[datetime]
    status: Mapped[BroadcastStatus] = mapped_column(
        string_enum(BroadcastStatus), default=BroadcastStatus.DRAFT
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    # Sending goes through the audience in member id order, a batch per transaction: the last
    # owner done, and the counts so far (owners chosen; queued; left out: no marketing consent).
    last_member_id: Mapped[int] = mapped_column(default=0)
    audience: Mapped[int] = mapped_column(default=0)
    queued: Mapped[int] = mapped_column(default=0)
    skipped_consent: Mapped[int] = mapped_column(default=0)

    created_by = relationship("User")
    dealer = relationship("Dealer")
