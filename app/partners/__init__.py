"""Partner businesses and the perks they offer club members (R9).

Partners answers members' signals (app/core/signals.py): the export lists the owner's perk
claims; the tier page lists the perks each tier opens.
"""

from app.core.signals import member_export, tier_offers


@tier_offers.connect
def _perks_by_tier(member, *, now, **_):
    from app.partners.claims import perks_for

    return {"perks": [offer.perk for offer in perks_for(member, now=now)]}


@member_export.connect
def _export_claims(member, **_):
    from app.members.privacy import export_rows
    from app.partners.models import PerkClaim

    mine = PerkClaim.member_id == member.id
    return {"perk_claims": export_rows(PerkClaim, mine, skip=("member_id",))}
