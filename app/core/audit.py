"""The audit log: who changed what, when. Staff changes and refused scans land here."""

import enum
from datetime import date, datetime
from typing import Any

from flask import g, has_request_context
from sqlalchemy import JSON, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.extensions import db


class AuditEntry(db.Model):
    """One audited action. Never updated, never deleted."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_dealer_at", "dealer_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None]
    dealer_id: Mapped[int | None] = mapped_column(ForeignKey("dealers.id"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor = relationship("User", lazy="joined")


def plain(value):
    """A value as the audit log's JSON keeps it (enums by value, dates as ISO strings)."""
    if isinstance(value, enum.Enum):
        return value.value
    return value.isoformat() if isinstance(value, date) else value


def apply_changes(row, values: dict[str, Any]) -> dict[str, list]:
    """Set ``values`` on ``row``; returns ``{field: [old, new]}`` of what really changed."""
    changes = {
        k: [plain(getattr(row, k)), plain(v)] for k, v in values.items() if getattr(row, k) != v
    }
    for key, value in values.items():
        setattr(row, key, value)
    return changes


def record_audit(
    actor,
    action: str,
    *,
    subject=None,
    dealer_id: int | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
    durable: bool = False,
) -> AuditEntry:
    """Append an audit entry for ``action`` by ``actor`` (a user or None) on ``subject``.

    A ``durable`` entry (a refused scan, a forged token) is kept even when the request fails
    and rolls back: during a request it is written after the request's own transaction ends.
    """
    entry = AuditEntry(
        at=now or utcnow(),
        actor_id=getattr(actor, "id", None),
        action=action,
        subject_type=type(subject).__name__ if subject is not None else None,
        subject_id=getattr(subject, "id", None),
        dealer_id=dealer_id,
        details=details or {},
    )
    if durable and has_request_context() and g.get("collect_durable_audit"):
        g.setdefault("durable_audit", []).append(entry)
        return entry
    db.session.add(entry)
    db.session.flush()
    return entry


def write_durable_audit() -> None:
    """Write the request's durable entries in a transaction of their own (request teardown)."""
    pending = g.pop("durable_audit", [])
    if pending:
        db.session.add_all(pending)
        db.session.commit()


def audit_query(*, dealer_id: int | None = None, subject=None):
    """Entries newest first, optionally for one dealer or one subject."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if dealer_id is not None:
        query = query.where(AuditEntry.dealer_id == dealer_id)
    if subject is not None:
        query = query.where(
            AuditEntry.subject_type == type(subject).__name__,
            AuditEntry.subject_id == subject.id,
        )
    return query
