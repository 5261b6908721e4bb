"""Partner businesses and the perks they offer club members (R9).

Partners answers members' export signal (app/core/signals.py) with the owner's perk claims.
"""

from app.core.signals import member_export


@member_export.connect
def _export_claims(member, **_):
    from app.members.privacy import export_rows
    from app.partners.models import PerkClaim

    mine = PerkClaim.member_id == member.id
    return {"perk_claims": export_rows(PerkClaim, mine, skip=("member_id",))}
