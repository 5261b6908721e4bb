"""Care reminders found by the daily job, care call tasks and their calls (R8)."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
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
    __table_args__ = (
        Index("ix_care_tasks_dealer_status_due", "dealer_id", "status", "due_on"),
        # Recall (issue 20): one open recall task per owner, which the daily job's set-based
        # insert relies on (ON CONFLICT DO NOTHING); the monthly recall report by kind and day.
        Index(
            "uq_care_tasks_open_recall",
            "member_id",
            unique=True,
            sqlite_where=text("kind = 'recall' AND status = 'open'"),
            postgresql_where=text("kind = 'recall' AND status = 'open'"),
        ),
        Index("ix_care_tasks_kind_due", "kind", "due_on"),
        Index("ix_care_tasks_vehicle_kind", "vehicle_id", "kind"),
    )

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
    # Recall tasks (app/care/recall.py): the seed's class (local_in, local_out, remote_in,
    # remote_out) and the day the car was last seen (its lost episode).
    recall_class: Mapped[str | None] = mapped_column(String(12))
    lost_since: Mapped[date | None]


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

# ------------------------------------------------------------------- recall (issue 20)


class LostReason(db.Model):
    """Why an owner does not come (流失原因, 未回厂原因): the managed list agents pick from.

    Group-wide reasons (``dealer_id`` None, HQ's) and a dealer's own; a reason in use is never
    deleted, only deactivated. ``needs_text``: the agent must write the reason out ("other");
    ``asks_workshop``: the agent asks which workshop the owner went to (seed 002: 店面名称、
    位置、相关费用)."""

    __tablename__ = "care_lost_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("dealers.id"), index=True)
    label_en: Mapped[str] = mapped_column(String(80))
    label_zh: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True)
    needs_text: Mapped[bool] = mapped_column(default=False)
    asks_workshop: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]

    def label(self, locale: str) -> str:
        """The reason in ``locale``."""
        return self.label_zh if str(locale).startswith("zh") else self.label_en


class CallOutcome(db.Model):
    """What a care call came to (issue 20): booked, will come, not coming (with the reason and,
    for another workshop, its name, place and price), not reached, number dead or wrong."""

    __tablename__ = "care_call_outcomes"
    __table_args__ = (
        CheckConstraint(
            "outcome IN ('booked', 'will_come', 'not_coming', 'not_reached', 'wrong_number')",
            name="outcome_values",
        ),
        CheckConstraint("workshop_price_fen >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("care_calls.id"), unique=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("care_tasks.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    reason_id: Mapped[int | None] = mapped_column(ForeignKey("care_lost_reasons.id"), index=True)
    reason_text: Mapped[str] = mapped_column(String(200), default="")
    workshop_name: Mapped[str] = mapped_column(String(120), default="")
    workshop_location: Mapped[str] = mapped_column(String(120), default="")
    workshop_price_fen: Mapped[int | None]
    # The call's local day: the won-back window counts from it.
    called_on: Mapped[date]


class ContactCorrection(db.Model):
    """An owner whose number a care call found dead or wrong (空号、错号): on the correction
    list until staff enter the right number or the owner proves one by SMS code."""

    __tablename__ = "care_contact_corrections"
    __table_args__ = (
        Index(
            "uq_care_contact_corrections_open",
            "member_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("care_tasks.id"))
    old_mobile: Mapped[str] = mapped_column(String(11))
    status: Mapped[str] = mapped_column(String(12), default="open")
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported_at: Mapped[datetime]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]


class LocalPlate(db.Model):
    """A plate prefix (粤B, 沪) that makes a car local (本地) for a dealer's recall classes."""

    __tablename__ = "care_local_plates"
    __table_args__ = (UniqueConstraint("dealer_id", "prefix", name="uq_care_local_plates_prefix"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    prefix: Mapped[str] = mapped_column(String(8))
