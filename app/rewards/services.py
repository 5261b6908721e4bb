"""The rewards catalog, redeeming points for vouchers, and redeeming vouchers at the counter.

Rules (R5): redeeming debits the points and takes one item of stock in the same transaction,
under row locks (the reward first, then the points account, everywhere, so two requests never
wait for each other in opposite order); a voucher is used once; an unused voucher can be
cancelled and exactly the points it cost return; an expired one cannot be used.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, or_, select
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core.audit import apply_changes, plain, record_audit
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from app.core.identifiers import CODE_ALPHABET, normalize_code, random_code
from app.core.images import KEEP_COVER, cover_columns
from app.core.permissions import Role, can_manage_dealer_row
from app.core.qr import qr_svg
from app.core.tokens import PREFIX, TokenError, signer
from app.extensions import db
from app.loyalty.ledger import post_points, refund_debit, spendable
from app.loyalty.models import EntryKind
from app.loyalty.services import account_for, tier_label
from app.loyalty.tiers import tier_at_least, tier_ranks
from app.members.models import Dealer, Member
from app.rewards.models import VOUCHER, Reward, RewardKind, Voucher, VoucherStatus

CODE_LENGTH = 10
_CODE_RE = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")

KIND_LABELS = {
    RewardKind.MAINTENANCE_PACKAGE: _l("Maintenance package"),
    RewardKind.LABOUR_VOUCHER: _l("Labour-hour voucher"),
    RewardKind.FUEL_VOUCHER: _l("Fuel voucher"),
    RewardKind.GIFT: _l("Gift"),
    RewardKind.PARTNER_ITEM: _l("Partner item"),
}

MAX_COST_POINTS = 10_000_000
MAX_STOCK = 1_000_000
MAX_VALIDITY_DAYS = 3650


def kind_label(kind: RewardKind | str) -> str:
    """The reward kind's name in the user's language."""
    return str(KIND_LABELS.get(kind, kind))


# ----------------------------------------------------------------------------- catalog admin


def rewards_for_staff(actor: User) -> list[Reward]:
    """The rewards a staff member sees: everything for HQ, else their dealer's and group-wide."""
    query = select(Reward).order_by(Reward.active.desc(), Reward.name, Reward.id)
    if actor.role != Role.HQ_ADMIN:
        query = query.where(or_(Reward.dealer_id.is_(None), Reward.dealer_id == actor.dealer_id))
    return list(db.session.scalars(query))


def can_edit_reward(actor: User, reward: Reward) -> bool:
    """True when ``actor`` may change ``reward`` (HQ: any; a dealer admin: their dealer's)."""
    return can_manage_dealer_row(actor, reward.dealer_id)


def get_reward_for_staff(actor: User, reward_id: int) -> Reward:
    """A reward the actor may edit: NotFound if another dealer's, Forbidden if group-wide."""
    reward = db.session.get(Reward, reward_id)
    if reward is None or (
        actor.role != Role.HQ_ADMIN and reward.dealer_id not in (None, actor.dealer_id)
    ):
        raise NotFound(_l("No such reward."))
    if not can_edit_reward(actor, reward):
        raise Forbidden(_l("Only HQ can change a group-wide reward."))
    return reward


