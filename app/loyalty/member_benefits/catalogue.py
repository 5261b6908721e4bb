"""The benefit catalogue: the version in force, versions announced for later, and HQ's draft
(start from the newest version, add, change and remove benefits, announce or discard).

A change is announced like the earning rules (R2): the day it applies is at least
``RULES_NOTICE_DAYS`` ahead, one change a day, with a note for owners; the tier page and the
card show it until then. An announced version never changes."""

import re
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _nl
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.core.audit import record_audit
from app.core.caches import ProcessCache
from app.core.clock import local_date, utcnow
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.versions import check_withdrawable
from app.extensions import db
from app.loyalty.member_benefits.models import (
    CATALOGUE,
    DISCOUNT_KINDS,
    ONCE_A_YEAR_KINDS,
    BenefitCatalogue,
    BenefitKind,
    CatalogueStatus,
    TierBenefit,
)
from app.loyalty.rules import EARNING_RATE_COLUMNS, check_announcement
from app.loyalty.services import list_tiers, tier_label
from app.loyalty.tiers import tier_table
from app.members import announcements

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")
MAX_PER_TIER = 20
MAX_YEARLY_LIMIT = 366
# The service categories a discount can leave out (the earning rules' categories).
CATEGORIES = tuple(EARNING_RATE_COLUMNS)
CATEGORY_LABELS = {
    "maintenance": _l("Maintenance"),
    "repair": _l("Repair"),
    "accident": _l("Accident repair"),
    "other": _l("Other"),
}
KIND_LABELS = {
    BenefitKind.LABOUR_DISCOUNT: _l("Discount on labour"),
    BenefitKind.PARTS_DISCOUNT: _l("Discount on parts"),
    BenefitKind.FREE_ITEM: _l("Free item, a number of times a year"),
    BenefitKind.ANNIVERSARY_GIFT: _l("Anniversary gift (claimed with the SMS code)"),
    BenefitKind.RENEWAL_GIFT: _l("Gift on insurance renewal"),
}


def kind_label(kind: str) -> str:
    """A kind of benefit as staff read it."""
    return str(KIND_LABELS[BenefitKind(kind)])


def category_label(category: str) -> str:
    """A service category in the reader's language."""
    return str(CATEGORY_LABELS.get(category, category))


def terms(benefit) -> str:
    """What the benefit gives and on which terms, in the reader's language: '50% off labour
    (not for accident repair) · every visit'."""
    kind = BenefitKind(benefit.kind)
    if kind == BenefitKind.LABOUR_DISCOUNT:
        text = str(_l("%(pct)s%% off labour", pct=benefit.percent))
    elif kind == BenefitKind.PARTS_DISCOUNT:
        text = str(_l("%(pct)s%% off parts", pct=benefit.percent))
    elif kind == BenefitKind.ANNIVERSARY_GIFT:
        text = str(_l("claimed with the SMS code sent on the membership anniversary"))
    elif kind == BenefitKind.RENEWAL_GIFT:
        text = str(_l("when you renew your car insurance with the dealer"))
    else:
        text = ""
    if benefit.excluded:
        names = ", ".join(category_label(c) for c in benefit.excluded)
        text = str(_l("%(terms)s (not for %(categories)s)", terms=text, categories=names))
    limit = benefit.yearly_limit
    if kind in ONCE_A_YEAR_KINDS:
        often = str(_l("once a membership year"))
    elif limit:
        often = str(_nl("%(num)d time a membership year", "%(num)d times a membership year", limit))
    else:
        often = str(_l("every visit"))
    return f"{text} · {often}" if text else often


# ------------------------------------------------------------------------ reading versions


@dataclass(frozen=True)
class BenefitFigures:
    """A benefit of an announced version as the caches keep it (a copy: no session holds it)."""

    id: int
    catalogue_id: int
    tier_code: str
    code: str
    kind: str
    name_en: str
    name_zh: str
    percent: int | None
    excluded: tuple[str, ...]
    yearly_limit: int | None
    position: int

    def label(self, locale: str) -> str:
        """The benefit's name in ``locale``."""
        return self.name_zh if locale.startswith("zh") else self.name_en


@dataclass(frozen=True)
class CatalogueFigures:
    """An announced version: its day, its note for owners and its benefits."""

    id: int
    effective_from: date
    note: str
    benefits: tuple[BenefitFigures, ...]


# The card page and every use read the versions; they change a few times a year.
CATALOGUES = ProcessCache("benefit_catalogues", ttl=60, watches=(BenefitCatalogue, TierBenefit))


def _load_announced() -> tuple[CatalogueFigures, ...]:
    versions = db.session.scalars(
        select(BenefitCatalogue)
        .where(BenefitCatalogue.status == CatalogueStatus.ANNOUNCED)
        .options(selectinload(BenefitCatalogue.benefits))
        .order_by(BenefitCatalogue.effective_from)
    )
    return tuple(
        CatalogueFigures(
            v.id,
            v.effective_from,
            v.note,
            tuple(
                BenefitFigures(
                    b.id,
                    v.id,
                    b.tier_code,
                    b.code,
                    str(b.kind),
                    b.name_en,
                    b.name_zh,
                    b.percent,
                    tuple(b.excluded or ()),
                    b.yearly_limit,
                    b.position,
                )
                for b in v.benefits
            ),
        )
        for v in versions
    )


