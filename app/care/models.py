"""Care reminders found by the daily job, care call tasks and their calls (R8)."""

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

# app/campaigns and its tests still import the message models from here (they moved to
# app/members/models.py, issue 17) until its rooms slice lands; then this line goes.


class CareReminder(db.Model):
    """A care moment found by the daily job (R8): created once per member/car, kind and date."""

    __tablename__ = "care_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    kind: Mapped[str] = mapped_column(String(32))
    due_on: Mapped[date] = mapped_column(index=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]


class CareTask(db.Model):
    """An owner for a care agent to call (first maintenance, lost customers...)."""

    __tablename__ = "care_tasks"
    __table_args__ = (Index("ix_care_tasks_dealer_status_due", "dealer_id", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id"))
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("care_reminders.id"), unique=True)
    # The after-visit callback (kind "visit_followup"): one per visit, to make by ``deadline_at``
    # (48 hours after the visit was recorded, seed 002); other kinds have no deadline.
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("service_visits.id"), unique=True)
    deadline_at: Mapped[datetime | None]
    kind: Mapped[str] = mapped_column(String(32))
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(12), default="open")  # reached, sms_sent, closed
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class CareCall(db.Model):
    """One call of a care task: reached or not, when, by whom."""

    __tablename__ = "care_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("care_tasks.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    called_at: Mapped[datetime]
    reached: Mapped[bool]
    note: Mapped[str] = mapped_column(String(500), default="")
    # An after-visit callback that reached the owner: were they satisfied (None otherwise).
    satisfied: Mapped[bool | None]


# The after-visit questionnaire and complaint cases live in their room, app/care/followups/.
from app.care.followups.models import ComplaintCase, ComplaintNote, VisitSurvey  # noqa: E402, F401
