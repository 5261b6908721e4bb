"""Partner businesses, their perks per tier, members' claims and the partner's check (R9).

Rules: a member claims a perk of their dealer's or a group-wide partner when their tier is
high enough, the perk is within its dates, and neither the member's nor the total limit is
reached. Claims lock the perk row (``claimed_count`` lives on it) so the total limit holds
under concurrency. A claim is a single-use code (and QR) the perk's partner checks once, until
the perk's last day; another partner's code is refused and nothing changes.
"""

import re
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from flask_babel import format_date, format_time
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.auth.services import create_staff
from app.cards.qr import qr_svg
from app.core.audit import apply_changes, plain, record_audit
from app.core.clock import local_date, local_midnight, utcnow
from app.core.csvfile import csv_text
from app.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from app.core.permissions import Role
from app.core.tokens import PREFIX, TokenError
from app.extensions import db
from app.loyalty.models import Tier
from app.loyalty.services import account_for, tier_label
from app.members.models import Dealer, Member
from app.partners.models import Partner, Perk, PerkClaim
from app.rewards.services import CODE_ALPHABET, CODE_LENGTH, normalize_code

CATEGORY_LABELS = {
    "hotel": _l("Hotel"),
    "car_care": _l("Car wash and care"),
    "insurance": _l("Insurance"),
    "wine": _l("Wine"),
    "dining": _l("Dining and coffee"),
    "leisure": _l("Leisure and health"),
    "other": _l("Other"),
}
MAX_LIMIT = 1_000_000
_CODE_RE = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def category_label(code: str) -> str:
    """The partner category's name in the user's language."""
    return str(CATEGORY_LABELS.get(code, code))


def _tier_ranks() -> dict[str, int]:
    return {code: rank for code, rank in db.session.execute(select(Tier.code, Tier.rank))}


# --------------------------------------------------------------------------- staff: partners


def _can_manage(actor: User, dealer_id: int | None) -> bool:
    if actor.role == Role.HQ_ADMIN:
        return True
    return (
        actor.role == Role.DEALER_ADMIN and dealer_id is not None and dealer_id == actor.dealer_id
    )


def can_edit_partner(actor: User, partner: Partner) -> bool:
    """True when ``actor`` may change ``partner`` (HQ: any; a dealer admin: their dealer's)."""
    return _can_manage(actor, partner.dealer_id)


def partners_for_staff(actor: User) -> list[Partner]:
    """Partners a staff member sees: all for HQ, else their dealer's and group-wide ones."""
    query = (
        select(Partner)
        .options(selectinload(Partner.perks))
        .order_by(Partner.active.desc(), Partner.name, Partner.id)
    )
    if actor.role != Role.HQ_ADMIN:
        query = query.where(or_(Partner.dealer_id.is_(None), Partner.dealer_id == actor.dealer_id))
    return list(db.session.scalars(query))


def get_partner_for_staff(actor: User, partner_id: int, *, edit: bool = False) -> Partner:
    """A partner the actor sees: NotFound if another dealer's; Forbidden to edit a group-wide
    one unless HQ."""
    partner = db.session.get(Partner, partner_id)
    if partner is None or (
        actor.role != Role.HQ_ADMIN and partner.dealer_id not in (None, actor.dealer_id)
    ):
        raise NotFound(_l("No such partner."))
    if edit and not can_edit_partner(actor, partner):
        raise Forbidden(_l("Only HQ can change a group-wide partner."))
    return partner


def _check_logo(logo_url: str | None) -> str | None:
    logo_url = (logo_url or "").strip() or None
    # The page's Content-Security-Policy only loads images from this site.
    if logo_url is not None and (
        not logo_url.startswith("/") or logo_url.startswith("//") or len(logo_url) > 500
    ):
        raise ValidationFailed(
            _l("Give the address of an image on this site, starting with /."), field="logo_url"
        )
    return logo_url


