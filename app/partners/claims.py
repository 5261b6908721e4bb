"""Members' perk claims and the partner's check (R9).

A member claims a perk of their dealer's or a group-wide partner when their tier is high enough,
the perk is within its dates, and neither the member's nor the total limit is reached. Claims
lock the perk row (``claimed_count`` lives on it) so the total limit holds under concurrency. A
claim is a single-use code (and QR) the perk's partner checks once, until the perk's last day;
another partner's code is refused and nothing changes.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core.audit import record_audit
from app.core.clock import local_date, utcnow
from app.core.dates import format_local_date, format_local_datetime
from app.core.errors import Conflict, DomainError, Forbidden, NotFound
from app.core.permissions import Role
from app.core.qr import qr_svg
from app.core.tokens import PREFIX, TokenError, signer
from app.extensions import db
from app.loyalty.services import account_for, tier_label
from app.loyalty.tiers import tier_at_least, tier_ranks
from app.members.models import Member
from app.partners.models import Partner, Perk, PerkClaim
from app.partners.services import lock_perk
from app.rewards.services import CODE_ALPHABET, CODE_LENGTH, normalize_code

_CODE_RE = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")


# ----------------------------------------------------------------------------------- owners


@dataclass(frozen=True)
class PerkOffer:
    """A perk as one owner sees it: can they claim it now, and if not, why not."""

    perk: Perk
    can_claim: bool
    why_not: str = ""
    claimed: int = 0  # by this owner


def _offered_to(member: Member):
    return (
        select(Perk)
        .join(Partner, Partner.id == Perk.partner_id)
        .where(
            Perk.active.is_(True),
            Partner.active.is_(True),
            or_(Partner.dealer_id.is_(None), Partner.dealer_id == member.dealer_id),
        )
    )


def _member_claims(member: Member, perk_id: int | None = None) -> dict[int, int]:
    query = (
        select(PerkClaim.perk_id, func.count(PerkClaim.id))
        .where(PerkClaim.member_id == member.id)
        .group_by(PerkClaim.perk_id)
    )
    if perk_id is not None:
        query = query.where(PerkClaim.perk_id == perk_id)
    return dict(db.session.execute(query).all())


def _why_not(perk: Perk, *, today: date, tier_code: str, ranks: dict, claimed: int) -> str:
    if perk.valid_from > today:
        return str(_l("From %(day)s", day=format_local_date(perk.valid_from)))
    if not tier_at_least(tier_code, perk.min_tier_code, ranks=ranks):
        return str(_l("For %(tier)s members and above", tier=tier_label(perk.min_tier_code)))
    if claimed >= perk.limit_per_member:
        return str(_l("You have claimed it"))
    if perk.total_limit is not None and perk.claimed_count >= perk.total_limit:
        return str(_l("All claimed"))
    return ""


def perks_for(member: Member, *, now: datetime | None = None) -> list[PerkOffer]:
    """Perks of the member's dealer and group-wide partners that have not ended: those the
    member can claim first."""
    today = local_date(now or utcnow())
    ranks = tier_ranks()
    tier_code = account_for(member).tier_code
    claims = _member_claims(member)
    perks = db.session.scalars(
        _offered_to(member)
        .options(selectinload(Perk.partner))
        .where(Perk.valid_until >= today)
        .order_by(Partner.name, Perk.title, Perk.id)
    )
    offers = []
    for perk in perks:
        claimed = claims.get(perk.id, 0)
        why_not = _why_not(perk, today=today, tier_code=tier_code, ranks=ranks, claimed=claimed)
        offers.append(PerkOffer(perk, not why_not, why_not, claimed))
    return sorted(offers, key=lambda offer: not offer.can_claim)


def new_perk_code() -> str:
    """A fresh code from the vouchers' unambiguous alphabet, not used by another claim."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if db.session.scalar(select(PerkClaim.id).where(PerkClaim.code == code)) is None:
            return code


def claim_perk(member: Member, perk_id: int, *, now: datetime | None = None) -> PerkClaim:
    """Claim a perk: a single-use code valid until the perk's last day."""
    now = now or utcnow()
    today = local_date(now)
    # The perk row is locked first: claimed_count and this member's claims are then exact.
    perk = lock_perk(perk_id)
    if perk is None or perk.partner.dealer_id not in (None, member.dealer_id):
        raise NotFound(_l("No such perk."))
    if not (perk.active and perk.partner.active):
        raise Conflict(_l("This perk is no longer offered."), code="inactive")
    if perk.valid_until < today:
        raise Conflict(
            _l("This perk ended on %(day)s.", day=format_local_date(perk.valid_until)),
            code="expired",
        )
    if perk.valid_from > today:
        raise Conflict(
            _l("This perk can be claimed from %(day)s.", day=format_local_date(perk.valid_from)),
            code="not_started",
        )
    tier_code = account_for(member).tier_code
    if not tier_at_least(tier_code, perk.min_tier_code):
        raise Forbidden(
            _l(
                "This perk is for %(tier)s members and above.",
                tier=tier_label(perk.min_tier_code),
            ),
            code="tier",
        )
    claimed = _member_claims(member, perk.id).get(perk.id, 0)
    if claimed >= perk.limit_per_member:
        raise Conflict(
            _l(
                "You have already claimed this perk %(n)s times, the most allowed.",
                n=claimed,
            )
            if perk.limit_per_member > 1
            else _l("You have already claimed this perk."),
            code="member_limit",
        )
    if perk.total_limit is not None and perk.claimed_count >= perk.total_limit:
        raise Conflict(_l("Sorry, every one of these perks has been claimed."), code="total_limit")
    perk.claimed_count += 1
    claim = PerkClaim(
        perk=perk,
        member_id=member.id,
        code=new_perk_code(),
        tier_code=tier_code,
        claimed_at=now,
        expires_on=perk.valid_until,
    )
    db.session.add(claim)
    db.session.flush()
    return claim