def save_reward(
    actor: User,
    reward: Reward | None,
    *,
    name: str,
    description: str,
    kind: RewardKind | str,
    cost_points: int,
    stock: int,
    min_tier_code: str | None,
    validity_days: int,
    image_url: str | None,
    active: bool,
    stock_seen: int | None = None,
    dealer_id: int | None,
    cover=KEEP_COVER,
    now: datetime | None = None,
) -> Reward:
    """Create (``reward`` None) or change a reward; HQ for any dealer, a dealer admin for theirs.
    ``cover``: a new stored picture (app/core/images.py), None to remove it, or KEEP_COVER."""
    now = now or utcnow()
    if reward is not None and not can_edit_reward(actor, reward):
        raise Forbidden(_l("You may not change this reward."))
    if not can_manage_dealer_row(actor, dealer_id):
        raise Forbidden(_l("You may only manage your own dealer's rewards."), field="dealer_id")
    if dealer_id is not None and db.session.get(Dealer, dealer_id) is None:
        raise ValidationFailed(_l("Choose a dealer."), field="dealer_id")
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed(_l("Enter a name of up to 120 characters."), field="name")
    try:
        kind = RewardKind(kind)
    except ValueError:
        raise ValidationFailed(_l("Choose a kind of reward."), field="kind") from None
    if not 0 < cost_points <= MAX_COST_POINTS:
        raise ValidationFailed(
            _l("The cost must be between 1 and %(max)s points.", max=MAX_COST_POINTS),
            field="cost_points",
        )
    if not 0 <= stock <= MAX_STOCK:
        raise ValidationFailed(
            _l("Stock must be between 0 and %(max)s.", max=MAX_STOCK), field="stock"
        )
    if not 0 < validity_days <= MAX_VALIDITY_DAYS:
        raise ValidationFailed(
            _l("Validity must be between 1 and %(max)s days.", max=MAX_VALIDITY_DAYS),
            field="validity_days",
        )
    min_tier_code = min_tier_code or None
    if min_tier_code is not None and min_tier_code not in tier_ranks():
        raise ValidationFailed(_l("Choose a tier."), field="min_tier_code")
    image_url = (image_url or "").strip() or None
    # The page's Content-Security-Policy only loads images from this site.
    if image_url is not None and (
        not image_url.startswith("/") or image_url.startswith("//") or len(image_url) > 500
    ):
        raise ValidationFailed(
            _l("Give the address of an image on this site, starting with /."), field="image_url"
        )
    values = {
        "name": name,
        "description": (description or "").strip(),
        "kind": kind,
        "cost_points": cost_points,
        "stock": stock,
        "min_tier_code": min_tier_code,
        "validity_days": validity_days,
        "image_url": image_url,
        "active": active,
        "dealer_id": dealer_id,
        **cover_columns(cover),
    }
    if reward is None:
        reward = Reward(created_at=now, **values)
        db.session.add(reward)
        db.session.flush()
        action, changes = "reward.created", {k: plain(v) for k, v in values.items()}
    else:
        reward = _lock_reward(reward.id)
        if stock_seen is not None and reward.stock != stock_seen and stock != reward.stock:
            raise Conflict(
                _l(
                    "Owners redeemed this reward while you edited it: the stock is now %(n)s. "
                    "Check the stock and save again.",
                    n=reward.stock,
                ),
                field="stock",
            )
        changes = apply_changes(reward, values)
        db.session.flush()
        action = "reward.changed"
    record_audit(
        actor,
        action,
        subject=reward,
        dealer_id=reward.dealer_id,
        details={"changes": changes},
        now=now,
    )
    return reward


# ---------------------------------------------------------------------------- owner catalog


@dataclass(frozen=True)
class CatalogItem:
    """A reward as one owner sees it: can they redeem it now, and if not, why not."""

    reward: Reward
    can_redeem: bool
    why_not: str = ""


def catalog_for(member: Member, *, now: datetime | None = None) -> list[CatalogItem]:
    """Active rewards of the member's dealer and group-wide ones; those in stock first."""
    today = local_date(now or utcnow())
    account = account_for(member)
    points = spendable(account.id, today)
    ranks = tier_ranks()
    rewards = db.session.scalars(
        select(Reward)
        .where(
            Reward.active.is_(True),
            or_(Reward.dealer_id.is_(None), Reward.dealer_id == member.dealer_id),
        )
        .order_by(case((Reward.stock > 0, 0), else_=1), Reward.cost_points, Reward.name, Reward.id)
    )
    items = []
    for reward in rewards:
        why_not = ""
        if reward.stock <= 0:
            why_not = str(_l("Out of stock"))
        elif not tier_at_least(account.tier_code, reward.min_tier_code, ranks=ranks):
            why_not = str(
                _l("For %(tier)s members and above", tier=tier_label(reward.min_tier_code))
            )
        elif points < reward.cost_points:
            why_not = str(
                _l("You need %(missing)s more points", missing=reward.cost_points - points)
            )
        items.append(CatalogItem(reward, not why_not, why_not))
    return items


def voucher_expiry(issued_on: date, validity_days: int) -> date:
    """The last day a voucher issued on ``issued_on`` can be used."""
    return issued_on + timedelta(days=validity_days)