def save_partner(
    actor: User,
    partner: Partner | None,
    *,
    name: str,
    category: str,
    address: str,
    logo_url: str | None,
    active: bool,
    dealer_id: int | None,
    now: datetime | None = None,
) -> Partner:
    """Create (``partner`` None) or change a partner; HQ for any dealer, a dealer admin for
    theirs."""
    now = now or utcnow()
    if partner is not None and not can_edit_partner(actor, partner):
        raise Forbidden(_l("Only HQ can change a group-wide partner."))
    if not _can_manage(actor, dealer_id):
        raise Forbidden(_l("You may only manage your own dealer's partners."), field="dealer_id")
    if dealer_id is not None and db.session.get(Dealer, dealer_id) is None:
        raise ValidationFailed(_l("Choose a dealer."), field="dealer_id")
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed(_l("Enter a name of up to 120 characters."), field="name")
    if category not in CATEGORY_LABELS:
        raise ValidationFailed(_l("Choose a category."), field="category")
    address = (address or "").strip()
    if len(address) > 255:
        raise ValidationFailed(_l("Enter an address of up to 255 characters."), field="address")
    values = {
        "name": name,
        "category": category,
        "address": address,
        "logo_url": _check_logo(logo_url),
        "active": active,
        "dealer_id": dealer_id,
    }
    if partner is None:
        partner = Partner(created_at=now, **values)
        db.session.add(partner)
        db.session.flush()
        action, changes = "partner.created", values
    else:
        changes = apply_changes(partner, values)
        db.session.flush()
        action = "partner.changed"
    record_audit(
        actor,
        action,
        subject=partner,
        dealer_id=partner.dealer_id,
        details={"changes": changes},
        now=now,
    )
    return partner


# ------------------------------------------------------------------------------ staff: perks


def get_perk_for_staff(actor: User, perk_id: int, *, edit: bool = False) -> Perk:
    """A perk of a partner the actor sees (and may change, with ``edit``)."""
    perk = db.session.get(Perk, perk_id)
    if perk is None:
        raise NotFound(_l("No such perk."))
    get_partner_for_staff(actor, perk.partner_id, edit=edit)
    return perk


