"""The owner's privacy rights (PIPL 个人信息保护法): download their data, delete their account.

Export. ``export_member_data`` gathers every record the club keeps about one owner into a JSON
document: each section a list, dates in ISO 8601, money in fen with a yuan string beside it,
states by their stored value. Secrets are never in it (password hash, SMS code hashes, session
keys, second factor), nor other people's data (staff are "staff", a referred friend's mobile is
masked).

Both go through the signals in app/core/signals.py: each domain answers for its own records
(``member_export``; ``member_deleting``, ``member_forfeiting``, ``member_refunding``), so
members names none of the domains above it.

Deletion. ``delete_member_account`` closes the account in one transaction, through each
domain's services: open vouchers are cancelled (their points return), live event places and
waiting-list places are cancelled (deposits return, paid places are refunded), pending
referrals, chapter transfer and appointments are withdrawn, the card is revoked, every device
session ends; the remaining balance is then forfeited by one ledger entry, so the account stands
at 0 and its entries still sum to it. Personal data is erased or replaced by neutral markers;
what the books and the law need stays, without the person (see ``DELETION_KEEPS``).
"""

import enum
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from app.auth.models import User
from app.auth.services import close_user_account
from app.core.audit import AuditEntry, record_audit
from app.core.clock import utcnow
from app.core.money import yuan
from app.core.signals import member_deleting, member_export, member_forfeiting, member_refunding
from app.extensions import db
from app.members.inbox import erase_messages
from app.members.models import (
    ChapterTransfer,
    Member,
    NameMismatch,
    Notification,
    OutboxMessage,
    TransferStatus,
    Vehicle,
)
from app.members.services import cancel_transfer

EXPORT_FORMAT = "carclub-member-data"
EXPORT_VERSION = 1

# The export's sections, in the document's order; members fills its own, the other domains
# answer ``member_export`` with theirs.
SECTIONS = (
    "profile",
    "consents",
    "vehicles",
    "cards",
    "points_account",
    "ledger",
    "vouchers",
    "event_registrations",
    "payments",
    "lecture_evaluations",
    "lecture_questions",
    "event_invitations",
    "prize_wins",
    "service_visits",
    "appointments",
    "visit_surveys",
    "complaints",
    "perk_claims",
    "chapter_transfers",
    "referrals",
    "messages",
    "audit",
)

# What a deletion reports it did, in counts; the domains answering the deletion's signals
# report theirs under these names.
DELETION_COUNTS = (
    "vouchers_cancelled",
    "registrations_cancelled",
    "payments_refunded",
    "referrals_withdrawn",
    "transfers_cancelled",
    "appointments_cancelled",
    "cards_revoked",
    "sessions_ended",
    "points_forfeited",
    "messages_erased",
)

# Stored in place of a deleted owner's name; pages show ``display_name`` (translated).
DELETED_NAME = "[deleted]"

# What deletion keeps, and why (shown to the owner before they confirm, and in the README).
DELETION_KEEPS = (
    _l(
        "Your points ledger, without your name: its entries keep the club's books and the "
        "dealers' monthly settlement balanced."
    ),
    _l(
        "Service visits, payments and refunds, without your name: the dealer and the tax "
        "authority need them."
    ),
    _l(
        "Referrals you made and their checks, without your name: the law lets the club keep "
        "records that prevent fraud."
    ),
    _l("The audit log of what was done, which names no personal data of yours."),
)


def display_name(member: Member) -> str:
    """The member's name, or "Deleted owner" (in the reader's language) once deleted."""
    if member.name == DELETED_NAME:
        return str(_l("Deleted owner"))
    return member.name


def is_deleted(member: Member) -> bool:
    """True once the owner deleted their account."""
    return member.user.deleted_at is not None


# ---------------------------------------------------------------------------- export


