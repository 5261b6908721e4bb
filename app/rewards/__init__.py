"""The rewards catalog, redemption and single-use vouchers.

Rewards answers members' signals (app/core/signals.py): the export lists the owner's vouchers,
a deletion cancels those still open (their points return); the tier page lists the rewards each
tier opens.
"""

from app.core.signals import member_deleting, member_export, tier_offers


@tier_offers.connect
def _rewards_by_tier(member, *, now, **_):
    from app.rewards.services import catalog_for

    return {"rewards": [item.reward for item in catalog_for(member, now=now)]}


@member_export.connect
def _export_vouchers(member, **_):
    from app.members.privacy import export_rows
    from app.rewards.models import Voucher

    return {"vouchers": export_rows(Voucher, Voucher.member_id == member.id, skip=("member_id",))}


@member_deleting.connect
def _cancel_vouchers(member, *, now, **_):
    from app.rewards.services import cancel_open_vouchers

    return {"vouchers_cancelled": len(cancel_open_vouchers(member, now=now))}