def _lock_perk(perk_id: int) -> Perk | None:
    return db.session.execute(
        select(Perk)
        .where(Perk.id == perk_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def save_perk(
    actor: User,
    partner: Partner,
    perk: Perk | None,
    *,
    title: str,
    description: str,
    min_tier_code: str | None,
    valid_from: date | None,
    valid_until: date | None,
    limit_per_member: int | None,
    total_limit: int | None,
    active: bool,
    now: datetime | None = None,
) -> Perk:
    """Create (``perk`` None) or change a perk of ``partner``."""
    now = now or utcnow()
    if not can_edit_partner(actor, partner) or (perk is not None and perk.partner_id != partner.id):
        raise Forbidden(_l("Only HQ can change the perks of a group-wide partner."))
    title = (title or "").strip()
    if not title or len(title) > 120:
        raise ValidationFailed(_l("Enter a title of up to 120 characters."), field="title")
    min_tier_code = min_tier_code or None
    if min_tier_code is not None and min_tier_code not in _tier_ranks():
        raise ValidationFailed(_l("Choose a tier."), field="min_tier_code")
    if valid_from is None:
        raise ValidationFailed(_l("Choose a date."), field="valid_from")
    if valid_until is None:
        raise ValidationFailed(_l("Choose a date."), field="valid_until")
    if valid_until < valid_from:
        raise ValidationFailed(
            _l("The last day cannot be before the first day."), field="valid_until"
        )
    if limit_per_member is None or not 0 < limit_per_member <= MAX_LIMIT:
        raise ValidationFailed(
            _l("Enter a number between 1 and %(max)s.", max=MAX_LIMIT), field="limit_per_member"
        )
    if total_limit is not None and not 0 < total_limit <= MAX_LIMIT:
        raise ValidationFailed(
            _l("Enter a number between 1 and %(max)s, or leave it empty.", max=MAX_LIMIT),
            field="total_limit",
        )
    values = {
        "title": title,
        "description": (description or "").strip(),
        "min_tier_code": min_tier_code,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "limit_per_member": limit_per_member,
        "total_limit": total_limit,
        "active": active,
    }
    if perk is None:
        perk = Perk(partner_id=partner.id, created_at=now, claimed_count=0, **values)
        db.session.add(perk)
        db.session.flush()
        action, changes = "perk.created", {k: plain(v) for k, v in values.items()}
    else:
        # Locked like a claim, so the check below sees every claim made so far.
        perk = _lock_perk(perk.id)
        if total_limit is not None and total_limit < perk.claimed_count:
            raise Conflict(
                _l(
                    "Members have already claimed %(n)s: the total cannot be lower.",
                    n=perk.claimed_count,
                ),
                field="total_limit",
            )
        changes = apply_changes(perk, values)
        db.session.flush()
        action = "perk.changed"
    record_audit(
        actor,
        action,
        subject=perk,
        dealer_id=partner.dealer_id,
        details={"partner": partner.name, "changes": changes},
        now=now,
    )
    return perk


# ------------------------------------------------------------------------ staff: partner users


def partner_users(partner: Partner) -> list[User]:
    """The logins of ``partner``'s staff."""
    return list(
        db.session.scalars(
            select(User).where(User.partner_id == partner.id).order_by(User.name, User.id)
        )
    )


def create_partner_user(
    actor: User,
    partner: Partner,
    *,
    mobile: str,
    name: str,
    password: str,
    now: datetime | None = None,
) -> User:
    """Give someone at ``partner`` a login to check perk codes and see the settlement."""
    now = now or utcnow()
    if not can_edit_partner(actor, partner):
        raise Forbidden(_l("Only HQ can add logins for a group-wide partner."))
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise ValidationFailed(_l("Enter a name of up to 64 characters."), field="name")
    if not 8 <= len(password or "") <= 128:
        raise ValidationFailed(_l("A password has 8 to 128 characters."), field="password")
    dealer = db.session.get(Dealer, partner.dealer_id) if partner.dealer_id else None
    user = create_staff(
        actor,
        mobile=mobile,
        password=password,
        name=name,
        role=Role.PARTNER,
        dealer_code=dealer.code if dealer else None,
        now=now,
    )
    user.partner_id = partner.id
    db.session.flush()
    record_audit(
        actor,
        "partner.user_created",
        subject=partner,
        dealer_id=partner.dealer_id,
        details={"user_id": user.id},
        now=now,
    )
    return user


@dataclass
class PerkStats:
    """How a perk is doing: claims, perks honoured, claims by tier."""

    perk: Perk
    honoured: int = 0
    by_tier: dict[str, int] = field(default_factory=dict)

    @property
    def left(self) -> int | None:
        """Claims still possible under the total limit (None: no limit)."""
        if self.perk.total_limit is None:
            return None
        return max(self.perk.total_limit - self.perk.claimed_count, 0)


def perk_stats(partner: Partner) -> list[PerkStats]:
    """Each perk of ``partner`` with its claims by tier and how many were honoured."""
    stats = {perk.id: PerkStats(perk) for perk in partner.perks}
    rows = db.session.execute(
        select(
            PerkClaim.perk_id,
            PerkClaim.tier_code,
            func.count(PerkClaim.id),
            func.count(PerkClaim.honoured_at),
        )
        .join(Perk, Perk.id == PerkClaim.perk_id)
        .where(Perk.partner_id == partner.id)
        .group_by(PerkClaim.perk_id, PerkClaim.tier_code)
    )
    for perk_id, tier_code, claimed, honoured in rows:
        stats[perk_id].by_tier[tier_code] = claimed
        stats[perk_id].honoured += honoured
    return list(stats.values())


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


def _why_not(perk: Perk, *, today: date, rank: int, ranks: dict, claimed: int) -> str:
    if perk.valid_from > today:
        return str(_l("From %(day)s", day=format_date(perk.valid_from)))
    if perk.min_tier_code and ranks.get(perk.min_tier_code, 0) > rank:
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
    ranks = _tier_ranks()
    rank = ranks.get(account_for(member).tier_code, 0)
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
        why_not = _why_not(perk, today=today, rank=rank, ranks=ranks, claimed=claimed)
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
    perk = _lock_perk(perk_id)
    if perk is None or perk.partner.dealer_id not in (None, member.dealer_id):
        raise NotFound(_l("No such perk."))
    if not (perk.active and perk.partner.active):
        raise Conflict(_l("This perk is no longer offered."), code="inactive")
    if perk.valid_until < today:
        raise Conflict(
            _l("This perk ended on %(day)s.", day=format_date(perk.valid_until)), code="expired"
        )
    if perk.valid_from > today:
        raise Conflict(
            _l("This perk can be claimed from %(day)s.", day=format_date(perk.valid_from)),
            code="not_started",
        )
    tier_code = account_for(member).tier_code
    if perk.min_tier_code:
        ranks = _tier_ranks()
        if ranks.get(tier_code, 0) < ranks.get(perk.min_tier_code, 0):
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
    return current_app.extensions["token_signer"].sign("perk", claim.id, now=now or utcnow())


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
                time=format_time(at, "HH:mm"),
                day=format_date(at),
            )
        elif reason == "expired":
            message = _l("Expired: its last day was %(day)s.", day=format_date(claim.expires_on))
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
        signer = current_app.extensions["token_signer"]
        try:
            claims = signer.verify(text, kind="perk", now=now)
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


# ---------------------------------------------------------------------------- settlement


def parse_month(text: str | None, *, now: datetime | None = None) -> date:
    """The first day of ``YYYY-MM`` (default: this month); ValidationFailed otherwise."""
    if not text:
        return local_date(now or utcnow()).replace(day=1)
    found = _MONTH_RE.match(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 2000:
        raise ValidationFailed(_l("Choose a month, e.g. 2026-11."), field="month")
    return date(int(found.group(1)), int(found.group(2)), 1)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


@dataclass(frozen=True)
class SettlementLine:
    """Perks honoured in the month: one perk, one tier."""

    perk_title: str
    tier_code: str
    count: int


@dataclass(frozen=True)
class Settlement:
    """What a partner honoured in a month (club time), by perk and tier."""

    partner: Partner
    month: date
    lines: list[SettlementLine]
    by_tier: dict[str, int]
    total: int


def settlement_for(partner: Partner, month: date) -> Settlement:
    """The perks ``partner`` honoured in ``month`` (its first day), by perk and by tier."""
    start, end = local_midnight(month), local_midnight(_next_month(month))
    ranks = _tier_ranks()
    rows = db.session.execute(
        select(Perk.id, Perk.title, PerkClaim.tier_code, func.count(PerkClaim.id))
        .join(Perk, Perk.id == PerkClaim.perk_id)
        .where(
            Perk.partner_id == partner.id,
            PerkClaim.honoured_at >= start,
            PerkClaim.honoured_at < end,
        )
        .group_by(Perk.id, Perk.title, PerkClaim.tier_code)
    ).all()
    rows.sort(key=lambda r: (r[1], r[0], ranks.get(r[2], 0)))
    lines = [SettlementLine(title, tier, count) for _id, title, tier, count in rows]
    by_tier: dict[str, int] = defaultdict(int)
    for line in lines:
        by_tier[line.tier_code] += line.count
    ordered = {code: by_tier[code] for code in sorted(by_tier, key=lambda c: ranks.get(c, 0))}
    return Settlement(partner, month, lines, ordered, sum(ordered.values()))


def settlement_csv(settlement: Settlement) -> bytes:
    """The settlement as CSV in UTF-8 with a BOM (so spreadsheet programs read the Chinese)."""
    month = settlement.month.strftime("%Y-%m")
    name = settlement.partner.name
    rows = [
        [name, month, line.perk_title, tier_label(line.tier_code), line.count]
        for line in settlement.lines
    ]
    rows += [
        [name, month, str(_l("All perks")), tier_label(code), count]
        for code, count in settlement.by_tier.items()
    ]
    rows.append([name, month, str(_l("All perks")), str(_l("All tiers")), settlement.total])
    header = (_l("Partner"), _l("Month"), _l("Perk"), _l("Tier"), _l("Perks honoured"))
    return csv_text(header, rows).encode("utf-8")
