"""Points accounts and tiers.

Loyalty answers members' signals (app/core/signals.py): a new owner gets a points account, the
home page shows the balance, the export holds the account and its ledger, a deletion forfeits
what is left once everything open gave its points back.
"""

from app.core.signals import member_export, member_forfeiting, member_home, member_registered


@member_registered.connect
def _open_account(member, *, now=None, **_):
    from app.loyalty.services import open_account

    open_account(member, now=now)


@member_home.connect
def _home_account(member, *, now, **_):
    from app.loyalty.figures import account_with_expiring
    from app.loyalty.tiers import tier_status

    account, expiring = account_with_expiring(member.id, now=now)
    return {
        "account": account,
        "expiring_points": expiring,
        "tier": tier_status(account, now=now),
    }


@member_export.connect
def _export_points(member, **_):
    from sqlalchemy import select

    from app.extensions import db
    from app.loyalty.models import PointsAccount, PointsEntry
    from app.members.privacy import export_row, export_rows

    account = db.session.scalar(select(PointsAccount).where(PointsAccount.member_id == member.id))
    if account is None:
        return {"points_account": [], "ledger": []}
    ledger = export_rows(
        PointsEntry,
        PointsEntry.account_id == account.id,
        order=(PointsEntry.created_at, PointsEntry.id),
        skip=("account_id", "idempotency_key", "actor_id"),
    )
    return {"points_account": [export_row(account, skip=("member_id",))], "ledger": ledger}


@member_forfeiting.connect
def _forfeit_points(member, *, now, **_):
    from app.loyalty.ledger import forfeit_points
    from app.loyalty.services import account_for

    account = account_for(member)
    if account is None:
        return {}
    forfeited = forfeit_points(account.id, reason="account deleted by its owner", now=now)
    return {"points_forfeited": forfeited}
