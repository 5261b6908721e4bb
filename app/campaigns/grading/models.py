"""ABC grading of retained owners (seed 003): care standards per grade, gradings, contacts."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models import string_enum
from app.extensions import db


class OwnerGrade(StrEnum):
    """A retained owner's grade (保有客户分级 ABC, seed 003): A the most valuable."""

    A = "A"
    B = "B"
    C = "C"


class CareStandard(db.Model):
    """A dealer's care standard for one grade (客户服务标准, seed 003): how often the responsible
    consultant contacts an owner of the grade, and what the care is (birthday visit,
    invitations…). One row per dealer and grade; changes are audit-logged."""

    __tablename__ = "abc_care_standards"
    __table_args__ = (
        UniqueConstraint("dealer_id", "grade", name="uq_abc_care_standards_grade"),
        CheckConstraint("interval_days BETWEEN 1 AND 365", name="interval_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    grade: Mapped[OwnerGrade] = mapped_column(string_enum(OwnerGrade, 1))
    # Contact an owner of this grade at least every this many days (回访频次).
    interval_days: Mapped[int]
    description: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class OwnerGrading(db.Model):
    """An owner graded A/B/C at a dealer, by whom, why, and the consultant responsible for
    their care. Rows are never updated: a regrading appends one, the newest is in force."""

    __tablename__ = "abc_gradings"
    __table_args__ = (Index("ix_abc_gradings_dealer_member", "dealer_id", "member_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    grade: Mapped[OwnerGrade] = mapped_column(string_enum(OwnerGrade, 1))
    consultant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    graded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    graded_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200))

    consultant = relationship("User", foreign_keys=[consultant_id])
    graded_by = relationship("User", foreign_keys=[graded_by_id])


class CareContact(db.Model):
    """A care contact (回访) a consultant made with a graded owner: reached or not, a note.
    A reached contact restarts the owner's care interval."""

    __tablename__ = "abc_care_contacts"
    __table_args__ = (Index("ix_abc_care_contacts_member", "member_id", "contacted_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dealer_id: Mapped[int] = mapped_column(ForeignKey("dealers.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The local day of the contact (it may be logged a few days later).
    contacted_on: Mapped[date]
    reached: Mapped[bool]
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]

    staff = relationship("User")
