"""Care text templates: every save is a new version, never changed afterwards."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

GROUP_SCOPE = "group"


def scope_of(dealer_id: int | None) -> str:
    """The scope a dealer's texts are kept under ("group" for HQ's group-wide texts)."""
    return GROUP_SCOPE if dealer_id is None else f"dealer:{dealer_id}"


class TextVersion(db.Model):
    """One version of a care text of a kind in one language, for one dealer or group-wide.

    The newest version of a (scope, kind, language) is in force. ``inherits`` marks a version
    that hands the text back: the dealer's follow the group's again, the group's the built-in
    text. ``scope`` repeats the dealer as text ("group" or "dealer:<id>") so that the version
    number is unique per text on every database (a NULL dealer would not be)."""

    __tablename__ = "care_text_versions"
    __table_args__ = (
        UniqueConstraint("scope", "kind", "language", "version", name="uq_care_text_versions"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("language IN ('zh', 'en')", name="language_values"),
        Index("ix_care_text_versions_dealer", "dealer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(24))
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("dealers.id"))
    kind: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    inherits: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]

    created_by = relationship("User")
