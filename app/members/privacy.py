"""The owner's privacy rights (PIPL 个人信息保护法): download their data, delete their account.

Export. ``export_member_data`` gathers every record the club keeps about one owner into a JSON
document: each section a list, dates in ISO 8601, money in fen with a yuan string beside it,
states by their stored value. Secrets are never in it (password hash, SMS code hashes, session
keys, second factor), nor other people's data (staff are "staff", a referred friend's mobile is
masked).

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
from app.core.audit import AuditEntry, record_audit
from app.core.clock import utcnow
from app.core.identifiers import mask_mobile
from app.core.money import yuan
from app.extensions import db
from app.members.models import ChapterTransfer, Member, NameMismatch, TransferStatus, Vehicle

EXPORT_FORMAT = "carclub-member-data"
EXPORT_VERSION = 1

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


def _value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(obj, *, skip: tuple[str, ...] = (), **extra) -> dict[str, Any]:
    """A model row as JSON values: its columns less ``skip``, a ``*_yuan`` beside each
    ``*_fen``, plus ``extra``."""
    data: dict[str, Any] = {}
    for column in obj.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(obj, column.key)
        data[column.key] = _value(value)
        if column.key.endswith("_fen") and value is not None:
            data[column.key[: -len("_fen")] + "_yuan"] = yuan(value)
    data.update({k: _value(v) for k, v in extra.items()})
    return data


def _rows(model, *where, order=None, skip: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    query = select(model).where(*where).order_by(*(order or (model.id,)))
    return [_row(obj, skip=skip) for obj in db.session.scalars(query)]


def _profile(member: Member) -> dict[str, Any]:
    user = member.user
    return {
        "member_id": member.id,
        "name": member.name,
        "mobile": user.mobile,
        "mobile_verified_at": _value(user.mobile_verified_at),
        "birthday": _value(member.birthday),
        "gender": _value(member.gender),
        "occupation": member.occupation,
        "home_area": member.home_area,
        "hobbies": member.hobbies,
        "email": member.email,
        "language": user.locale,
        "dealer": {"code": member.dealer.code, "name": member.dealer.name},
        "created_at": _value(member.created_at),
        "joined_at": _value(member.joined_at),
        "last_login_at": _value(user.last_login_at),
    }


def _consents(member: Member) -> list[dict[str, Any]]:
    return [
        {
            "consent": "privacy_notice",
            "given": True,
            "version": member.privacy_version,
            "at": _value(member.privacy_accepted_at),
        },
        {
            "consent": "marketing",
            "given": member.marketing_opt_in,
            "at": _value(member.marketing_changed_at),
        },
        {"consent": "notify_email", "given": member.notify_email, "at": None},
        {"consent": "notify_sms", "given": member.notify_sms, "at": None},
    ]


def _points(member: Member) -> tuple[list, list]:
    from app.loyalty.models import PointsAccount, PointsEntry

    account = db.session.scalar(select(PointsAccount).where(PointsAccount.member_id == member.id))
    if account is None:
        return [], []
    ledger = _rows(
        PointsEntry,
        PointsEntry.account_id == account.id,
        order=(PointsEntry.created_at, PointsEntry.id),
        skip=("account_id", "idempotency_key", "actor_id"),
    )
    return [_row(account, skip=("member_id",))], ledger


def _registrations(member: Member) -> list[dict[str, Any]]:
    from app.events.models import EventRegistration

    rows = db.session.scalars(
        select(EventRegistration)
        .where(EventRegistration.member_id == member.id)
        .order_by(EventRegistration.id)
    )
    return [
        _row(
            r,
            skip=("member_id", "ticket_uuid"),
            event_title=r.event.title,
            event_starts_at=r.event.starts_at,
            event_place=r.event.place,
        )
        for r in rows
    ]


def _referrals(member: Member) -> list[dict[str, Any]]:
    from app.referrals.models import Referral

    rows = db.session.scalars(
        select(Referral).where(Referral.referrer_id == member.id).order_by(Referral.id)
    )
    return [
        {
            "id": r.id,
            "friend_name": r.friend_name,
            # The friend's number is their data: the owner who typed it sees it masked.
            "friend_mobile": mask_mobile(r.friend_mobile),
            "model_of_interest": r.model_of_interest,
            "status": _value(r.status),
            "registered_at": _value(r.registered_at),
            "visited_on": _value(r.visited_on),
            "purchased_at": _value(r.purchased_at),
            "decided_at": _value(r.decided_at),
            "rewarded_at": _value(r.rewarded_at),
        }
        for r in rows
    ]


def _messages(member: Member) -> list[dict[str, Any]]:
    from app.members.models import Notification, OutboxMessage

    inbox = [
        _row(n, skip=("member_id", "dedupe_key"), channel="in_app")
        for n in db.session.scalars(
            select(Notification)
            .where(Notification.member_id == member.id)
            .order_by(Notification.id)
        )
    ]
    outbox = [
        _row(
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
            "at": _value(e.at),
            "action": e.action,
            # Staff are named in the club's log, not in the owner's copy.
            "by": "you" if e.actor_id == user.id else ("staff" if e.actor_id else "system"),
            "subject": e.subject_type,
            "details": e.details,
        }
        for e in entries
    ]


def export_member_data(member: Member, *, now: datetime | None = None) -> dict[str, Any]:
    """Every record the club keeps about ``member``, as a JSON-serialisable dict."""
    from app.cards.models import MemberCard
    from app.events.models import LectureEvaluation, LectureQuestion
    from app.partners.models import PerkClaim
    from app.payments.models import Payment
    from app.rewards.models import Voucher
    from app.service.models import Appointment, ServiceVisit

    now = now or utcnow()
    mine = member.id
    account, ledger = _points(member)
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_VERSION,
        "generated_at": _value(now),
        "privacy_notice_version": current_app.config["PRIVACY_NOTICE_VERSION"],
        "profile": [_profile(member)],
        "consents": _consents(member),
        "vehicles": _rows(Vehicle, Vehicle.member_id == mine, skip=("member_id",)),
        "cards": _rows(MemberCard, MemberCard.member_id == mine, skip=("member_id",)),
        "points_account": account,
        "ledger": ledger,
        "vouchers": _rows(Voucher, Voucher.member_id == mine, skip=("member_id",)),
        "event_registrations": _registrations(member),
        "payments": _rows(
            Payment,
            Payment.member_id == mine,
            skip=("member_id", "checkout_session_id", "checkout_url", "payment_intent_id"),
        ),
        "lecture_evaluations": _rows(
            LectureEvaluation, LectureEvaluation.member_id == mine, skip=("member_id",)
        ),
        "lecture_questions": _rows(
            LectureQuestion, LectureQuestion.member_id == mine, skip=("member_id",)
        ),
        "service_visits": _rows(ServiceVisit, ServiceVisit.member_id == mine, skip=("member_id",)),
        "appointments": _rows(Appointment, Appointment.member_id == mine, skip=("member_id",)),
        "perk_claims": _rows(PerkClaim, PerkClaim.member_id == mine, skip=("member_id",)),
        "chapter_transfers": _rows(
            ChapterTransfer, ChapterTransfer.member_id == mine, skip=("member_id",)
        ),
        "referrals": _referrals(member),
        "messages": _messages(member),
        "audit": _audit(member),
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


def _withdraw_pending(member: Member, now: datetime) -> dict[str, int]:
    """Referrals not bought on yet, a transfer request and future appointments."""
    from app.members.services import cancel_transfer
    from app.referrals.models import Referral, ReferralStatus
    from app.referrals.services import withdraw_referral
    from app.service.appointments import AppointmentRefused, cancel_appointment
    from app.service.models import Appointment, AppointmentStatus

    pending = db.session.scalars(
        select(Referral.id).where(
            Referral.referrer_id == member.id,
            Referral.status.in_([ReferralStatus.REGISTERED, ReferralStatus.VISITED]),
        )
    ).all()
    for referral_id in pending:
        withdraw_referral(member, referral_id, now=now)
    transfers = 0
    if db.session.scalar(
        select(ChapterTransfer.id).where(
            ChapterTransfer.member_id == member.id,
            ChapterTransfer.status == TransferStatus.PENDING,
        )
    ):
        cancel_transfer(member, now=now)
        transfers = 1
    appointments = 0
    booked = db.session.scalars(
        select(Appointment.id).where(
            Appointment.member_id == member.id, Appointment.status == AppointmentStatus.BOOKED
        )
    ).all()
    for appointment_id in booked:
        try:
            cancel_appointment(member, appointment_id, now=now)
            appointments += 1
        except AppointmentRefused:
            continue  # begun already: the dealer closes it as kept or missed
    return {
        "referrals_withdrawn": len(pending),
        "transfers_cancelled": transfers,
        "appointments_cancelled": appointments,
    }


def delete_member_account(member: Member, *, now: datetime | None = None) -> dict[str, int]:
    """Delete the owner's account (PIPL): cancel what is open, settle points and payments,
    revoke card and sessions, erase personal data; audited. Returns what was done, in counts
    (all zero when the account was deleted before: deleting twice changes nothing more)."""
    from app.auth.services import close_user_account
    from app.cards.services import revoke_cards
    from app.care.tasks import close_tasks_of
    from app.events.closing import withdraw_member
    from app.loyalty.ledger import forfeit_points
    from app.loyalty.services import account_for
    from app.members.inbox import erase_messages
    from app.payments.services import refund_for_cancellation
    from app.rewards.services import cancel_open_vouchers

    now = now or utcnow()
    # Every change of this owner queues here; a second deletion then sees the first one.
    db.session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    user = db.session.get(User, member.user_id, populate_existing=True)
    done = dict.fromkeys(
        (
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
        ),
        0,
    )
    if user.deleted_at is not None:
        return done
    done["vouchers_cancelled"] = len(cancel_open_vouchers(member, now=now))
    registrations = withdraw_member(member, now=now)
    done["registrations_cancelled"] = len(registrations)
    done |= _withdraw_pending(member, now)
    done["cards_revoked"] = revoke_cards(member, now=now)
    account = account_for(member)
    if account is not None:
        done["points_forfeited"] = forfeit_points(
            account.id, reason="account deleted by its owner", now=now
        )
    # Refunds last among the money: Stripe's idempotency key makes a retry after a failure
    # later in this transaction refund once.
    done["payments_refunded"] = sum(
        refund_for_cancellation(r, now=now) is not None for r in registrations
    )
    done["messages_erased"] = erase_messages(member)
    close_tasks_of(member, now=now)
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
