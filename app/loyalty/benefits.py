"""What each tier gives an owner: its earning multiplier, its member benefits (the catalogue in
force, app/loyalty/member_benefits/), and the partner perks and rewards it unlocks, read from
the perks' and rewards' minimum tiers (nothing here is written by hand).

Partners and rewards sit above loyalty, so they answer the ``tier_offers`` signal
(app/core/signals.py) with what the owner could see; loyalty sorts it by tier."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.core.clock import local_date, utcnow
from app.core.signals import tier_offers
from app.loyalty.member_benefits.catalogue import by_tier as benefits_by_tier
from app.loyalty.member_benefits.catalogue import catalogue_in_force
from app.loyalty.models import Tier
from app.loyalty.services import account_for, list_tiers
from app.members.models import Member


@dataclass(frozen=True)
class TierBenefits:
    """One tier as the owner sees it: what it takes, what it earns, what it opens."""

    tier: Tier
    held: bool  # the owner's tier
    reached: bool  # the owner's tier or a lower one: its benefits are the owner's
    perks: list[Any] = field(default_factory=list)  # partners.models.Perk
    rewards: list[Any] = field(default_factory=list)  # rewards.models.Reward
    # The tier's own benefits (member_benefits.models.TierBenefit), not those of lower tiers.
    member_benefits: list[Any] = field(default_factory=list)

    @property
    def multiplier(self) -> str:
        """The earning multiplier as shown: '1.25'."""
        return f"{self.tier.multiplier_pct / 100:.2f}"


def tier_benefits(member: Member, *, now: datetime | None = None) -> list[TierBenefits]:
    """Every tier from the lowest up, with the perks and rewards (of the owner's dealer and
    group-wide) that first open at it; those with no minimum tier open at the lowest."""
    tiers = list_tiers()
    lowest = tiers[0].code
    held = next(t for t in tiers if t.code == account_for(member).tier_code)
    offers = {"perks": {t.code: [] for t in tiers}, "rewards": {t.code: [] for t in tiers}}
    for _receiver, answer in tier_offers.send(member, now=now):
        for kind, items in (answer or {}).items():
            for item in items:
                by_tier = offers[kind]
                by_tier.get(item.min_tier_code or lowest, by_tier[lowest]).append(item)
    perks, rewards = offers["perks"], offers["rewards"]
    catalogue = benefits_by_tier(catalogue_in_force(local_date(now or utcnow())))
    return [
        TierBenefits(
            tier=t,
            held=t.code == held.code,
            reached=t.rank <= held.rank,
            perks=sorted(perks[t.code], key=lambda p: (p.partner.name, p.title, p.id)),
            rewards=sorted(rewards[t.code], key=lambda r: (r.cost_points, r.name, r.id)),
            member_benefits=catalogue.get(t.code, []),
        )
        for t in tiers
    ]