def export_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def export_row(obj, *, skip: tuple[str, ...] = (), **extra) -> dict[str, Any]:
    """A model row as JSON values: its columns less ``skip``, a ``*_yuan`` beside each
    ``*_fen``, plus ``extra``."""
    data: dict[str, Any] = {}
    for column in obj.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(obj, column.key)
        data[column.key] = export_value(value)
        if column.key.endswith("_fen") and value is not None:
            data[column.key[: -len("_fen")] + "_yuan"] = yuan(value)
    data.update({k: export_value(v) for k, v in extra.items()})
    return data


def export_rows(model, *where, order=None, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    query = select(model).where(*where).order_by(*(order or (model.id,)))
    return [export_row(obj, skip=skip) for obj in db.session.scalars(query)]


def _profile(member: Member) -> dict[str, Any]:
    user = member.user
    return {
        "member_id": member.id,
        "name": member.name,
        "mobile": user.mobile,
        "mobile_verified_at": export_value(user.mobile_verified_at),
        "birthday": export_value(member.birthday),
        "gender": export_value(member.gender),
        "occupation": member.occupation,
        "home_area": member.home_area,
        "hobbies": member.hobbies,
        "email": member.email,
        "language": user.locale,
        "dealer": {"code": member.dealer.code, "name": member.dealer.name},
        "created_at": export_value(member.created_at),
        "joined_at": export_value(member.joined_at),
        "last_login_at": export_value(user.last_login_at),
    }


def _consents(member: Member) -> list[dict[str, Any]]:
    return [
        {
            "consent": "privacy_notice",
            "given": True,
            "version": member.privacy_version,
            "at": export_value(member.privacy_accepted_at),
        },
        {
            "consent": "marketing",
            "given": member.marketing_opt_in,
            "at": export_value(member.marketing_changed_at),
        },
        {"consent": "notify_email", "given": member.notify_email, "at": None},
        {"consent": "notify_sms", "given": member.notify_sms, "at": None},
    ]


def _messages(member: Member) -> list[dict[str, Any]]:
    inbox = [
        export_row(n, skip=("member_id", "dedupe_key"), channel="in_app")
        for n in db.session.scalars(
            select(Notification)
            .where(Notification.member_id == member.id)
            .order_by(Notification.id)
        )
    ]
    outbox = [
        export_row(
            m,
            skip=(
                "member_id",
                "dedupe_key",
                "attempts",
                "next_attempt_at",
                "last_error",
                "subject",
            ),
            title=m.subject,
        )
        for m in db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.member_id == member.id, OutboxMessage.channel != "in_app")
            .order_by(OutboxMessage.id)
        )
    ]
    return inbox + outbox


def _audit(member: Member) -> list[dict[str, Any]]:
    user = member.user
    subjects = [("User", user.id), ("Member", member.id)] + [
        ("Vehicle", v.id) for v in member.vehicles
    ]
    about = or_(
        AuditEntry.actor_id == user.id,
        *(
            (AuditEntry.subject_type == kind) & (AuditEntry.subject_id == ident)
            for kind, ident in subjects
        ),
    )
    entries = db.session.scalars(
        select(AuditEntry).where(about).order_by(AuditEntry.at, AuditEntry.id)
    )
    return [
        {
            "at": export_value(e.at),
            "action": e.action,
            # Staff are named in the club's log, not in the owner's copy.
            "by": "you" if e.actor_id == user.id else ("staff" if e.actor_id else "system"),
            "subject": e.subject_type,
            "details": e.details,
        }
        for e in entries
    ]


def export_member_data(member: Member, *, now: datetime | None = None) -> dict[str, Any]:
    """Every record the club keeps about ``member``, as a JSON-serialisable dict: members' own
    sections, and those of each domain answering ``member_export`` (app/core/signals.py)."""
    now = now or utcnow()
    mine = member.id
    sections = {
        "profile": [_profile(member)],
        "consents": _consents(member),
        "vehicles": export_rows(Vehicle, Vehicle.member_id == mine, skip=("member_id",)),
        "chapter_transfers": export_rows(
            ChapterTransfer, ChapterTransfer.member_id == mine, skip=("member_id",)
        ),
        "messages": _messages(member),
        "audit": _audit(member),
    }
    for _receiver, answer in member_export.send(member):
        sections.update(answer)
    if set(sections) != set(SECTIONS):
        differ = sorted(set(sections) ^ set(SECTIONS))
        raise RuntimeError(f"The export's sections differ from SECTIONS: {differ}")
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_VERSION,
        "generated_at": export_value(now),
        "privacy_notice_version": current_app.config["PRIVACY_NOTICE_VERSION"],
        **{name: sections[name] for name in SECTIONS},
    }


