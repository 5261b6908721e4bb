"""Issuing and reissuing member cards, their rotating QR tokens, and checking a scanned card."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select

from app.auth.models import User
from app.cards import devices
from app.cards.models import CARD, CardStatus, MemberCard
from app.core.audit import record_audit
from app.core.clock import utcnow
from app.core.errors import NotFound, ValidationFailed
from app.core.identifiers import is_valid_luhn, luhn_check_digit
from app.core.permissions import Role
from app.core.tokens import PREFIX, TokenError, signer
from app.extensions import db
from app.loyalty.figures import account_figures, figures_as_of
from app.loyalty.ledger import expire_account
from app.loyalty.models import PointsAccount
from app.members.inbox import unread_messages
from app.members.models import Member

# Card numbers: "8" + 14 random digits + Luhn check digit.
CARD_PREFIX = "8"
REISSUE_REASONS = ("lost", "damaged", "stolen")


def new_card_number() -> str:
    """A fresh 16-digit card number with a Luhn check digit, not used before."""
    while True:
        payload = CARD_PREFIX + "".join(str(secrets.randbelow(10)) for _ in range(14))
        number = payload + luhn_check_digit(payload)
        if db.session.scalar(select(MemberCard.id).where(MemberCard.number == number)) is None:
            return number


def format_card_number(number: str) -> str:
    """8123 4567 8901 2345: how a card number is printed."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def issue_card(member: Member, *, now: datetime | None = None) -> MemberCard:
    """Issue the member's first card."""
    card = MemberCard(member=member, number=new_card_number(), issued_at=now or utcnow())
    db.session.add(card)
    db.session.flush()
    return card


def active_card(member: Member) -> MemberCard | None:
    """The member's card in use."""
    return db.session.scalar(
        select(MemberCard).where(
            MemberCard.member_id == member.id, MemberCard.status == CardStatus.ACTIVE
        )
    )


def card_history(member: Member) -> list[MemberCard]:
    """Every card the member held, newest first."""
    return list(
        db.session.scalars(
            select(MemberCard)
            .where(MemberCard.member_id == member.id)
            .order_by(MemberCard.issued_at.desc(), MemberCard.id.desc())
        )
    )


def reissue_card(
    actor: User, member: Member, *, reason: str, now: datetime | None = None
) -> MemberCard:
    """Replace the member's card: the old number and every token of it stop working at once."""
    now = now or utcnow()
    if reason not in REISSUE_REASONS:
        raise ValidationFailed(_l("Choose why the card is replaced."), field="reason")
    # Lock the member row: concurrent reissues queue here, and each then sees the card the
    # previous one issued (locking the card row would let a waiter skip the replaced row).
    db.session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    old = active_card(member)
    if old is not None:
        CARD.move(old, CardStatus.REPLACED)
        old.replaced_at = now
        old.replace_reason = reason
        devices.revoke_devices(old, now=now)
        # The old row must leave the one-active-card index before the new one enters it.
        db.session.flush()
    card = issue_card(member, now=now)
    record_audit(
        actor,
        "card.reissued",
        subject=member,
        dealer_id=member.dealer_id,
        details={"reason": reason, "old_card_id": old.id if old else None, "new_card_id": card.id},
        now=now,
    )
    return card


def revoke_cards(member: Member, *, now: datetime | None = None) -> int:
    """Stop the member's card for good (their account is being deleted): its number and every
    QR token of it are refused at once, and no new card is issued. Returns how many were
    revoked (0 when none was in use)."""
    now = now or utcnow()
    db.session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    card = active_card(member)
    if card is None:
        return 0
    CARD.move(card, CardStatus.REVOKED)
    card.replaced_at = now
    card.replace_reason = "account_deleted"
    devices.revoke_devices(card, now=now)
    db.session.flush()
    return 1


@dataclass(frozen=True)
class CardToken:
    """A QR token for a card and when it stops being accepted."""

    token: str
    expires_at: datetime
    issued_at: datetime | None = None