def new_voucher_code() -> str:
    """A fresh 10-character voucher code from the unambiguous alphabet, not used before."""
    while True:
        code = random_code(CODE_LENGTH)
        if db.session.scalar(select(Voucher.id).where(Voucher.code == code)) is None:
            return code


def format_voucher_code(code: str) -> str:
    """ABCDE-FGHJK: how a voucher code is printed."""
    return f"{code[:5]}-{code[5:]}"


def _lock_reward(reward_id: int) -> Reward | None:
    return db.session.execute(
        select(Reward)
        .where(Reward.id == reward_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def redeem_reward(member: Member, reward_id: int, *, now: datetime | None = None) -> Voucher:
    """Spend the member's points on a reward: one item of stock becomes their voucher."""
    now = now or utcnow()
    reward = _lock_reward(reward_id)
    if reward is None or reward.dealer_id not in (None, member.dealer_id):
        raise NotFound(_l("No such reward."))
    if not reward.active:
        raise Conflict(_l("This reward is no longer offered."))
    if reward.stock <= 0:
        raise Conflict(_l("Sorry, this reward is out of stock."))
    account = account_for(member)
    if not tier_at_least(account.tier_code, reward.min_tier_code):
        raise Forbidden(
            _l(
                "This reward is for %(tier)s members and above.",
                tier=tier_label(reward.min_tier_code),
            )
        )
    # InsufficientPoints from the ledger says how many points the member has to spend.
    debit = post_points(
        account.id,
        -reward.cost_points,
        kind=EntryKind.REDEEM,
        source="reward",
        reference=reward.name[:64],
        dealer_id=reward.dealer_id or member.dealer_id,
        now=now,
    )
    reward.stock -= 1
    voucher = Voucher(
        code=new_voucher_code(),
        reward=reward,
        member_id=member.id,
        dealer_id=reward.dealer_id or member.dealer_id,
        status=VoucherStatus.ISSUED,
        cost_points=reward.cost_points,
        issued_at=now,
        expires_on=voucher_expiry(local_date(now), reward.validity_days),
        debit_entry_id=debit.id,
        source="redemption",
    )
    db.session.add(voucher)
    db.session.flush()
    return voucher


def issue_free_voucher(
    member: Member, reward: Reward, *, source: str, key: str, now: datetime | None = None
) -> Voucher:
    """Give a voucher that costs no points (a referral reward), once per ``key``.

    The voucher's ``source`` is stored as ``"<source>:<key>"`` (32 characters at most, e.g.
    ``"referral:1234"``); calling again with the same member, reward, source and key returns
    the voucher already given. Free vouchers take no stock: the programme owes them.
    """
    now = now or utcnow()
    tag = f"{source}:{key}"
    if len(tag) > 32:
        raise ValueError("source:key must fit in 32 characters")
    # Concurrent grants for one member queue on the member row, then see each other's voucher.
    db.session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    existing = db.session.scalar(
        select(Voucher).where(
            Voucher.member_id == member.id, Voucher.reward_id == reward.id, Voucher.source == tag
        )
    )
    if existing is not None:
        return existing
    voucher = Voucher(
        code=new_voucher_code(),
        reward=reward,
        member_id=member.id,
        dealer_id=reward.dealer_id or member.dealer_id,
        status=VoucherStatus.ISSUED,
        cost_points=0,
        issued_at=now,
        expires_on=voucher_expiry(local_date(now), reward.validity_days),
        source=tag,
    )
    db.session.add(voucher)
    db.session.flush()
    return voucher


# ------------------------------------------------------------------------- owner's vouchers


def _lock_voucher(**where) -> Voucher | None:
    query = select(Voucher).filter_by(**where).with_for_update()
    return db.session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()


def is_expired(voucher: Voucher, *, now: datetime | None = None) -> bool:
    """True once the voucher's last valid day has passed (in the club's time zone)."""
    return voucher.expires_on < local_date(now or utcnow())


def is_usable(voucher: Voucher, *, now: datetime | None = None) -> bool:
    """Issued and not past its last valid day: it can be shown at the counter."""
    return voucher.status == VoucherStatus.ISSUED and not is_expired(voucher, now=now)


def is_cancellable(voucher: Voucher, *, now: datetime | None = None) -> bool:
    """Usable and bought with points (free referral vouchers have no points to return)."""
    return is_usable(voucher, now=now) and voucher.debit_entry_id is not None


def get_own_voucher(member: Member, voucher_id: int) -> Voucher:
    """One of the member's vouchers; NotFound for anyone else's."""
    voucher = db.session.get(Voucher, voucher_id)
    if voucher is None or voucher.member_id != member.id:
        raise NotFound(_l("No such voucher."))
    return voucher


def voucher_dealer(voucher: Voucher) -> Dealer:
    """The dealer where the voucher can be used."""
    return db.session.get(Dealer, voucher.dealer_id)


@dataclass(frozen=True)
class VoucherLists:
    """The member's vouchers in three groups, newest first."""

    active: list[Voucher]
    used: list[Voucher]
    ended: list[Voucher]  # expired unused, or cancelled


def vouchers_for(member: Member, *, now: datetime | None = None) -> VoucherLists:
    """The member's vouchers: usable now, used, and expired or cancelled."""
    now = now or utcnow()
    vouchers = db.session.scalars(
        select(Voucher)
        .options(selectinload(Voucher.reward))
        .where(Voucher.member_id == member.id)
        .order_by(Voucher.issued_at.desc(), Voucher.id.desc())
    ).all()
    active, used, ended = [], [], []
    for voucher in vouchers:
        if voucher.status == VoucherStatus.REDEEMED:
            used.append(voucher)
        elif is_usable(voucher, now=now):
            active.append(voucher)
        else:
            ended.append(voucher)
    return VoucherLists(active, used, ended)


def cancel_voucher(member: Member, voucher_id: int, *, now: datetime | None = None) -> Voucher:
    """Cancel an unused, unexpired voucher: exactly the points it cost return, and the stock."""
    now = now or utcnow()
    found = get_own_voucher(member, voucher_id)
    # Lock order as in redeem_reward: the reward, then (in refund_debit) the points account.
    reward = _lock_reward(found.reward_id)
    voucher = _lock_voucher(id=found.id)
    if voucher.status == VoucherStatus.REDEEMED:
        raise Conflict(_l("This voucher was already used."))
    if voucher.status == VoucherStatus.CANCELLED:
        raise Conflict(_l("This voucher is already cancelled."))
    if is_expired(voucher, now=now):
        raise Conflict(_l("This voucher has expired and can no longer be cancelled."))
    if voucher.debit_entry_id is None:
        raise Conflict(_l("This voucher was a gift: there are no points to return."))
    refund = refund_debit(
        voucher.debit_entry_id,
        key=f"voucher-cancel:{voucher.id}",
        reason="voucher cancelled by the owner",
        now=now,
    )
    VOUCHER.move(voucher, VoucherStatus.CANCELLED)
    voucher.cancelled_at = now
    voucher.refund_entry_id = refund.id
    reward.stock += 1
    db.session.flush()
    return voucher


def cancel_open_vouchers(member: Member, *, now: datetime | None = None) -> list[Voucher]:
    """Cancel every voucher the member could still use (their account is being deleted):
    bought ones through ``cancel_voucher`` (their points return, then the stock), free ones
    (referral gifts) simply stop working. Used and expired vouchers stay as they are."""
    now = now or utcnow()
    open_ids = db.session.scalars(
        select(Voucher.id)
        .where(Voucher.member_id == member.id, Voucher.status == VoucherStatus.ISSUED)
        .order_by(Voucher.id)
    ).all()
    cancelled = []
    for voucher_id in open_ids:
        voucher = db.session.get(Voucher, voucher_id)
        if not is_usable(voucher, now=now):
            continue
        if voucher.debit_entry_id is not None:
            cancelled.append(cancel_voucher(member, voucher_id, now=now))
            continue
        voucher = _lock_voucher(id=voucher_id)
        VOUCHER.move(voucher, VoucherStatus.CANCELLED)
        voucher.cancelled_at = now
        cancelled.append(voucher)
    db.session.flush()
    return cancelled


def voucher_token(voucher: Voucher, *, now: datetime | None = None) -> str:
    """The signed token in the voucher's QR (it does not expire; the voucher's state decides)."""
    return signer().sign("voucher", voucher.id, now=now or utcnow())


def voucher_qr(voucher: Voucher, *, title: str = "") -> str:
    """The voucher's QR code as inline SVG."""
    return qr_svg(voucher_token(voucher), title=title)


# ---------------------------------------------------------------------- counter redemption

REFUSAL_MESSAGES = {
    "unknown": _l("No voucher has this code. Check it for a typo."),
    "forged": _l("Forged code: its signature does not match. Do not accept this voucher."),
    "wrong_kind": _l("This QR belongs to a member card or a ticket, not a voucher."),
    "other_dealer": _l("This voucher can only be used at another dealer."),
    "cancelled": _l("This voucher was cancelled: its points went back to the owner."),
    "expired": _l("This voucher has expired."),
    "already_redeemed": _l("This voucher was already used."),
}


class VoucherRefused(DomainError):
    """A voucher that cannot be redeemed; ``reason`` is a key of REFUSAL_MESSAGES.

    The refusal is audit-logged as a durable entry, kept even when the request rolls back.
    """

    def __init__(self, reason: str, *, voucher: Voucher | None = None):
        super().__init__(str(REFUSAL_MESSAGES[reason]), field="code", code=reason)
        self.reason = reason
        self.voucher = voucher
        self.redeemed_at: datetime | None = None


class AlreadyRedeemed(VoucherRefused):
    """The voucher was used before, at ``redeemed_at``."""

    def __init__(self, voucher: Voucher):
        super().__init__("already_redeemed", voucher=voucher)
        self.redeemed_at = voucher.redeemed_at


def _find_voucher(text: str, now: datetime) -> Voucher:
    """The voucher ``text`` names, locked; VoucherRefused when none can be trusted."""
    if text.startswith(PREFIX):
        try:
            claims = signer().verify(text, kind="voucher", now=now)
        except TokenError as err:
            raise VoucherRefused("wrong_kind" if err.reason == "wrong_kind" else "forged") from None
        voucher = _lock_voucher(id=claims.subject_id)
    else:
        code = normalize_code(text)
        voucher = _lock_voucher(code=code) if _CODE_RE.match(code) else None
    if voucher is None:
        raise VoucherRefused("unknown")
    return voucher


def redeem_voucher(
    actor: User | None, text: str, *, dealer_id: int | None, now: datetime | None = None
) -> Voucher:
    """Use a voucher at the counter of ``dealer_id``, once; every attempt is audit-logged.

    ``text`` is the code (any case, spaces and dashes ignored) or the QR's signed token.
    ``actor`` is the staff member, or None for the dealer's systems (the API). Only an HQ admin
    may pass ``dealer_id=None`` to redeem at any dealer.
    """
    now = now or utcnow()
    if dealer_id is None and getattr(actor, "role", None) != Role.HQ_ADMIN:
        raise Forbidden(_l("Redeem vouchers at a dealer."))
    text = (text or "").strip()
    voucher = None
    try:
        voucher = _find_voucher(text, now)
        if dealer_id is not None and voucher.dealer_id != dealer_id:
            raise VoucherRefused("other_dealer", voucher=voucher)
        if voucher.status == VoucherStatus.CANCELLED:
            raise VoucherRefused("cancelled", voucher=voucher)
        if voucher.status == VoucherStatus.REDEEMED:
            raise AlreadyRedeemed(voucher)
        if is_expired(voucher, now=now):
            raise VoucherRefused("expired", voucher=voucher)
    except VoucherRefused as refusal:
        details = {"reason": refusal.reason}
        if refusal.redeemed_at is not None:
            details["redeemed_at"] = refusal.redeemed_at.isoformat()
        record_audit(
            actor,
            "voucher.refused",
            subject=voucher,
            dealer_id=dealer_id if dealer_id is not None else getattr(voucher, "dealer_id", None),
            details=details,
            now=now,
            durable=True,
        )
        raise
    VOUCHER.move(voucher, VoucherStatus.REDEEMED)
    voucher.redeemed_at = now
    voucher.redeemed_by_id = getattr(actor, "id", None)
    db.session.flush()
    record_audit(
        actor,
        "voucher.redeemed",
        subject=voucher,
        dealer_id=voucher.dealer_id,
        details={"reward": voucher.reward.name, "via": "api" if actor is None else "counter"},
        now=now,
    )
    return voucher