# ---------------------------------------------------------------------------- deletion


def _placeholder_vin(vehicle: Vehicle) -> str:
    """17 characters (the column's check), unique, and never a real VIN (no check digit)."""
    return f"DELETED{vehicle.id:010d}"


def _erase_profile(member: Member, now: datetime) -> None:
    member.name = DELETED_NAME
    member.user.name = DELETED_NAME
    member.birthday = None
    member.gender = None
    member.occupation = ""
    member.home_area = ""
    member.hobbies = ""
    member.email = None
    member.notify_email = False
    member.notify_sms = False
    if member.marketing_opt_in:
        member.marketing_opt_in = False
        member.marketing_changed_at = now
    # The cars stay for the service history, the settlements and the reports (model, colour,
    # dates); what identifies them goes, and the VIN is free for the car's next owner.
    for vehicle in member.vehicles:
        vehicle.plate = None
        vehicle.vin = _placeholder_vin(vehicle)
    db.session.execute(
        update(NameMismatch)
        .where(NameMismatch.member_id == member.id)
        .values(stored_name=DELETED_NAME, dms_name=DELETED_NAME)
    )
    db.session.flush()


def _cancel_transfer(member: Member, now: datetime) -> int:
    """The owner's pending chapter transfer, withdrawn: 1, or 0 when there was none."""
    if db.session.scalar(
        select(ChapterTransfer.id).where(
            ChapterTransfer.member_id == member.id,
            ChapterTransfer.status == TransferStatus.PENDING,
        )
    ):
        cancel_transfer(member, now=now)
        return 1
    return 0


def _answers(signal, member: Member, now: datetime) -> dict[str, int]:
    """The counts the receivers of one deletion step return, added up by name."""
    counts: dict[str, int] = {}
    for receiver, answer in signal.send(member, now=now):
        unknown = set(answer) - set(DELETION_COUNTS)
        if unknown:
            raise RuntimeError(f"{receiver.__module__} counts {sorted(unknown)} nobody reports")
        for name, count in answer.items():
            counts[name] = counts.get(name, 0) + count
    return counts


def delete_member_account(member: Member, *, now: datetime | None = None) -> dict[str, int]:
    """Delete the owner's account (PIPL): cancel what is open, settle points and payments,
    revoke card and sessions, erase personal data; audited. Returns what was done, in counts
    (all zero when the account was deleted before: deleting twice changes nothing more)."""
    now = now or utcnow()
    # Every change of this owner queues here; a second deletion then sees the first one.
    db.session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    user = db.session.get(User, member.user_id, populate_existing=True)
    done = dict.fromkeys(DELETION_COUNTS, 0)
    if user.deleted_at is not None:
        return done
    # What is open is cancelled first (vouchers and places give their points back), then the
    # balance left is forfeited, so the account stands at 0 and its entries still sum to it;
    # refunds come last among the money (see app/core/signals.py).
    done |= _answers(member_deleting, member, now)
    done["transfers_cancelled"] = _cancel_transfer(member, now)
    done |= _answers(member_forfeiting, member, now)
    done |= _answers(member_refunding, member, now)
    done["messages_erased"] = erase_messages(member)
    _erase_profile(member, now)
    done["sessions_ended"] = close_user_account(user, now=now)
    record_audit(
        user,
        "account.deleted",
        subject=member,
        dealer_id=member.dealer_id,
        details={"by": "owner", **done},
        now=now,
    )
    return done
