"""Referrals verified by pre-registration, a licence check and cross-check callback questions.

Referrals answers members' signals (app/core/signals.py): a delivered car moves on the friend's
referral, the export lists the owner's referrals (the friend's number masked), a deletion
withdraws those not bought on yet (and closes the owner's invite link).
"""

from app.core.signals import car_delivered, member_deleting, member_export


@car_delivered.connect
def _link_purchase(member, *, vehicle, mobile, now=None, **_):
    from app.referrals.services import link_purchase

    link_purchase(mobile, member, vehicle, now=now)


@member_export.connect
def _export_referrals(member, **_):
    from sqlalchemy import select

    from app.core.identifiers import mask_mobile
    from app.extensions import db
    from app.members.privacy import export_value
    from app.referrals.models import Referral, ReferralDispute

    rows = db.session.scalars(
        select(Referral).where(Referral.referrer_id == member.id).order_by(Referral.id)
    )
    disputes = {
        d.referral_id: {
            "status": export_value(d.status),
            "reason": d.reason,
            "opened_at": export_value(d.opened_at),
            "decided_at": export_value(d.decided_at),
            "decision_note": d.decision_note,
        }
        for d in db.session.scalars(
            select(ReferralDispute).where(ReferralDispute.member_id == member.id)
        )
    }
    return {
        "referrals": [
            {
                "id": r.id,
                "friend_name": r.friend_name,
                # The friend's number is their data: the owner who typed it sees it masked.
                "friend_mobile": mask_mobile(r.friend_mobile),
                "model_of_interest": r.model_of_interest,
                "status": export_value(r.status),
                "registered_at": export_value(r.registered_at),
                "visited_on": export_value(r.visited_on),
                "purchased_at": export_value(r.purchased_at),
                "decided_at": export_value(r.decided_at),
                "rewarded_at": export_value(r.rewarded_at),
                "dispute": disputes.get(r.id),
            }
            for r in rows
        ]
    }


@member_deleting.connect
def _withdraw_referrals(member, *, now, **_):
    from sqlalchemy import select

    from app.extensions import db
    from app.referrals.models import Referral, ReferralStatus
    from app.referrals.services import withdraw_referral

    pending = db.session.scalars(
        select(Referral.id).where(
            Referral.referrer_id == member.id,
            Referral.status.in_([ReferralStatus.REGISTERED, ReferralStatus.VISITED]),
        )
    ).all()
    for referral_id in pending:
        withdraw_referral(member, referral_id, now=now)
    _close_front_door(member, now)
    return {"referrals_withdrawn": len(pending)}


def _close_front_door(member, now) -> None:
    """The owner's invite link stops working and the words of their disputes are erased (the
    dispute and its decision stay, as the referral's checks do)."""
    from sqlalchemy import update

    from app.extensions import db
    from app.referrals.invites import close_invite
    from app.referrals.models import ReferralDispute

    close_invite(member, now=now)
    db.session.execute(
        update(ReferralDispute).where(ReferralDispute.member_id == member.id).values(reason="")
    )
