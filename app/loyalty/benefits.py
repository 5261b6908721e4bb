"""What each tier gives an owner: its earning multiplier, and the partner perks and rewards it
unlocks, read from the perks' and rewards' minimum tiers (nothing here is written by hand)."""

from dataclasses import dataclass, field
from datetime import datetime

from app.loyalty.models import Tier
from app.loyalty.services import account_for, list_tiers
from app.members.models import Member
from app.partners.claims import perks_for
from app.partners.models import Perk
from app.rewards.models import Reward
from app.rewards.services import catalog_for


@dataclass(frozen=True)
class TierBenefits:
    """One tier as the owner sees it: what it takes, what it earns, what it opens."""

    tier: Tier
    held: bool  # the owner's tier
    reached: bool  # the owner's tier or a lower one: its benefits are the owner's
    perks: list[Perk] = field(default_factory=list)
    rewards: list[Reward] = field(default_factory=list)

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
    perks: dict[str, list[Perk]] = {t.code: [] for t in tiers}
    rewards: dict[str, list[Reward]] = {t.code: [] for t in tiers}
    for offer in perks_for(member, now=now):
        perks.get(offer.perk.min_tier_code or lowest, perks[lowest]).append(offer.perk)
    for item in catalog_for(member, now=now):
        rewards.get(item.reward.min_tier_code or lowest, rewards[lowest]).append(item.reward)
    return [
        TierBenefits(
            tier=t,
            held=t.code == held.code,
            reached=t.rank <= held.rank,
            perks=sorted(perks[t.code], key=lambda p: (p.partner.name, p.title, p.id)),
            rewards=sorted(rewards[t.code], key=lambda r: (r.cost_points, r.name, r.id)),
        )
        for t in tiers
    ]