def announced_versions() -> tuple[CatalogueFigures, ...]:
    """Every announced version, oldest first (kept per process; forgotten on a change)."""
    return CATALOGUES.get("announced", _load_announced)


def catalogue_in_force(on: date) -> CatalogueFigures | None:
    """The newest announced version that took effect on or before ``on``."""
    return next((v for v in reversed(announced_versions()) if v.effective_from <= on), None)


def upcoming_catalogues(*, now: datetime | None = None) -> list[CatalogueFigures]:
    """Versions announced but not in force yet, soonest first."""
    today = local_date(now or utcnow())
    return [v for v in announced_versions() if v.effective_from > today]


def announced_catalogues() -> list[BenefitCatalogue]:
    """Every announced version (the rows), newest first."""
    return list(
        db.session.scalars(
            select(BenefitCatalogue)
            .where(BenefitCatalogue.status == CatalogueStatus.ANNOUNCED)
            .order_by(BenefitCatalogue.effective_from.desc())
        )
    )


def current_draft() -> BenefitCatalogue | None:
    """HQ's draft, if one is open (there is at most one)."""
    return db.session.scalar(
        select(BenefitCatalogue).where(BenefitCatalogue.status == CatalogueStatus.DRAFT)
    )


def by_tier(catalogue) -> dict[str, list]:
    """A version's benefits (a row or its figures) per tier code: every tier, lowest first,
    empty lists included."""
    grouped: dict[str, list] = {t.code: [] for t in tier_table()}
    for benefit in catalogue.benefits if catalogue else ():
        grouped.setdefault(benefit.tier_code, []).append(benefit)
    return grouped


# ------------------------------------------------------------------------ HQ's draft


def _draft_or_404() -> BenefitCatalogue:
    draft = current_draft()
    if draft is None:
        raise NotFound(_l("There is no draft: start one from the catalogue."))
    return draft


def start_draft(actor, *, now: datetime | None = None) -> BenefitCatalogue:
    """Open a draft holding a copy of the newest announced version (in force or to come)."""
    now = now or utcnow()
    if current_draft() is not None:
        raise Conflict(_l("A draft is already open: change it, announce it or discard it."))
    newest = next(iter(announced_catalogues()), None)
    draft = BenefitCatalogue(status=CatalogueStatus.DRAFT, created_by_id=actor.id, created_at=now)
    for benefit in newest.benefits if newest else ():
        draft.benefits.append(
            TierBenefit(
                tier_code=benefit.tier_code,
                code=benefit.code,
                kind=benefit.kind,
                name_en=benefit.name_en,
                name_zh=benefit.name_zh,
                percent=benefit.percent,
                excluded=list(benefit.excluded or []),
                yearly_limit=benefit.yearly_limit,
                position=benefit.position,
            )
        )
    db.session.add(draft)
    db.session.flush()
    record_audit(
        actor,
        "benefits.draft_started",
        subject=draft,
        details={"from": newest.id if newest else None},
        now=now,
    )
    return draft


def draft_benefit(benefit_id: int) -> TierBenefit:
    """A benefit of the open draft (NotFound for an announced version's: they never change)."""
    benefit = db.session.get(TierBenefit, benefit_id)
    if benefit is None or benefit.catalogue.status != CatalogueStatus.DRAFT:
        raise NotFound(_l("No such benefit in the draft."))
    return benefit


def _checked_values(draft: BenefitCatalogue, benefit_id: int | None, values: dict) -> dict:
    """The benefit's values, made consistent for its kind; ValidationFailed naming the field."""
    tiers = {t.code for t in list_tiers()}
    code = (values.get("code") or "").strip().lower()
    kind = BenefitKind(values["kind"])
    if values.get("tier_code") not in tiers:
        raise ValidationFailed(_l("Choose a tier."), field="tier_code")
    if not CODE_PATTERN.match(code):
        raise ValidationFailed(
            _l("Use 2 to 32 lower-case letters, digits and dashes, e.g. car-wash."), field="code"
        )
    for other in draft.benefits:
        if other.id == benefit_id or other.code != code:
            continue
        if other.tier_code == values["tier_code"]:
            raise Conflict(_l("This tier already has a benefit with this code."), field="code")
        if other.kind != kind:
            raise ValidationFailed(
                _l("This code is another kind of benefit in another tier: use another code."),
                field="code",
            )
    names = {f: (values.get(f) or "").strip() for f in ("name_en", "name_zh")}
    for field, name in names.items():
        if not name or len(name) > 80:
            raise ValidationFailed(_l("Give a name of up to 80 characters."), field=field)
    percent, limit, excluded = values.get("percent"), values.get("yearly_limit"), []
    if kind in DISCOUNT_KINDS:
        if percent is None or not 1 <= percent <= 100:
            raise ValidationFailed(_l("Give the discount in percent, 1 to 100."), field="percent")
        excluded = sorted(set(values.get("excluded") or []))
        if not set(excluded) <= set(CATEGORIES):
            raise ValidationFailed(_l("Choose among the service categories."), field="excluded")
        if set(excluded) == set(CATEGORIES):
            raise ValidationFailed(
                _l("A discount that excludes every category gives nothing."), field="excluded"
            )
    else:
        percent = None
    if kind in ONCE_A_YEAR_KINDS:
        limit = 1
    elif kind == BenefitKind.FREE_ITEM and limit is None:
        raise ValidationFailed(_l("Say how many times a year."), field="yearly_limit")
    if limit is not None and not 1 <= limit <= MAX_YEARLY_LIMIT:
        raise ValidationFailed(_l("Between 1 and 366 times a year."), field="yearly_limit")
    return {
        "tier_code": values["tier_code"],
        "code": code,
        "kind": kind,
        **names,
        "percent": percent,
        "excluded": excluded,
        "yearly_limit": limit,
    }


