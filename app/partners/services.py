"""Partner businesses, their perks per tier and their users, as staff manage them (R9).

Members' claims and the partner's check are in ``app.partners.claims``, the monthly
settlement in ``app.partners.settlement``.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core.audit import apply_changes, plain, record_audit
from app.core.clock import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.core.images import KEEP_COVER, cover_columns
from app.core.permissions import Role, can_manage_dealer_row
from app.extensions import db
from app.loyalty.tiers import tier_ranks
from app.members.models import Dealer
from app.members.registration import create_staff
from app.partners.models import Partner, Perk, PerkClaim

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


def category_label(code: str) -> str:
    """The partner category's name in the user's language."""
    return str(CATEGORY_LABELS.get(code, code))


# --------------------------------------------------------------------------- staff: partners


def can_edit_partner(actor: User, partner: Partner) -> bool:
    """True when ``actor`` may change ``partner`` (HQ: any; a dealer admin: their dealer's)."""
    return can_manage_dealer_row(actor, partner.dealer_id)


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
    if not can_manage_dealer_row(actor, dealer_id):
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


def lock_perk(perk_id: int) -> Perk | None:
    """Lock the perk's row and read it afresh (its claimed count changes under the lock)."""
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
    cover=KEEP_COVER,
    now: datetime | None = None,
) -> Perk:
    """Create (``perk`` None) or change a perk of ``partner``. ``cover``: a new stored picture
    (app/core/images.py), None to remove it, or KEEP_COVER."""
    now = now or utcnow()
    if not can_edit_partner(actor, partner) or (perk is not None and perk.partner_id != partner.id):
        raise Forbidden(_l("Only HQ can change the perks of a group-wide partner."))
    title = (title or "").strip()
    if not title or len(title) > 120:
        raise ValidationFailed(_l("Enter a title of up to 120 characters."), field="title")
    min_tier_code = min_tier_code or None
    if min_tier_code is not None and min_tier_code not in tier_ranks():
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
        **cover_columns(cover),
    }
    if perk is None:
        perk = Perk(partner_id=partner.id, created_at=now, claimed_count=0, **values)
        db.session.add(perk)
        db.session.flush()
        action, changes = "perk.created", {k: plain(v) for k, v in values.items()}
    else:
        # Locked like a claim, so the check below sees every claim made so far.
        perk = lock_perk(perk.id)
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