def get_own_claim(member: Member, claim_id: int) -> PerkClaim:
    """One of the member's claims; NotFound for anyone else's."""
    claim = db.session.get(PerkClaim, claim_id)
    if claim is None or claim.member_id != member.id:
        raise NotFound(_l("No such perk."))
    return claim


def is_expired(claim: PerkClaim, *, now: datetime | None = None) -> bool:
    """True once the claim's last valid day has passed (in the club's time zone)."""
    return claim.expires_on < local_date(now or utcnow())


def claim_status(claim: PerkClaim, *, now: datetime | None = None) -> str:
    """``used``, ``expired`` or ``ready`` (to show to the partner)."""
    if claim.honoured_at is not None:
        return "used"
    return "expired" if is_expired(claim, now=now) else "ready"


@dataclass(frozen=True)
class ClaimLists:
    """The member's claims in three groups, newest first."""

    ready: list[PerkClaim]
    used: list[PerkClaim]
    expired: list[PerkClaim]


def claims_for(member: Member, *, now: datetime | None = None) -> ClaimLists:
    """The member's claimed perks: ready to use, used, expired."""
    claims = db.session.scalars(
        select(PerkClaim)
        .options(selectinload(PerkClaim.perk).selectinload(Perk.partner))
        .where(PerkClaim.member_id == member.id)
        .order_by(PerkClaim.claimed_at.desc(), PerkClaim.id.desc())
    ).all()
    groups: dict[str, list[PerkClaim]] = {"ready": [], "used": [], "expired": []}
    for claim in claims:
        groups[claim_status(claim, now=now)].append(claim)
    return ClaimLists(**groups)


def perk_token(claim: PerkClaim, *, now: datetime | None = None) -> str:
    """The signed token in the claim's QR (it does not expire; the claim's state decides)."""
    return signer().sign("perk", claim.id, now=now or utcnow())


def perk_qr(claim: PerkClaim, *, title: str = "") -> str:
    """The claim's QR code as inline SVG."""
    return qr_svg(perk_token(claim), title=title)


# ------------------------------------------------------------------------ the partner's check

REFUSAL_MESSAGES = {
    "unknown": _l("No perk has this code. Check it for a typo."),
    "forged": _l("Forged code: its signature does not match. Do not honour this perk."),
    "wrong_kind": _l("This QR is a member card, ticket or voucher, not a perk."),
    "other_partner": _l("This code is for another partner's perk. Do not honour it here."),
}


class PerkRefused(DomainError):
    """A code the partner must not honour; ``reason`` is a key of REFUSAL_MESSAGES, or
    ``already_used`` (saying when) or ``expired`` (saying the last day) for ``claim``."""

    def __init__(self, reason: str, *, claim: PerkClaim | None = None):
        if reason == "already_used":
            at = claim.honoured_at
            message = _l(
                "Already used at %(time)s on %(day)s.",
                time=format_local_datetime(at, "HH:mm"),
                day=format_local_date(at),
            )
        elif reason == "expired":
            message = _l(
                "Expired: its last day was %(day)s.", day=format_local_date(claim.expires_on)
            )
        else:
            message = REFUSAL_MESSAGES[reason]
        super().__init__(str(message), field="code", code=reason)
        self.reason = reason
        self.claim = claim


def _lock_claim(**where) -> PerkClaim | None:
    query = select(PerkClaim).filter_by(**where).with_for_update()
    return db.session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()


def _find_claim(text: str, now: datetime) -> PerkClaim:
    if text.startswith(PREFIX):
        try:
            claims = signer().verify(text, kind="perk", now=now)
        except TokenError as err:
            raise PerkRefused("wrong_kind" if err.reason == "wrong_kind" else "forged") from None
        claim = _lock_claim(id=claims.subject_id)
    else:
        code = normalize_code(text)
        claim = _lock_claim(code=code) if _CODE_RE.match(code) else None
    if claim is None:
        raise PerkRefused("unknown")
    return claim


def check_perk_code(actor: User, text: str, *, now: datetime | None = None) -> PerkClaim:
    """Honour a perk code (typed, or the QR's text) at the actor's partner, once.

    Every refusal is audit-logged (kept even though the request saves nothing else).
    """
    now = now or utcnow()
    if actor.role != Role.PARTNER or actor.partner_id is None:
        raise Forbidden(_l("Only a partner's staff can check perk codes."))
    claim = None
    try:
        claim = _find_claim((text or "").strip(), now)
        if claim.perk.partner_id != actor.partner_id:
            raise PerkRefused("other_partner")
        if claim.honoured_at is not None:
            raise PerkRefused("already_used", claim=claim)
        if is_expired(claim, now=now):
            raise PerkRefused("expired", claim=claim)
    except PerkRefused as refusal:
        record_audit(
            actor,
            "perk.refused",
            subject=claim,
            dealer_id=actor.dealer_id,
            details={"reason": refusal.reason, "partner_id": actor.partner_id},
            now=now,
            durable=True,
        )
        raise
    claim.honoured_at = now
    claim.honoured_by_id = actor.id
    db.session.flush()
    record_audit(
        actor,
        "perk.honoured",
        subject=claim,
        dealer_id=actor.dealer_id,
        details={"perk": claim.perk.title, "tier": claim.tier_code},
        now=now,
    )
    return claim