def save_benefit(
    actor, benefit_id: int | None, values: dict, *, now: datetime | None = None
) -> TierBenefit:
    """Add a benefit to the draft (``benefit_id`` None) or change one of the draft's."""
    now = now or utcnow()
    draft = _draft_or_404()
    benefit = draft_benefit(benefit_id) if benefit_id is not None else None
    checked = _checked_values(draft, benefit_id, values)
    if benefit is None:
        same_tier = [b for b in draft.benefits if b.tier_code == checked["tier_code"]]
        if len(same_tier) >= MAX_PER_TIER:
            raise ValidationFailed(
                _l("A tier has at most %(num)s benefits.", num=MAX_PER_TIER), field="tier_code"
            )
        benefit = TierBenefit(position=len(same_tier), **checked)
        draft.benefits.append(benefit)
    else:
        for name, value in checked.items():
            setattr(benefit, name, value)
    db.session.flush()
    record_audit(
        actor,
        "benefits.draft_saved",
        subject=draft,
        details={"benefit": benefit.id, **{k: str(v) for k, v in checked.items()}},
        now=now,
    )
    return benefit


def remove_benefit(actor, benefit_id: int, *, now: datetime | None = None) -> None:
    """Take a benefit out of the draft."""
    benefit = draft_benefit(benefit_id)
    draft = benefit.catalogue
    draft.benefits.remove(benefit)
    db.session.flush()
    record_audit(
        actor,
        "benefits.draft_removed",
        subject=draft,
        details={"tier": benefit.tier_code, "code": benefit.code},
        now=now or utcnow(),
    )


def announce_draft(
    actor, *, effective_from: date, note: str, now: datetime | None = None
) -> BenefitCatalogue:
    """Announce the draft: it applies from ``effective_from``, after the notice period."""
    now = now or utcnow()
    draft = _draft_or_404()
    check_announcement(BenefitCatalogue, effective_from, note, now=now)
    CATALOGUE.move(draft, CatalogueStatus.ANNOUNCED)
    draft.effective_from = effective_from
    draft.note = note.strip()
    draft.announced_by_id = actor.id
    draft.announced_at = now
    db.session.flush()
    announcements.record("benefits", draft.id, effective_from, draft.note, now=now)
    record_audit(
        actor,
        "benefits.announced",
        subject=draft,
        details={
            "effective_from": effective_from.isoformat(),
            "note": draft.note,
            "benefits": [f"{b.tier_code}:{b.code}" for b in draft.benefits],
        },
        now=now,
    )
    return draft


def withdraw_announcement(actor, catalogue_id: int, *, now: datetime | None = None):
    """Take back a version announced but not yet in force: owners stop seeing it coming and it
    is HQ's draft again, to correct and announce anew. Conflict while another draft is open or
    once its day has come."""
    now = now or utcnow()
    version = db.session.execute(
        select(BenefitCatalogue).where(BenefitCatalogue.id == catalogue_id).with_for_update()
    ).scalar_one_or_none()
    if version is None or version.status != CatalogueStatus.ANNOUNCED:
        raise Conflict(_l("This version is no longer announced: nothing changed."))
    check_withdrawable(version, now=now)
    if current_draft() is not None:
        raise Conflict(_l("A draft is already open: announce or discard it first."))
    details = {"effective_from": version.effective_from.isoformat(), "note": version.note}
    announcements.withdrawn("benefits", version.id, version.effective_from, now=now)
    CATALOGUE.move(version, CatalogueStatus.DRAFT)
    version.effective_from = None
    version.announced_by_id = version.announced_at = None
    db.session.flush()
    record_audit(actor, "benefits.withdrawn", subject=version, details=details, now=now)
    return version


def discard_draft(actor, *, now: datetime | None = None) -> None:
    """Throw the draft away; owners never saw it."""
    draft = _draft_or_404()
    CATALOGUE.move(draft, CatalogueStatus.DISCARDED)
    db.session.flush()
    record_audit(actor, "benefits.draft_discarded", subject=draft, now=now or utcnow())


def tier_names(codes) -> str:
    """Tier codes as the reader's names, joined: 'Platinum, Diamond'."""
    return ", ".join(tier_label(c) for c in codes)
