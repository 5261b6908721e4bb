"""The C3 thresholds (seed 000): the newest row is in force; rows are never updated."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class SegmentThresholds(db.Model):
    """The C3 thresholds from ``created_at`` on; the newest row is in force. Rows are never
    updated, so the history of every change stays (the audit log names who made it)."""

    __tablename__ = "c3_thresholds"
    __table_args__ = (
        CheckConstraint("period_months BETWEEN 1 AND 36", name="period_range"),
        CheckConstraint("maintenance_visits >= 1", name="visits_positive"),
        CheckConstraint("spend_fen >= 1", name="spend_positive"),
        CheckConstraint("repair_ratio_pct BETWEEN 1 AND 100", name="ratio_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The period an owner is classified over, and the previous one of equal length.
    period_months: Mapped[int]
    # High maintenance: at least this many maintenance visits in the period.
    maintenance_visits: Mapped[int]
    # High value: at least this much paid (fen) in the period.
    spend_fen: Mapped[int]
    # High repair ratio: at least this percentage of the period's visits were repairs.
    repair_ratio_pct: Mapped[int]
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