def card_token(card: MemberCard, *, now: datetime | None = None) -> CardToken:
    """A fresh, short-lived signed token for the card's QR code."""
    now = now or utcnow()
    ttl = current_app.config["CARD_TOKEN_TTL_SECONDS"]
    token = signer().sign("card", card.id, now=now)
    return CardToken(token, now + timedelta(seconds=ttl), now)


# The tokens this process showed lately, by card: at most this many are kept.
_SHOWN_CARDS = 20_000


def shown_card_token(card: MemberCard, *, now: datetime | None = None) -> CardToken:
    """The token the card page shows: the one this process issued for the card less than
    CARD_TOKEN_REUSE_SECONDS ago, else a fresh one. An owner reopening the card at a busy
    counter gets the same QR (drawn once, see ``core.qr``) and still at least TTL − reuse
    seconds of validity; a reissued card never shows its old card's token."""
    now = now or utcnow()
    reuse = timedelta(seconds=current_app.config["CARD_TOKEN_REUSE_SECONDS"])
    shown = current_app.extensions.setdefault("shown_card_tokens", {})
    kept = shown.get(card.id)
    if kept is not None and kept.issued_at <= now < kept.issued_at + reuse:
        return kept
    fresh = card_token(card, now=now)
    if reuse:
        if len(shown) >= _SHOWN_CARDS:
            shown.clear()
        shown[card.id] = fresh
    return fresh


REFUSAL_MESSAGES = {
    "malformed": _l("This is not a club card code. Scan the QR again or type the card number."),
    "forged": _l("Forged code: its signature does not match. Do not accept this card."),
    "expired": _l("Expired code: ask the owner to reopen the card page for a fresh QR."),
    "wrong_kind": _l("This QR belongs to a ticket or voucher, not a member card."),
    "unknown_card": _l("No card has this number."),
    "bad_check_digit": _l("This card number's check digit is wrong: check for a typo."),
    "reissued": _l("This card was replaced and no longer works. Ask for the current card."),
    "revoked": _l("This card was closed: its owner left the club. Do not accept it."),
    "other_dealer": _l("This owner belongs to another dealer's chapter."),
    "stale_code": _l(
        "This code is old (or the phone's clock is wrong): ask the owner to show the live card."
    ),
    "replayed": _l("This code was already shown: ask the owner to show the live card's next code."),
    "device_expired": _l(
        "This phone's card has not been online for too long: ask the owner to open the card "
        "once with signal, or type the card number."
    ),
    "device_revoked": _l(
        "This phone's card was signed out or replaced: ask the owner to open the card with signal."
    ),
}


@dataclass(frozen=True)
class CardCheck:
    """The outcome of checking a scanned card: the member, or why the card is refused."""

    accepted: bool
    reason: str | None = None
    member: Member | None = None
    card: MemberCard | None = None

    @property
    def message(self) -> str:
        """The refusal message for the staff member, in their language."""
        return str(REFUSAL_MESSAGES[self.reason]) if self.reason else ""


def _lookup(
    text: str, now: datetime
) -> tuple[str | None, MemberCard | None, devices.DeviceCode | None]:
    if text.startswith(devices.CODE_PREFIX):
        try:
            code = devices.read_code(text, now=now)
        except TokenError as err:
            return err.reason, None, None
        card = db.session.scalar(select(MemberCard).where(MemberCard.number == code.card_number))
        return (None, card, code) if card is not None else ("forged", None, None)
    reason, card = _lookup_card(text, now)
    return reason, card, None


def _lookup_card(text: str, now: datetime) -> tuple[str | None, MemberCard | None]:
    if text.startswith(PREFIX):
        try:
            claims = signer().verify(
                text, kind="card", now=now, max_age=current_app.config["CARD_TOKEN_TTL_SECONDS"]
            )
        except TokenError as err:
            return err.reason, None
        card = db.session.get(MemberCard, claims.subject_id)
        return (None, card) if card is not None else ("forged", None)
    number = "".join(ch for ch in text if ch.isdigit())
    if len(number) != 16 or len(number) < len(text.replace(" ", "")):
        return "malformed", None
    if not is_valid_luhn(number):
        return "bad_check_digit", None
    card = db.session.scalar(select(MemberCard).where(MemberCard.number == number))
    return (None, card) if card is not None else ("unknown_card", None)


def check_card(actor: User, text: str, *, now: datetime | None = None) -> CardCheck:
    """Check a scanned QR text (a ``CC1.`` token or a phone's ``CC2.`` code) or typed card
    number; every refusal is audit-logged."""
    now = now or utcnow()
    text = (text or "").strip()
    reason, card, code = _lookup(text, now)
    if card is not None and card.status != CardStatus.ACTIVE:
        reason = "revoked" if card.status == CardStatus.REVOKED else "reissued"
    if (
        card is not None
        and reason is None
        and actor.role != Role.HQ_ADMIN
        and card.member.dealer_id != actor.dealer_id
    ):
        reason = "other_dealer"
    if code is not None and reason is None:
        # Last: only a code accepted in every other way counts as shown.
        reason = devices.accept_code(actor, code, card)
    if reason is not None:
        record_audit(
            actor,
            "card.refused",
            subject=card,
            dealer_id=actor.dealer_id,
            details={"reason": reason},
            now=now,
            durable=True,
        )
        return CardCheck(False, reason, card=card)
    record_audit(actor, "card.scanned", subject=card, dealer_id=card.member.dealer_id, now=now)
    return CardCheck(True, member=card.member, card=card)


def offline_check_settings() -> dict:
    """What a staff phone needs to check the live card's codes without signal: the club's
    public keys, the time window, and the refusal messages in the staff member's language."""
    return {
        "keys": signer().public_keys(),
        "window_seconds": current_app.config["CARD_CODE_WINDOW_SECONDS"],
        "messages": {reason: str(text) for reason, text in REFUSAL_MESSAGES.items()},
    }


@dataclass(frozen=True)
class CardPage:
    """What the owner's card page shows: the active card (``id``, ``number``), the points as
    of today, those expiring within 60 days, and the unread messages (the layout's badge)."""

    id: int
    number: str
    balance: int
    tier_code: str
    expiring: int
    unread: int


@cache
def _card_page_query():
    # Built once: making the statement and its cache key would cost more than running it.
    return (
        select(
            MemberCard.id,
            MemberCard.number,
            *account_figures(),
            unread_messages(MemberCard.member_id).label("unread"),
        )
        .join(PointsAccount, PointsAccount.member_id == MemberCard.member_id)
        .where(
            MemberCard.member_id == bindparam("member_id"),
            MemberCard.status == CardStatus.ACTIVE,
        )
    )


def card_page(member: Member, *, now: datetime | None = None) -> CardPage:
    """The card page's figures in one statement (it is opened at a busy counter); NotFound
    without an active card."""
    now = now or utcnow()
    # Core, not the ORM: plain values, no objects to track.
    row = (
        db.session.connection()
        .execute(_card_page_query(), {"member_id": member.id, **figures_as_of(now)})
        .one_or_none()
    )
    if row is None:
        raise NotFound(_l("You have no active card."))
    if row.overdue:
        expire_account(row.account_id, now=now)
        return card_page(member, now=now)
    return CardPage(row.id, row.number, row.balance, row.tier_code, row.expiring, row.unread)


def require_active_card(member: Member) -> MemberCard:
    """The member's active card; NotFound if none (a data error)."""
    card = active_card(member)
    if card is None:
        raise NotFound(_l("You have no active card."))
    return card


def card_for_dealer(number: str, *, dealer_id: int) -> MemberCard:
    """The card with this number (active or replaced) of one of the dealer's members.

    ValidationFailed for a malformed number or a wrong check digit; NotFound when no card has
    the number or its owner belongs to another dealer (which is not revealed).
    """
    number = "".join((number or "").split())
    if len(number) != 16 or not number.isdigit():
        raise ValidationFailed(_l("A card number has 16 digits."), field="card_number")
    if not is_valid_luhn(number):
        raise ValidationFailed(REFUSAL_MESSAGES["bad_check_digit"], field="card_number")
    card = db.session.scalar(select(MemberCard).where(MemberCard.number == number))
    if card is None or card.member.dealer_id != dealer_id:
        raise NotFound(REFUSAL_MESSAGES["unknown_card"], field="card_number")
    return card
